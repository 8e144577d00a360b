"""Google News sitemaps (`<urlset>` with `news:` elements) and sitemap indexes as feed sources.

Many publishers offer a news sitemap next to (or instead of) RSS, and Media Cloud, Fundus and
news-please read them. A news sitemap lists the articles of the last two days, each with
`news:publication_date`, `news:title` and `news:publication/news:language`
(https://developers.google.com/search/docs/crawling-indexing/sitemaps/news-sitemap). A sitemap
index (`<sitemapindex>`) lists sitemaps; the fetch stage fetches the newest few of them along
with the index (`sitemap_children`), and `parse_sitemap_index` reads them as one feed.

Bytes in, dataclasses out, like the other feed formats. lxml parses without a network, without
entity expansion and without DTDs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from lxml import etree

from tasks.models import FeedEntry, ParsedFeed
from tasks.text import clean_line, language_code, plain_text
from tasks.urls import normalize_url

SitemapKind = Literal["urlset", "sitemapindex"]

MAX_ENTRIES = 1000
"""Google News sitemaps hold at most 1,000 URLs; a larger (plain) sitemap is read newest first
up to that many, so a site's archive does not become one run's work."""

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_ROOT_NAME = re.compile(rb"<(?:[\w.-]+:)?(urlset|sitemapindex)\b")
_PROLOG_ITEMS = ((b"<?", b"?>"), (b"<!--", b"-->"))
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False}


def sitemap_kind(body: bytes) -> SitemapKind | None:
    """Whether `body` is a sitemap (`urlset`), a sitemap index, or neither: the root element's
    name, after a byte-order mark, an XML declaration, comments and processing instructions.

    A scan rather than one regular expression: a pattern that repeats `<?.*?>`-style groups
    backtracks exponentially on a prolog of many of them that ends in another root, and a
    regex search holds the interpreter where no timeout reaches it."""
    head = body[:4096].removeprefix(b"\xef\xbb\xbf")
    at = 0
    while True:
        at = len(head) - len(head[at:].lstrip())
        for opener, closer in _PROLOG_ITEMS:
            if head.startswith(opener, at):
                end = head.find(closer, at + len(opener))
                if end < 0:
                    return None
                at = end + len(closer)
                break
        else:
            break
    match = _ROOT_NAME.match(head, at)
    if match is None:
        return None
    return "urlset" if match.group(1) == b"urlset" else "sitemapindex"


def sitemap_children(body: bytes) -> list[str]:
    """The sitemaps a sitemap index lists, most recently modified first (undated last); empty
    for anything that is not a sitemap index."""
    if sitemap_kind(body) != "sitemapindex":
        return []
    root = _parse(body)
    if root is None:
        return []
    children: list[tuple[datetime | None, str]] = []
    for item in root:
        if _local(item.tag) != "sitemap":
            continue
        loc = _child_text(item, "loc")
        if loc:
            children.append((_date(_child_text(item, "lastmod")), loc))
    children.sort(key=lambda c: c[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
    return [loc for _, loc in children]


def parse_sitemap(
    feed_name: str, body: bytes, base_url: str, default_language: str | None = None
) -> ParsedFeed:
    """One `<urlset>`: an entry per `<url>`. When some URLs carry `news:news`, only those are
    read (the others are a site's evergreen pages); at most `MAX_ENTRIES`, newest first."""
    root = _parse(body)
    if root is None or _local(root.tag) != "urlset":
        return ParsedFeed(feed_name, usable=False, problem="not a feed: malformed sitemap XML")
    entries: list[FeedEntry] = []
    urls = [u for u in root if _local(u.tag) == "url"]
    news = [u for u in urls if u.find(f"{{{NEWS_NS}}}news") is not None]
    for item in news or urls:
        entry = _entry(feed_name, item, base_url, language_code(default_language))
        if entry is not None:
            entries.append(entry)
    entries.sort(key=lambda e: e.published_at or e.updated_at or _OLDEST, reverse=True)
    unique = tuple({e.url: e for e in reversed(entries[:MAX_ENTRIES])}.values())[::-1]
    languages = {e.language for e in unique if e.language}
    return ParsedFeed(
        feed_name,
        entries=unique,
        language=languages.pop() if len(languages) == 1 else language_code(default_language),
    )


def parse_sitemap_index(
    feed_name: str,
    parts: Sequence[bytes],
    base_url: str,
    default_language: str | None = None,
) -> ParsedFeed:
    """A sitemap index, from the bodies of the sitemaps it lists (fetched with it) read as one
    feed; usable when at least one of them is."""
    if not parts:
        return ParsedFeed(
            feed_name, usable=False, problem="not a feed: sitemap index without readable sitemaps"
        )
    parsed = [parse_sitemap(feed_name, part, base_url, default_language) for part in parts]
    good = [p for p in parsed if p.usable]
    if not good:
        return ParsedFeed(feed_name, usable=False, problem=parsed[0].problem)
    seen: dict[str, FeedEntry] = {}
    for part in good:
        for entry in part.entries:
            seen.setdefault(entry.url, entry)
    problem = None
    if len(good) < len(parsed):
        problem = f"{len(parsed) - len(good)} of {len(parsed)} sitemaps could not be read"
    languages = {p.language for p in good if p.language}
    return ParsedFeed(
        feed_name,
        entries=tuple(seen.values()),
        problem=problem,
        language=languages.pop() if len(languages) == 1 else language_code(default_language),
    )


_OLDEST = datetime.min.replace(tzinfo=UTC)


def _entry(
    feed_name: str, item: etree._Element, base_url: str, language: str | None
) -> FeedEntry | None:
    url = normalize_url(_child_text(item, "loc") or "", base_url)
    if url is None:
        return None
    news = item.find(f"{{{NEWS_NS}}}news")
    title = published = None
    if news is not None:
        title = plain_text(news.findtext(f"{{{NEWS_NS}}}title") or "") or None
        published = _date(news.findtext(f"{{{NEWS_NS}}}publication_date"))
        stated = news.findtext(f"{{{NEWS_NS}}}publication/{{{NEWS_NS}}}language")
        language = language_code(stated) or language
    updated = _date(_child_text(item, "lastmod"))
    return FeedEntry(
        feed_name=feed_name,
        url=url,
        title=clean_line(title),
        published_at=published or updated,
        language=language,
        updated_at=updated,
    )


def _parse(body: bytes) -> etree._Element | None:
    parser = etree.XMLParser(**_PARSER_OPTIONS, recover=False)
    try:
        return etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def _date(value: str | None) -> datetime | None:
    """W3C datetime (a profile of ISO 8601: a date, or a time with its offset) to aware UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
