"""The HTTP layer: polite, bounded GETs for feeds and article pages.

No Prefect and no SQL here: the functions take an `httpx.AsyncClient`, a `HostLimiter` and a
`FetchConfig`, and return the plain dataclasses of `tasks.models`. Network problems never raise;
they come back as a short one-line `error` the operator can read in the warehouse.

Every request is bounded three ways: `total_timeout` over the whole response (a server trickling
one byte a second is cut off), `max_response_bytes` counted *after* decompression (a gzip bomb is
refused), and `max_redirects` followed by hand so each hop can be checked. Article links come from
untrusted feeds, so the client that fetches pages connects only to public addresses: it resolves
each host once, checks every address, and connects to the address it checked (`PublicOnlyBackend`),
so a DNS answer that changes between check and connection (DNS rebinding) gains nothing.

Politeness: `HostLimiter` caps requests in flight per host and spaces their starts; a 429 or 503
with `Retry-After` pauses the host and is retried once when the wait is short (`retry_after_max`).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpcore
import httpx

from tasks.fetch.config import FetchConfig
from tasks.models import FeedSpec, FeedState, FetchedFeed, Page

if TYPE_CHECKING:
    from tasks.fetch.robots import RobotsRules

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.8"
RETRY_STATUSES = frozenset({429, 503})
CHALLENGE_STATUSES = frozenset({403, 429, 503})
"""Statuses CDNs and bot managers serve their challenges with: a page's error body is kept
(up to `ERROR_BODY_BYTES`) so that extraction can tell a challenge from a refusal."""
ERROR_BODY_BYTES = 256 * 1024
PASSING_STATUSES = frozenset({408, 425, 429})
"""Client errors that say "not now" rather than "not here": worth another request later, like
any 5xx (see `can_heal`)."""
PRIVATE_REFUSAL = (
    "refused: {host} resolves to a private address (set NEWSDESK_ALLOW_PRIVATE_NETWORK=1 to allow)"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """A request that ended without a usable response; the message is shown to operators."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        refused: bool = False,
        retryable: bool = False,
    ):
        super().__init__(message)
        self.status = status
        self.url = url
        self.refused = refused
        """True when we refused to connect (a private address), not when the server failed."""
        self.retryable = retryable
        """True when the same request may well work later (a timeout, a lost connection);
        False when it would fail the same way (an invalid URL, a loop, a body too large)."""


