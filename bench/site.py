"""The benchmark's web: corpus pages under many URLs on several loopback hosts, behind feeds.

Every corpus page (`../shared/corpus/articles/*.html`) is served once per host, at
`http://127.0.0.N:PORT/news/<id>.html`, with a `<link rel="canonical">` naming that URL added
first in `<head>` (the page's own canonical link would otherwise fold the copies into one
article). Each host's pages are listed by feeds of `ENTRIES_PER_FEED` items, RSS 2.0 and Atom
in turn, shaped like the corpus feeds: title, link, guid/id, date and a summary of the
article's opening. Half the feeds carry validators (ETag, Last-Modified) and answer a matching
conditional GET with 304; the other half send the same body again without validators, so an
unchanged feed must be recognised by its body.

Everything is built in memory from the corpus, the same way in the benchmark process and in
the server process (`bench.server`), so only the parameters cross between them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

HOSTS = tuple(f"127.0.0.{n}" for n in range(2, 10))
ENTRIES_PER_FEED = 4
ROBOTS = b"User-agent: *\nAllow: /\n"
_HEAD = re.compile(rb"<head(\s[^>]*)?>", re.IGNORECASE)
_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
_LAST_MODIFIED = format_datetime(_EPOCH, usegmt=True)


@dataclass(frozen=True, slots=True)
class Resource:
    body: bytes
    content_type: str
    validators: bool = False
    """Send ETag and Last-Modified, and answer a matching conditional GET with 304."""

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    path: Path
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    host: str
    path: str
    page_ids: tuple[str, ...]
    validators: bool


def corpus_pages(corpus: Path, limit: int | None = None) -> list[Page]:
    """The annotated corpus pages, in a fixed order (the first `limit` of them)."""
    pages = []
    truth = corpus / "articles" / "ground_truth.jsonl"
    for line in truth.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        path = corpus / "articles" / f"{row['id']}.html"
        if path.exists():
            body = " ".join((row.get("body") or "").split())
            pages.append(Page(row["id"], path, row.get("title") or row["id"], body[:280]))
    return sorted(pages, key=lambda p: p.id)[:limit]


def plan_feeds(pages: list[Page], hosts: tuple[str, ...] = HOSTS) -> list[Feed]:
    """Feeds of `ENTRIES_PER_FEED` pages each, on every host, ordered round-robin over hosts
    (so any prefix of the list spreads over all hosts)."""
    per_host: list[list[Feed]] = []
    number = 0
    for host in hosts:
        feeds = []
        for start in range(0, len(pages), ENTRIES_PER_FEED):
            chunk = tuple(p.id for p in pages[start : start + ENTRIES_PER_FEED])
            kind = "atom" if number % 2 else "rss"
            feeds.append(
                Feed(
                    name=f"bench-{number:04d}",
                    host=host,
                    path=f"/feeds/{number:04d}.{kind}.xml",
                    page_ids=chunk,
                    validators=number % 4 < 2,
                )
            )
            number += 1
        per_host.append(feeds)
    ordered = []
    for rank in range(max(len(f) for f in per_host)):
        ordered.extend(feeds[rank] for feeds in per_host if rank < len(feeds))
    return ordered


def page_url(host: str, port: int, page_id: str) -> str:
    return f"http://{host}:{port}/news/{page_id}.html"


def page_body(html: bytes, url: str) -> bytes:
    """`html` with a canonical link to `url` first in its head."""
    link = f'<link rel="canonical" href="{url}">'.encode()
    match = _HEAD.search(html)
    if match is None:
        return link + html
    return html[: match.end()] + link + html[match.end() :]


def feed_body(feed: Feed, port: int, pages: dict[str, Page]) -> bytes:
    items = []
    for index, page_id in enumerate(feed.page_ids):
        page = pages[page_id]
        link = escape(page_url(feed.host, port, page_id))
        when = _EPOCH - timedelta(minutes=17 * index + 3)
        title, summary = escape(page.title), escape(page.summary)
        if feed.path.endswith(".atom.xml"):
            items.append(
                f"<entry><title>{title}</title><link rel='alternate' href='{link}'/>"
                f"<id>tag:bench,2026:{feed.host}:{page_id}</id>"
                f"<updated>{when.isoformat()}</updated><published>{when.isoformat()}</published>"
                f"<author><name>Desk</name></author><summary>{summary}</summary></entry>"
            )
        else:
            items.append(
                f"<item><title>{title}</title><link>{link}</link>"
                f'<guid isPermaLink="true">{link}</guid>'
                f"<pubDate>{format_datetime(when)}</pubDate>"
                f"<description>{summary}</description></item>"
            )
    site = f"http://{feed.host}:{port}/"
    if feed.path.endswith(".atom.xml"):
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{feed.name}</title><id>{site}{feed.path}</id><link href='{site}'/>"
            f"<updated>{_EPOCH.isoformat()}</updated>{''.join(items)}</feed>"
        ).encode()
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{feed.name}</title><link>{site}</link><description>bench</description>"
        f"<lastBuildDate>{format_datetime(_EPOCH)}</lastBuildDate>{''.join(items)}</channel></rss>"
    ).encode()


def build_site(
    corpus: Path, ports: dict[str, int], hosts: tuple[str, ...] = HOSTS, limit: int | None = None
) -> dict[str, dict[str, Resource]]:
    """host → path → resource, for every page copy, feed and robots.txt."""
    pages = corpus_pages(corpus, limit)
    by_id = {p.id: p for p in pages}
    site: dict[str, dict[str, Resource]] = {host: {} for host in hosts}
    for host in hosts:
        site[host]["/robots.txt"] = Resource(ROBOTS, "text/plain")
        for page in pages:
            url = page_url(host, ports[host], page.id)
            site[host][f"/news/{page.id}.html"] = Resource(
                page_body(page.path.read_bytes(), url), "text/html"
            )
    for feed in plan_feeds(pages, hosts):
        kind = "application/atom+xml" if feed.path.endswith(".atom.xml") else "application/rss+xml"
        site[feed.host][feed.path] = Resource(
            feed_body(feed, ports[feed.host], by_id), kind, validators=feed.validators
        )
    return site


LAST_MODIFIED = _LAST_MODIFIED
