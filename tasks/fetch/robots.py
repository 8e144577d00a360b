"""robots.txt for article pages: fetched once per site and run, obeyed before every request.

Feeds are not checked: a feed URL is one the operator chose, and a feed exists to be polled.
Article links come from feeds and point anywhere, so their sites' rules apply. Verdicts follow
RFC 9309: a 4xx robots.txt allows everything, a 5xx, a 429 or an unreachable one disallows
everything (section 2.3.1.4) for this run, and rules are matched by our User-Agent's product
token (`newsdesk`) with protego.
"""

from __future__ import annotations

import asyncio

import httpx
from protego import Protego

from tasks.fetch.config import FetchConfig
from tasks.fetch.http import FetchError, get_bounded

ROBOTS_MAX_BYTES = 512 * 1024
"""RFC 9309 asks crawlers to parse at least 500 KiB; a bigger file is an error, as a page."""
ROBOTS_ACCEPT = "text/plain, */*;q=0.5"

_Verdict = Protego | str | None
"""Parsed rules; or a reason that refuses the whole site; or None for "everything allowed"."""


class RobotsRules:
    """robots.txt verdicts for one run; `check` is a `check_url` hook for `get_bounded`."""

    def __init__(self, client: httpx.AsyncClient, config: FetchConfig) -> None:
        self._client = client
        self._config = config
        self._verdicts: dict[str, _Verdict] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, url: str) -> None:
        """FetchError unless the site of `url` lets us fetch it."""
        origin = _origin(url)
        if origin is None:
            return  # not http(s): the request itself reports the problem
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one fetch per site, however many pages wait for it
            if origin not in self._verdicts:
                self._verdicts[origin] = await self._fetch(origin)
        verdict = self._verdicts[origin]
        if isinstance(verdict, str):
            raise FetchError(verdict, url=url, refused=verdict.startswith("refused"))
        if verdict is not None and not verdict.can_fetch(url, self._config.user_agent):
            raise FetchError("disallowed by robots.txt", url=url)

    async def _fetch(self, origin: str) -> _Verdict:
        try:
            response = await get_bounded(
                self._client,
                f"{origin}/robots.txt",
                self._config,
                headers={"Accept": ROBOTS_ACCEPT},
                max_bytes=ROBOTS_MAX_BYTES,
            )
        except FetchError as exc:
            if exc.refused:
                return str(exc)  # a private address: the page gets the same refusal
            if "redirect" in str(exc):
                return None  # RFC 9309 2.3.1.2: too many redirects means "unavailable"
            return f"robots.txt unreachable ({exc}): page not fetched"
        if 200 <= response.status < 300 and response.body is not None:
            return Protego.parse(response.body.decode("utf-8", "replace"))
        if response.status == 429 or response.status >= 500:
            return f"robots.txt unreachable (HTTP {response.status}): page not fetched"
        return None


def _origin(url: str) -> str | None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"