class PrivateAddressError(httpcore.ConnectError):
    """Raised by `PublicOnlyBackend` instead of connecting to a non-public address."""


Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> IP addresses as strings."""


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in infos))


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to public addresses.

    The host is resolved once; if any of its addresses is not public the connection is refused
    (a name that mixes public and private answers is a classic rebinding setup), otherwise the
    socket is opened to those very addresses, never to a second DNS answer. TLS still verifies
    the certificate against the host name, because httpcore takes SNI and the hostname check
    from the URL, not from the address it connects to.
    """

    def __init__(
        self,
        resolve: Resolver | None = None,
        allowed: Callable[[IPAddress], bool] | None = None,
    ) -> None:
        self._resolve = resolve or _system_resolve
        self._allowed = allowed or is_public_address
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = [ipaddress.ip_address(a) for a in await self._resolve(host, port)]
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"DNS lookup failed for host {host}") from exc
        except (UnicodeError, ValueError) as exc:
            raise httpcore.ConnectError(f"invalid host name {host!r}") from exc
        if not addresses or not all(self._allowed(address) for address in addresses):
            raise PrivateAddressError(PRIVATE_REFUSAL.format(host=host))
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for article pages")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool rebuilt around a network backend.

    httpx has no public parameter for the backend yet (encode/httpx#3749), so the pool it
    built is replaced by one made with httpcore's public constructor and the same limits.
    A transport of our own also means no proxy from the environment: a proxy would connect
    on our behalf and defeat the address check, so pages are always fetched directly.
    """

    def __init__(self, backend: httpcore.AsyncNetworkBackend, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    headers: httpx.Headers
    url: str
    body: bytes | None
    """Read only for 2xx answers; error pages and 304s are not downloaded."""
    retry_after: float | None = None
    """Seconds the server asked us to wait (429/503 with Retry-After)."""
    error_body: bytes | None = None
    """The first bytes of an HTML error page whose status may hide a bot challenge
    (`CHALLENGE_STATUSES`), when the caller asked for them."""


def make_client(
    config: FetchConfig,
    *,
    public_only: bool = False,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """An HTTP client for one run; use it as `async with make_client(config) as client`.

    `public_only` connects only to public addresses (see `PublicOnlyBackend`): use it for
    anything a feed points at. `network_backend` replaces the backend altogether (tests).
    """
    # Feeds and pages may be fetched at the same time, so the pool holds both; HostLimiter's
    # `total` keeps callers from queueing inside the pool, where the wait would eat into
    # total_timeout.
    connections = config.feed_concurrency + config.article_concurrency
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    if public_only and network_backend is None:
        network_backend = PublicOnlyBackend()
    transport = _GuardedTransport(network_backend, limits) if network_backend else None
    return httpx.AsyncClient(
        timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
        follow_redirects=False,
        headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
        limits=limits,
        transport=transport,
    )


class HostLimiter:
    """Caps requests in flight to one host (and, optionally, in total), and spaces their starts.

    `fetch_feed` and `fetch_page` take a slot themselves: do not wrap them in `slot()` again (with
    one slot per host that would wait forever). For other requests use
    `async with limiter.slot(url): ...`. Pass `total` rather than wrapping calls in your own
    semaphore: the host slot is taken first, so a task waiting for a busy host never holds one
    of the `total` slots that requests to other hosts could use.

    Two requests to one host start at least `delay` seconds apart, and `pause` holds back every
    request to a host (a 429's Retry-After) until its time has come.
    """

    def __init__(
        self,
        per_host: int,
        total: int | None = None,
        delay: float = 0.0,
        not_before: dict[str, float] | None = None,
    ) -> None:
        """`not_before` (host -> `time.monotonic()` before which no request may start) may be
        shared by the limiters of one process's successive event loops, such as a run's
        batches, so that spacing and pauses hold across them."""
        if per_host < 1 or (total is not None and total < 1):
            raise ValueError("limits must be at least 1")
        self._per_host = per_host
        self._delay = delay
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._not_before: dict[str, float] = {} if not_before is None else not_before
        self._total = asyncio.Semaphore(total) if total is not None else None

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Wait until a request to the host of `url` may start."""
        host = _host_of(url)
        semaphore = self._hosts.get(host)
        if semaphore is None:
            semaphore = self._hosts[host] = asyncio.Semaphore(self._per_host)
        async with semaphore:
            await self._wait_turn(host)
            if self._total is None:
                yield
            else:
                async with self._total:
                    yield

    def pause(self, url: str, seconds: float) -> None:
        """Start no request to the host of `url` for `seconds`."""
        host = _host_of(url)
        until = time.monotonic() + seconds
        self._not_before[host] = max(self._not_before.get(host, 0.0), until)

    async def _wait_turn(self, host: str) -> None:
        # A loop, not one sleep: a pause can arrive while we wait.
        while (wait := self._not_before.get(host, 0.0) - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        if self._delay:
            self._not_before[host] = time.monotonic() + self._delay


async def fetch_feed(
    client: httpx.AsyncClient,
    limiter: HostLimiter,
    spec: FeedSpec,
    state: FeedState | None,
    config: FetchConfig,
    children: Callable[[bytes], Sequence[str]] | None = None,
) -> FetchedFeed:
    """Poll one feed with a conditional GET.

    `children` lists the documents a body points at that belong to it (the sitemaps of a
    sitemap index); the first `max_sitemaps` on the feed's own host are fetched with it, and
    the body hash covers them too.

    `etag`, `last_modified` and `body_hash` of the result are always what the next poll should
    send: the new ones after a 200, and the remembered ones after a 304 or a failure.
    """
    old_etag = state.etag if state else None
    old_last_modified = state.last_modified if state else None
    old_hash = state.body_hash if state else None
    headers = {"Accept": FEED_ACCEPT}
    if old_etag:
        headers["If-None-Match"] = old_etag
    if old_last_modified:
        headers["If-Modified-Since"] = old_last_modified

    started = time.perf_counter()
    try:
        response = await _polite_get(client, limiter, spec.url, config, headers=headers)
    except FetchError as exc:
        return FetchedFeed(
            feed=spec,
            outcome="failed",
            http_status=exc.status,
            final_url=exc.url,
            etag=old_etag,
            last_modified=old_last_modified,
            body_hash=old_hash,
            error=str(exc),
            seconds=time.perf_counter() - started,
        )
    seconds = time.perf_counter() - started

    if response.status == 304:
        return FetchedFeed(
            feed=spec,
            outcome="not_modified",
            http_status=304,
            final_url=response.url,
            # A 304 may carry a fresh validator (RFC 9110 §15.4.5); otherwise keep ours.
            etag=response.headers.get("etag") or old_etag,
            last_modified=response.headers.get("last-modified") or old_last_modified,
            body_hash=old_hash,
            seconds=seconds,
            max_age=fresh_for(response.headers),
        )
    if response.body is None:
        return FetchedFeed(
            feed=spec,
            outcome="failed",
            http_status=response.status,
            final_url=response.url,
            etag=old_etag,
            last_modified=old_last_modified,
            body_hash=old_hash,
            error=_status_error(response),
            seconds=seconds,
            retry_after=response.retry_after,
        )

    parts = await _fetch_parts(client, limiter, response, config, children)
    body_hash = hashlib.sha256(b"".join((response.body, *parts))).hexdigest()
    unchanged = body_hash == old_hash
    return FetchedFeed(
        feed=spec,
        outcome="unchanged" if unchanged else "ok",
        http_status=response.status,
        body=None if unchanged else response.body,
        parts=() if unchanged else parts,
        content_type=response.headers.get("content-type"),
        final_url=response.url,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        body_hash=body_hash,
        seconds=seconds,
        max_age=fresh_for(response.headers),
    )


async def _fetch_parts(
    client: httpx.AsyncClient,
    limiter: HostLimiter,
    response: _Response,
    config: FetchConfig,
    children: Callable[[bytes], Sequence[str]] | None,
) -> tuple[bytes, ...]:
    # The sitemaps protocol lets an index list only sitemaps of its own site; holding to the
    # host also keeps an index from sending the feed client (trusted, unlike article links)
    # to other addresses. A child that fails is left out: the parse reports how many did.
    if children is None or response.body is None:
        return ()
    host = _host_of(response.url)
    urls = [u for u in children(response.body) if _host_of(u) == host][: config.max_sitemaps]
    parts = []
    for url in urls:
        try:
            child = await _polite_get(client, limiter, url, config, headers={"Accept": FEED_ACCEPT})
        except FetchError:
            continue
        if child.body is not None:
            parts.append(child.body)
    return tuple(parts)


def fresh_for(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds a response stays fresh: `Cache-Control: max-age`, else `Expires` minus `Date`
    (or now); None when neither says, or `no-cache`/`no-store` ask to check every time."""
    directives = {}
    for part in headers.get("cache-control", "").split(","):
        key, _, value = part.strip().partition("=")
        directives[key.strip().lower()] = value.strip().strip('"')
    if "no-cache" in directives or "no-store" in directives:
        return None
    max_age = directives.get("max-age", "")
    if max_age.isdigit():
        return float(max_age) or None
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    origin = _http_date(headers.get("date")) or now or datetime.now(UTC)
    seconds = (expires - origin).total_seconds()
    return seconds if seconds > 0 else None


def _http_date(value: str | None) -> datetime | None:
    try:
        when = parsedate_to_datetime(value or "")
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def fetch_page(
    client: httpx.AsyncClient,
    limiter: HostLimiter,
    url: str,
    config: FetchConfig,
    robots: RobotsRules | None = None,
) -> Page:
    """Download one article page, its bytes left undecoded for the extraction worker
    (`tasks.encoding.decode_html`), which runs in parallel and receives bytes faster than text.

    Pass a client made with `public_only` so that links to private addresses are refused (the
    request is never sent), and `robots` so that every hop is checked against its site's
    robots.txt first. A body that is not HTML (a PDF, an image) is not downloaded.
    """
    try:
        response = await _polite_get(
            client,
            limiter,
            url,
            config,
            headers={"Accept": PAGE_ACCEPT},
            check_url=robots.check if robots is not None else None,
            check_response=_require_html,
            error_body_bytes=ERROR_BODY_BYTES,
        )
    except FetchError as exc:
        return Page(
            url=url,
            final_url=exc.url,
            http_status=exc.status,
            error=str(exc),
            retryable=exc.retryable,
        )

    if response.body is None:
        # A challenge's body goes to extraction, which decides whether the page can heal.
        return Page(
            url=url,
            final_url=response.url,
            http_status=response.status,
            error=_status_error(response),
            retryable=can_heal(response.status),
            body=response.error_body,
            content_type=response.headers.get("content-type") if response.error_body else None,
        )
    return Page(
        url=url,
        final_url=response.url,
        http_status=response.status,
        body=response.body,
        content_type=response.headers.get("content-type"),
    )


def can_heal(status: int) -> bool:
    """Whether an HTTP error status may give way to the page later: a 5xx (an overloaded or
    redeploying server, a CDN hiccup) or a "not now" 4xx; a 404 or 410 will not."""
    return status >= 500 or status in PASSING_STATUSES


def is_public_address(ip: IPAddress) -> bool:
    """True when an article link may point at this address (not loopback, private, ...)."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 tunnelled in IPv6 (::ffff:127.0.0.1, 6to4, Teredo) is checked as IPv4 too.
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if not all(is_public_address(inner) for inner in embedded if inner is not None):
            return False
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global  # e.g. 100.64.0.0/10, shared address space for carrier NAT
    )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or an HTTP date), or None."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _polite_get(
    client: httpx.AsyncClient,
    limiter: HostLimiter,
    url: str,
    config: FetchConfig,
    *,
    headers: Mapping[str, str],
    check_url: Callable[[str], Awaitable[None]] | None = None,
    check_response: Callable[[httpx.Response], None] | None = None,
    error_body_bytes: int = 0,
) -> _Response:
    """`get_bounded` inside a host slot, honouring 429/503 `Retry-After`.

    A server that asks us to wait pauses its host for every request of this run (at most
    `retry_after_max`); when its wait fits in that cap the request is tried once more, else the
    429/503 is returned with `retry_after` set, for the caller to remember.
    """
    for attempt in (1, 2):
        async with limiter.slot(url):
            response = await get_bounded(
                client,
                url,
                config,
                headers=headers,
                check_url=check_url,
                check_response=check_response,
                error_body_bytes=error_body_bytes,
            )
        if response.status not in RETRY_STATUSES:
            return response
        wait = retry_after_seconds(response.headers.get("retry-after"))
        if wait is None:
            return response
        limiter.pause(response.url, min(wait, config.retry_after_max))
        if attempt == 2 or wait > config.retry_after_max:
            return replace(response, retry_after=wait)
    raise AssertionError("unreachable")


async def get_bounded(
    client: httpx.AsyncClient,
    url: str,
    config: FetchConfig,
    *,
    headers: Mapping[str, str],
    check_url: Callable[[str], Awaitable[None]] | None = None,
    check_response: Callable[[httpx.Response], None] | None = None,
    max_bytes: int | None = None,
    error_body_bytes: int = 0,
) -> _Response:
    """GET `url`, following redirects by hand, within `total_timeout` and `max_response_bytes`
    (or `max_bytes`).

    `check_url` runs before each hop is requested and `check_response` before a 2xx body is
    read; either refuses by raising FetchError. Raises FetchError for every network problem.
    The first `error_body_bytes` of an HTML answer with one of `CHALLENGE_STATUSES` are kept.
    """
    limit = max_bytes if max_bytes is not None else config.max_response_bytes
    try:
        async with asyncio.timeout(config.total_timeout):
            return await _follow(
                client, url, config, headers, check_url, check_response, limit, error_body_bytes
            )
    except TimeoutError:
        raise FetchError(f"timed out after {config.total_timeout:g} s", retryable=True) from None


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    config: FetchConfig,
    headers: Mapping[str, str],
    check_url: Callable[[str], Awaitable[None]] | None,
    check_response: Callable[[httpx.Response], None] | None,
    limit: int,
    error_body_bytes: int = 0,
) -> _Response:
    current = url
    seen = {current}
    for _hop in range(config.max_redirects + 1):
        try:
            scheme = httpx.URL(current).scheme
        except httpx.InvalidURL:
            raise FetchError(f"invalid URL: {current}", url=current) from None
        if scheme not in ("http", "https"):
            raise FetchError(f"not an http(s) URL: {current}", url=current)
        if check_url is not None:
            await check_url(current)
        status: int | None = None
        try:
            async with client.stream("GET", current, headers=headers) as response:
                status = response.status_code
                location = response.headers.get("location")
                if status in REDIRECT_STATUSES and location:
                    # Leaving the block closes the stream; a redirect's body is never read.
                    target = str(response.url.join(location).copy_with(fragment=None))
                elif not 200 <= status < 300:
                    error_body = None
                    if error_body_bytes and status in CHALLENGE_STATUSES and _is_html(response):
                        error_body = await _read_prefix(response, error_body_bytes)
                    return _Response(
                        status, response.headers, str(response.url), None, None, error_body
                    )
                else:
                    if check_response is not None:
                        check_response(response)
                    body = await _read_capped(response, limit)
                    return _Response(status, response.headers, str(response.url), body)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            refused = any(isinstance(c, PrivateAddressError) for c in _causes(exc))
            raise FetchError(
                _describe(exc, current, config),
                status=status,
                url=current,
                refused=refused,
                retryable=not refused and _transient(exc),
            ) from exc
        if target in seen:
            raise FetchError(f"redirect loop at {target}", status=status, url=current)
        seen.add(target)
        current = target
    raise FetchError(f"too many redirects (more than {config.max_redirects})", url=current)


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, or FetchError as soon as it grows past `limit` bytes."""
    too_large = FetchError(
        f"response larger than {_format_size(limit)}",
        status=response.status_code,
        url=str(response.url),
    )
    # Content-Length counts the bytes on the wire; a compressed body that is already too large
    # there is too large decoded as well, so refuse it before reading anything.
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    # aiter_bytes yields decompressed bytes, so the cap holds against gzip bombs. httpx inflates
    # one network read at a time, so memory may briefly exceed the cap by about one read's
    # expansion (tens of MiB at gzip's ~1000:1 ceiling), never more.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_prefix(response: httpx.Response, limit: int) -> bytes:
    """At most the first `limit` bytes of the decoded body: enough to recognise an error page."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk[: limit - size])
        size += len(chunks[-1])
        if size >= limit:
            break
    return b"".join(chunks)


