"""Find the feeds of a site from its home page, the way feed readers do.

Given a URL: when it is a feed already, that is the answer. Otherwise its HTML is searched for
`<link rel="alternate" type="application/rss+xml" …>` (and Atom, JSON Feed, RDF), and when it
names none, a few paths where publishing systems put their feed (`/feed`, `/rss.xml`,
`/atom.xml`, `/index.xml`, …) are tried. Every candidate is fetched with our own HTTP client
(`tasks.fetch.http`: timeouts, size cap, redirects checked) and parsed with `tasks.feeds.parse`:
only what parses as a feed is offered. The URL is the operator's, so it is trusted like a feed URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from tasks.encoding import decode_html
from tasks.fetch.config import FetchConfig
from tasks.fetch.http import HostLimiter, fetch_feed, make_client
from tasks.models import FeedSpec, FetchedFeed, ParsedFeed

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
        "application/x.atom+xml",
        "application/x-atom+xml",
        "application/x-rss+xml",
        "text/xml",
        "application/xml",
    }
)
COMMON_PATHS = (
    "/feed",
    "/rss",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/index.rss",
    "/rss/index.xml",
    "/feeds/posts/default",
    "/?feed=rss2",
)


class DiscoveryError(RuntimeError):
    """The page itself could not be fetched; the message says why."""


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A feed a page links to, before it is checked."""

    url: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class FoundFeed:
    """A URL that answered with a feed."""

    url: str
    title: str | None
    entries: int
    language: str | None = None


def feed_links(html: str, base_url: str) -> list[FeedLink]:
    """`<link rel="alternate">` feeds of a page, absolute, comment feeds last."""
    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = next((b.get("href") for b in tree.iter("base") if b.get("href")), None)
    base = urljoin(base_url, base) if base else base_url
    links: dict[str, FeedLink] = {}
    for link in tree.iter("link", "a"):
        rels = (link.get("rel") or "").lower().split()
        media_type = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if not href or not ({"alternate", "feed"} & set(rels)) or media_type not in FEED_TYPES:
            continue
        url = urljoin(base, href)
        if urlsplit(url).scheme in ("http", "https") and url not in links:
            links[url] = FeedLink(url, " ".join((link.get("title") or "").split()) or None)
    return sorted(links.values(), key=_is_comment_feed)


def _is_comment_feed(link: FeedLink) -> bool:
    text = f"{link.url} {link.title or ''}".lower()
    return any(word in text for word in ("comment", "kommentar", "commentaire"))


ParseFeed = Callable[[str, bytes, str, str | None], ParsedFeed]
"""(name, body, base URL, Content-Type) -> ParsedFeed: the feeds stage's `parse_feed`."""


async def discover_feeds(url: str, config: FetchConfig, parse: ParseFeed) -> list[FoundFeed]:
    """The feeds of the site at `url`: itself, the ones it links to, or one at a common path;
    a candidate counts when `parse` reads it as a feed.

    Raises DiscoveryError when `url` cannot be fetched at all.
    """
    limiter = HostLimiter(config.per_host_concurrency)
    async with make_client(config) as client:

        async def fetch(candidate: str) -> FetchedFeed:
            spec = FeedSpec(name="discover", url=candidate)
            return await fetch_feed(client, limiter, spec, None, config)

        page = await fetch(url)
        if page.outcome == "failed" or page.body is None:
            raise DiscoveryError(f"{url}: {page.error or f'HTTP {page.http_status}'}")
        here = page.final_url or url
        as_feed = _as_feed(page, parse)
        if as_feed is not None:
            return [as_feed]

        found: list[FoundFeed] = []
        for link in feed_links(decode_html(page.content_type, page.body), here):
            feed = _as_feed(await fetch(link.url), parse)
            if feed is not None and feed.url not in {f.url for f in found}:
                found.append(feed if feed.title else _titled(feed, link.title))
        if found:
            return found
        root = f"{urlsplit(here).scheme}://{urlsplit(here).netloc}"
        for path in COMMON_PATHS:
            feed = _as_feed(await fetch(root + path), parse)
            if feed is not None:
                return [feed]  # one is enough: the others are usually the same feed
        return []


def _as_feed(fetched: FetchedFeed, parse: ParseFeed) -> FoundFeed | None:
    if fetched.outcome != "ok" or fetched.body is None:
        return None
    url = fetched.final_url or fetched.feed.url
    parsed = parse("discover", fetched.body, url, fetched.content_type)
    if not parsed.usable or (parsed.problem and not parsed.entries):
        return None
    return FoundFeed(url, parsed.title, len(parsed.entries), parsed.language)


def _titled(feed: FoundFeed, title: str | None) -> FoundFeed:
    return FoundFeed(feed.url, title, feed.entries, feed.language)
