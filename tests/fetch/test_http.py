"""The HTTP layer against a real HTTP server on 127.0.0.1: conditional GETs, limits, redirects,
the private-network guard and charset decoding."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import ipaddress
import threading
import time
from collections.abc import Iterator

import pytest

from harness.corpus import CORPUS, needs_corpus
from harness.httpserver import LocalServer, Reply, Seen, free_port, redirect
from tasks.encoding import decode_html
from tasks.fetch.config import FetchConfig
from tasks.fetch.http import (
    ERROR_BODY_BYTES,
    FetchError,
    HostLimiter,
    fetch_feed,
    fetch_page,
    get_bounded,
    is_public_address,
    make_client,
)
from tasks.fetch.robots import RobotsRules
from tasks.models import FeedSpec, FeedState, FetchedFeed, Page

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
HTML = b"<html><head><title>t</title></head><body><p>Hello</p></body></html>"
RSS_HEADERS = {"Content-Type": "application/rss+xml"}
HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8"}


def settings(**overrides: object) -> FetchConfig:
    """Small limits so failure tests finish in about a second."""
    values: dict[str, object] = {
        "allow_private_network": True,
        "connect_timeout": 2,
        "read_timeout": 2,
        "total_timeout": 2,
        "per_host_delay": 0,
        "respect_robots_txt": False,
    }
    values.update(overrides)
    return FetchConfig(**values)  # type: ignore[arg-type]


def poll(config: FetchConfig, url: str, state: FeedState | None = None) -> FetchedFeed:
    async def run() -> FetchedFeed:
        async with make_client(config) as client:
            limiter = HostLimiter(config.per_host_concurrency)
            return await fetch_feed(client, limiter, FeedSpec(name="f", url=url), state, config)

    return asyncio.run(run())


def download(config: FetchConfig, url: str) -> Page:
    """Fetch a page the way a run does: private addresses and robots.txt as `config` says."""

    async def run() -> Page:
        async with make_client(config, public_only=not config.allow_private_network) as client:
            limiter = HostLimiter(config.per_host_concurrency, delay=config.per_host_delay)
            robots = RobotsRules(client, config) if config.respect_robots_txt else None
            return await fetch_page(client, limiter, url, config, robots)

    return asyncio.run(run())


def remembered(url: str, **fields: object) -> FeedState:
    return FeedState(name="f", url=url, **fields)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


# Feeds


def test_first_poll_is_a_plain_get_and_returns_body_hash_and_validators(
    server: LocalServer,
) -> None:
    server.routes["/feed.xml"] = Reply(
        headers={**RSS_HEADERS, "ETag": '"v1"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
        body=RSS,
    )
    fetched = poll(settings(), server.url("/feed.xml"))

    assert fetched.outcome == "ok"
    assert fetched.http_status == 200
    assert fetched.body == RSS
    assert fetched.body_hash == hashlib.sha256(RSS).hexdigest()
    assert fetched.etag == '"v1"'
    assert fetched.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert fetched.content_type == "application/rss+xml"
    assert fetched.final_url == server.url("/feed.xml")
    assert fetched.error is None
    assert fetched.seconds > 0
    [request] = server.requests
    assert "if-none-match" not in request.headers
    assert "if-modified-since" not in request.headers


def test_unchanged_feed_answers_the_conditional_get_with_304(server: LocalServer) -> None:
    def conditional(seen: Seen) -> Reply:
        if seen.headers.get("if-none-match") == '"v1"':
            return Reply(status=304)
        return Reply(headers={**RSS_HEADERS, "ETag": '"v1"'}, body=RSS)

    server.routes["/feed.xml"] = conditional
    state = remembered(
        server.url("/feed.xml"),
        etag='"v1"',
        last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
        body_hash="abc",
    )
    fetched = poll(settings(), server.url("/feed.xml"), state)

    assert fetched.outcome == "not_modified"
    assert fetched.http_status == 304
    assert fetched.body is None
    assert (fetched.etag, fetched.last_modified, fetched.body_hash) == (
        '"v1"',
        "Mon, 01 Jan 2024 00:00:00 GMT",
        "abc",
    )
    [request] = server.requests
    assert request.headers["if-none-match"] == '"v1"'
    assert request.headers["if-modified-since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_same_body_as_last_time_is_unchanged_and_carries_no_body(server: LocalServer) -> None:
    server.routes["/feed.xml"] = Reply(headers=RSS_HEADERS, body=RSS)
    state = remembered(server.url("/feed.xml"), body_hash=hashlib.sha256(RSS).hexdigest())
    fetched = poll(settings(), server.url("/feed.xml"), state)

    assert fetched.outcome == "unchanged"
    assert fetched.http_status == 200
    assert fetched.body is None
    assert fetched.body_hash == state.body_hash


def test_new_body_is_ok_with_the_new_hash(server: LocalServer) -> None:
    server.routes["/feed.xml"] = Reply(headers=RSS_HEADERS, body=RSS)
    state = remembered(server.url("/feed.xml"), body_hash=hashlib.sha256(b"old").hexdigest())
    fetched = poll(settings(), server.url("/feed.xml"), state)

    assert fetched.outcome == "ok"
    assert fetched.body == RSS
    assert fetched.body_hash == hashlib.sha256(RSS).hexdigest()


def test_server_error_fails_with_the_status_and_keeps_the_old_validators(
    server: LocalServer,
) -> None:
    server.routes["/feed.xml"] = Reply(status=500, body=b"oops")
    state = remembered(server.url("/feed.xml"), etag='"v1"', body_hash="abc")
    fetched = poll(settings(), server.url("/feed.xml"), state)

    assert fetched.outcome == "failed"
    assert fetched.error == "HTTP 500"
    assert fetched.http_status == 500
    assert (fetched.etag, fetched.body_hash) == ('"v1"', "abc")


def test_connection_refused_fails_with_a_one_line_message() -> None:
    fetched = poll(settings(), f"http://127.0.0.1:{free_port()}/feed.xml")

    assert fetched.outcome == "failed"
    assert fetched.error == "connection refused"
    assert fetched.http_status is None


def test_trickling_server_is_cut_off_by_the_total_timeout(server: LocalServer) -> None:
    # One byte every 0.1 s: each read is fast, so only the whole-response timeout stops it.
    server.routes["/slow.xml"] = Reply(headers=RSS_HEADERS, body=b"x" * 200, trickle=0.1)
    started = time.perf_counter()
    fetched = poll(settings(total_timeout=1, read_timeout=5), server.url("/slow.xml"))

    assert fetched.outcome == "failed"
    assert fetched.error == "timed out after 1 s"
    assert time.perf_counter() - started < 3
    assert 0.9 < fetched.seconds < 3


def test_body_larger_than_the_limit_fails(server: LocalServer) -> None:
    server.routes["/big.xml"] = Reply(headers=RSS_HEADERS, body=b"x" * 2048)
    fetched = poll(settings(max_response_bytes=1024), server.url("/big.xml"))

    assert fetched.outcome == "failed"
    assert fetched.error == "response larger than 1 KiB"
    assert fetched.http_status == 200


def test_body_without_content_length_is_cut_off_at_the_limit(server: LocalServer) -> None:
    # Without Content-Length only the count of streamed bytes can catch it.
    server.routes["/big.xml"] = Reply(headers=RSS_HEADERS, body=b"x" * 4096, content_length=False)
    fetched = poll(settings(max_response_bytes=1024), server.url("/big.xml"))

    assert fetched.outcome == "failed"
    assert fetched.error == "response larger than 1 KiB"


def test_gzip_bomb_is_refused_by_its_decoded_size(server: LocalServer) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    assert len(bomb) < 64 * 1024  # small on the wire: Content-Length does not give it away
    server.routes["/bomb.xml"] = Reply(
        headers={**RSS_HEADERS, "Content-Encoding": "gzip"}, body=bomb
    )
    fetched = poll(settings(max_response_bytes=1024 * 1024), server.url("/bomb.xml"))

    assert fetched.outcome == "failed"
    assert fetched.error == "response larger than 1 MiB"


def test_gzip_body_within_the_limit_is_decoded(server: LocalServer) -> None:
    server.routes["/feed.xml"] = Reply(
        headers={**RSS_HEADERS, "Content-Encoding": "gzip"}, body=gzip.compress(RSS)
    )
    fetched = poll(settings(), server.url("/feed.xml"))

    assert fetched.outcome == "ok"
    assert fetched.body == RSS
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_redirect_loop_fails_with_a_clear_message(server: LocalServer) -> None:
    server.routes["/a"] = redirect("/b")
    server.routes["/b"] = redirect(server.url("/a"))
    fetched = poll(settings(), server.url("/a"))

    assert fetched.outcome == "failed"
    assert fetched.error == f"redirect loop at {server.url('/a')}"
    assert server.paths() == ["/a", "/b"]


def test_too_many_redirects_fail(server: LocalServer) -> None:
    for hop in range(5):
        server.routes[f"/{hop}"] = redirect(f"/{hop + 1}")
    fetched = poll(settings(max_redirects=2), server.url("/0"))

    assert fetched.outcome == "failed"
    assert fetched.error == "too many redirects (more than 2)"
    assert server.paths() == ["/0", "/1", "/2"]


def test_redirects_are_followed_to_the_final_url(server: LocalServer) -> None:
    server.routes["/old.xml"] = redirect("/moved.xml", status=301)
    server.routes["/moved.xml"] = redirect("/feed.xml", status=307)
    server.routes["/feed.xml"] = Reply(headers=RSS_HEADERS, body=RSS)
    fetched = poll(settings(), server.url("/old.xml"))

    assert fetched.outcome == "ok"
    assert fetched.body == RSS
    assert fetched.final_url == server.url("/feed.xml")


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("http://[::1", "protocol error: Invalid URL in location header: Invalid port: ':1'."),
        ("ftp://example.com/feed.xml", "not an http(s) URL: ftp://example.com/feed.xml"),
    ],
)
def test_redirect_to_an_unusable_location_fails(
    server: LocalServer, location: str, error: str
) -> None:
    server.routes["/feed.xml"] = redirect(location)
    fetched = poll(settings(), server.url("/feed.xml"))

    assert fetched.outcome == "failed"
    assert fetched.error == error


def test_every_request_sends_the_configured_user_agent(server: LocalServer) -> None:
    server.routes["/feed.xml"] = Reply(headers=RSS_HEADERS, body=RSS)
    poll(settings(user_agent="newsdesk-test/1"), server.url("/feed.xml"))

    assert server.requests[0].headers["user-agent"] == "newsdesk-test/1"


# Pages


def test_page_on_loopback_is_refused_without_sending_a_request(server: LocalServer) -> None:
    server.routes["/story"] = Reply(headers=HTML_HEADERS, body=HTML)
    page = download(settings(allow_private_network=False), server.url("/story"))

    assert page.body is None
    assert page.error == (
        "refused: 127.0.0.1 resolves to a private address "
        "(set NEWSDESK_ALLOW_PRIVATE_NETWORK=1 to allow)"
    )
    assert server.requests == []


def test_localhost_by_name_is_refused_too(server: LocalServer) -> None:
    page = download(settings(allow_private_network=False), f"http://localhost:{server.port}/story")

    assert page.error is not None
    assert page.error.startswith("refused: localhost resolves to a private address")
    assert server.requests == []


def test_private_network_guard_checks_every_redirect_hop(server: LocalServer) -> None:
    # Only loopback is reachable in tests, so the hop check is exercised with a guard that
    # refuses one host name: 127.0.0.1 passes, the redirect to localhost must not be requested.
    async def refuse_localhost(url: str) -> None:
        if "//localhost:" in url:
            raise FetchError("refused: localhost")

    async def run() -> None:
        async with make_client(settings()) as client:
            await get_bounded(
                client, server.url("/go"), settings(), headers={}, check_url=refuse_localhost
            )

    server.routes["/go"] = redirect(f"http://localhost:{server.port}/story")
    with pytest.raises(FetchError, match="refused: localhost"):
        asyncio.run(run())
    assert server.paths() == ["/go"]


def test_page_on_loopback_is_fetched_when_private_network_is_allowed(
    server: LocalServer,
) -> None:
    server.routes["/story"] = Reply(headers=HTML_HEADERS, body=HTML)
    page = download(settings(allow_private_network=True), server.url("/story"))

    assert page.error is None
    assert page.http_status == 200
    assert decode_html(page.content_type, page.body) == HTML.decode()
    assert page.url == page.final_url == server.url("/story")


def test_page_final_url_is_where_redirects_ended(server: LocalServer) -> None:
    server.routes["/short"] = redirect("/2024/01/long-story.html", status=301)
    server.routes["/2024/01/long-story.html"] = Reply(headers=HTML_HEADERS, body=HTML)
    page = download(settings(), server.url("/short"))

    assert page.url == server.url("/short")
    assert page.final_url == server.url("/2024/01/long-story.html")
    assert decode_html(page.content_type, page.body) == HTML.decode()


def test_page_without_content_type_is_accepted(server: LocalServer) -> None:
    server.routes["/story"] = Reply(body=HTML)
    page = download(settings(), server.url("/story"))

    assert page.error is None
    assert decode_html(page.content_type, page.body) == HTML.decode()


@pytest.mark.parametrize("content_type", ["application/pdf", "image/jpeg"])
def test_non_html_page_is_refused(server: LocalServer, content_type: str) -> None:
    server.routes["/file"] = Reply(headers={"Content-Type": content_type}, body=b"%PDF-1.4")
    page = download(settings(), server.url("/file"))

    assert page.body is None
    assert page.error == f"not an HTML page: {content_type}"
    assert page.http_status == 200


def test_missing_page_reports_the_http_status(server: LocalServer) -> None:
    page = download(settings(), server.url("/nowhere"))

    assert page.body is None
    assert page.http_status == 404
    assert page.error == "HTTP 404"


def test_page_with_a_non_http_scheme_is_refused() -> None:
    page = download(settings(), "ftp://example.com/story")

    assert page.error == "not an http(s) URL: ftp://example.com/story"


def test_page_on_a_closed_port_fails_without_raising() -> None:
    page = download(settings(), f"http://127.0.0.1:{free_port()}/story")

    assert page.error == "connection refused"


def test_no_host_gets_more_requests_at_once_than_the_limit(server: LocalServer) -> None:
    lock = threading.Lock()
    in_flight = 0
    most = 0

    def slow(seen: Seen) -> Reply:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.15)
        with lock:
            in_flight -= 1
        return Reply(headers=HTML_HEADERS, body=HTML)

    for index in range(6):
        server.routes[f"/{index}"] = slow
    config = settings(per_host_concurrency=2)

    async def run() -> list[Page]:
        async with make_client(config) as client:
            limiter = HostLimiter(config.per_host_concurrency, total=4)
            return await asyncio.gather(
                *(fetch_page(client, limiter, server.url(f"/{i}"), config) for i in range(6))
            )

    pages = asyncio.run(run())
    assert [page.error for page in pages] == [None] * 6
    assert most == 2


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata endpoint
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


# Decoding


def test_utf8_page_with_a_stray_byte_stays_utf8() -> None:
    body = "<p>Größe für Straße</p>".encode() + b"\xff" + "<p>Äpfel</p>".encode()

    text = decode_html(None, body)
    assert "Größe für Straße" in text
    assert "Äpfel" in text


def test_latin1_page_without_any_declaration_is_read_as_windows_1252() -> None:
    body = "<p>Größe für Straße – „Zitat“</p>".encode("cp1252")

    assert decode_html("text/html", body) == "<p>Größe für Straße – „Zitat“</p>"


LEGACY_PAGES = [
    ("traf-die-tagespost.de.Demut.html", ["demütig", "Maßnahmen", "„Das Gute"]),
    ("traf-auto-presse.de-minisuv.html", ["Fahrspaß", "läuft", "Französischer"]),
    ("traf-badische-zeitung.de-Wohnungssuche.html", ["Höhe", "Schränken", "Fußball"]),
]


@pytest.mark.corpus
@needs_corpus
@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",  # no charset in the header: <meta charset> decides
        # The header lies; browsers would trust it and show U+FFFD. We do not (see decode_html).
        "text/html; charset=utf-8",
    ],
)
@pytest.mark.parametrize(("name", "words"), LEGACY_PAGES)
def test_legacy_charset_pages_decode_without_mojibake(
    server: LocalServer, name: str, words: list[str], content_type: str
) -> None:
    server.routes["/page"] = Reply(
        headers={"Content-Type": content_type}, body=(CORPUS / "articles" / name).read_bytes()
    )
    page = download(settings(), server.url("/page"))

    assert page.body is not None, page.error
    html = decode_html(page.content_type, page.body)
    for word in words:
        assert word in html
    for mojibake in ("\ufffd", "Ã¤", "Ã¶", "Ã¼", "ÃŸ"):
        assert mojibake not in html


# Which failures can heal: the retry queue fetches only those pages again.


@pytest.mark.parametrize(
    ("reply", "overrides", "retryable"),
    [
        (Reply(status=503), {}, True),
        (Reply(status=500), {}, True),
        (Reply(status=429), {}, True),
        (Reply(headers=HTML_HEADERS, body=b"<p>slow</p>", trickle=0.5), {}, True),
        (Reply(status=404), {}, False),
        (Reply(status=410), {}, False),
        (Reply(headers={"Content-Type": "application/pdf"}, body=b"%PDF-1.4"), {}, False),
        (Reply(headers=HTML_HEADERS, body=b"x" * 4096), {"max_response_bytes": 1024}, False),
        (Reply(headers=HTML_HEADERS, body=HTML), {"allow_private_network": False}, False),
        (Reply(headers=HTML_HEADERS, body=HTML), {}, False),
    ],
    ids=["503", "500", "429", "timeout", "404", "410", "pdf", "too-large", "private", "ok"],
)
def test_a_page_failure_says_whether_it_can_heal(
    server: LocalServer, reply: Reply, overrides: dict[str, object], retryable: bool
) -> None:
    server.routes["/story"] = reply
    page = download(settings(**overrides), server.url("/story"))

    assert page.retryable is retryable, page.error


def test_a_refused_connection_can_heal_and_a_redirect_loop_cannot(server: LocalServer) -> None:
    server.routes["/loop"] = redirect("/loop")

    assert download(settings(), f"http://127.0.0.1:{free_port()}/story").retryable
    assert not download(settings(), server.url("/loop")).retryable


@pytest.mark.parametrize(
    ("robots", "retryable"),
    [(Reply(status=503), True), (Reply(body=b"User-agent: *\nDisallow: /"), False)],
    ids=["robots-503", "disallowed"],
)
def test_robots_txt_refusals_heal_only_when_it_was_unreachable(
    server: LocalServer, robots: Reply, retryable: bool
) -> None:
    server.routes["/robots.txt"] = robots
    server.routes["/story"] = Reply(headers=HTML_HEADERS, body=HTML)
    page = download(settings(respect_robots_txt=True), server.url("/story"))

    assert page.error is not None and "robots.txt" in page.error
    assert page.retryable is retryable


def test_a_403_page_s_first_bytes_are_kept_for_extraction_to_tell_a_challenge(
    server: LocalServer,
) -> None:
    challenge = b"<html><head><title>Just a moment...</title></head><body>" + b"x" * 400_000
    server.routes["/story"] = Reply(status=403, headers=HTML_HEADERS, body=challenge)
    page = download(settings(), server.url("/story"))

    assert (page.http_status, page.error, page.retryable) == (403, "HTTP 403", False)
    assert page.body == challenge[:ERROR_BODY_BYTES]
    assert page.content_type == HTML_HEADERS["Content-Type"]


@pytest.mark.parametrize(
    ("status", "headers"), [(404, HTML_HEADERS), (403, {"Content-Type": "application/json"})]
)
def test_other_error_bodies_are_not_downloaded(
    server: LocalServer, status: int, headers: dict[str, str]
) -> None:
    server.routes["/story"] = Reply(status=status, headers=headers, body=b"{}")
    page = download(settings(), server.url("/story"))

    assert (page.http_status, page.body) == (status, None)