def _is_html(response: httpx.Response) -> bool:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return not media_type or media_type in HTML_MEDIA_TYPES


def _status_error(response: _Response) -> str:
    if response.retry_after is not None:
        return f"HTTP {response.status} (Retry-After {response.retry_after:.0f} s)"
    return f"HTTP {response.status}"


def _require_html(response: httpx.Response) -> None:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type not in HTML_MEDIA_TYPES:
        raise FetchError(
            f"not an HTML page: {media_type}",
            status=response.status_code,
            url=str(response.url),
        )


def _describe(exc: httpx.HTTPError | httpx.InvalidURL, url: str, config: FetchConfig) -> str:
    """One line an operator can act on; never a traceback."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connection timed out after {config.connect_timeout:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no data for {config.read_timeout:g} s"
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection in the pool"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.DecodingError):
        return "could not decompress the response body"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL: {_first_line(exc)}"
    causes = _causes(exc)
    for cause in causes:
        if isinstance(cause, PrivateAddressError):
            return str(cause)
        if isinstance(cause, socket.gaierror):
            return f"DNS lookup failed for host {_host_of(url)}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate error: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or _first_line(cause)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {_first_line(exc)}"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {_first_line(exc)}"
    if isinstance(exc, httpx.ReadError):
        return "connection lost while reading the response"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def _transient(exc: httpx.HTTPError | httpx.InvalidURL) -> bool:
    """A network failure that says nothing about the page: a timeout, a refused, reset or
    dropped connection, a failed DNS lookup. Certificates, URLs and undecodable bodies stay
    as they are until someone fixes them."""
    if any(isinstance(c, ssl.SSLError) for c in _causes(exc)):
        return False
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _host_of(url: str) -> str:
    try:
        return httpx.URL(url).host
    except httpx.InvalidURL:
        return ""


def _format_size(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{round(size / factor, 1):g} {unit}"
    return f"{size} bytes"
