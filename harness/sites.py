"""Sites on a local HTTP server for tests and benchmarks: the bundled sample, corpus pages behind
feeds, and the feeds file that lists them."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from harness.httpserver import LocalServer, Reply, Seen
from harness.pages import T0, article_page, atom, atom_entry, headline_item, rss
from newsdesk.demo import SAMPLE_DIR
from tasks.urls import normalize_url


def conditional(body: bytes, content_type: str) -> Callable[[Seen], Reply]:
    """A route that answers 304 to a matching If-None-Match, like a well-behaved feed server."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def route(seen: Seen) -> Reply:
        if seen.headers.get("if-none-match") == etag:
            return Reply(status=304, headers={"ETag": etag})
        return Reply(headers={"Content-Type": content_type, "ETag": etag}, body=body)

    return route


def serve_sample_pages(server: LocalServer) -> dict[str, str]:
    """Route the sample feeds and pages on `server`; return feed name -> feed URL."""
    for page in (SAMPLE_DIR / "articles").glob("*.html"):
        server.routes[f"/articles/{page.name}"] = Reply(
            headers={"Content-Type": "text/html"}, body=page.read_bytes()
        )
    feeds = {}
    for feed in (SAMPLE_DIR / "feeds").glob("*.xml"):
        body = feed.read_bytes().replace(b"{{base}}", server.url("").encode())
        server.routes[f"/feeds/{feed.name}"] = conditional(body, "application/xml")
        feeds[f"sample-{feed.stem}"] = server.url(f"/feeds/{feed.name}")
    return feeds


def write_feeds_file(
    path: Path,
    feeds: Mapping[str, str] | Iterable[tuple[str, str]],
    languages: Mapping[str, str] | None = None,
) -> Path:
    """A feeds file listing `feeds` (name -> URL, or (name, URL) pairs) with any of their
    `languages`; `feeds = []` when there are none."""
    lines = []
    for name, url in feeds.items() if isinstance(feeds, Mapping) else feeds:
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"']
        if languages and name in languages:
            lines.append(f'language = "{languages[name]}"')
        lines.append("")
    path.write_text("\n".join(lines) if lines else "feeds = []\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class CorpusPage:
    id: str
    url: str
    """The page's original URL; it is served at the same path on the local server."""
    title: str | None
    date: str | None


def corpus_pages(corpus: Path, prefixes: Iterable[str]) -> list[CorpusPage]:
    rows = [json.loads(line) for line in (corpus / "articles" / "ground_truth.jsonl").open()]
    prefixes = tuple(prefixes)
    return [
        CorpusPage(r["id"], r["url"], r.get("title"), r.get("date"))
        for r in rows
        if r["id"].startswith(prefixes)
    ]


def local_path(page: CorpusPage) -> str:
    parts = urlsplit(page.url)
    return f"/{parts.netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def serve_corpus_pages(server: LocalServer, corpus: Path, pages: list[CorpusPage]) -> None:
    """Serve each page at /<original host><original path>, without a charset in Content-Type."""
    for page in pages:
        server.routes[local_path(page)] = Reply(
            headers={"Content-Type": "text/html"},
            body=(corpus / "articles" / f"{page.id}.html").read_bytes(),
        )


def serve_corpus_feeds(
    server: LocalServer, corpus: Path, pages: list[CorpusPage], feeds: int = 3
) -> dict[str, str]:
    """Serve `pages` (`serve_corpus_pages`) behind `feeds` RSS feeds that share them out in turn;
    return feed name -> feed URL."""
    serve_corpus_pages(server, corpus, pages)
    urls = {}
    for n in range(feeds):
        server.routes[f"/feed{n}.xml"] = Reply(
            headers={"Content-Type": "application/rss+xml"}, body=rss_feed(server, pages[n::feeds])
        )
        urls[f"corpus-{n}"] = server.url(f"/feed{n}.xml")
    return urls


def rss_feed(server: LocalServer, pages: list[CorpusPage], *, dated: bool = True) -> bytes:
    """An RSS 2.0 feed linking to the locally served pages (with a tracking parameter)."""
    items = []
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for index, page in enumerate(pages):
        date = (
            f"<pubDate>{format_datetime(start + timedelta(hours=index))}</pubDate>" if dated else ""
        )
        link = escape(
            server.url(local_path(page)) + ("&" if "?" in page.url else "?") + "utm_source=rss"
        )
        items.append(
            f"<item><title>{escape(page.title or page.id)}</title><link>{link}</link>"
            f'<guid isPermaLink="false">{page.id}</guid>{date}'
            f"<description>Summary of {page.id}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>corpus</title>'
        f"<link>{server.url('/')}</link>{''.join(items)}</channel></rss>"
    ).encode()


def headline_feed(server: LocalServer, paths: list[str]) -> bytes:
    """An RSS feed of `server`'s `paths`, each entry's headline and text the feed's own
    (`harness.pages.headline_item`: NAME is the path without its slash)."""
    return rss(headline_item(server.url(path), path[1:]) for path in paths)


class OverlapSite:
    """`feeds` Atom feeds; story n is listed by feeds n % feeds and (n + 1) % feeds, so every
    story arrives through two feeds and every feed shares stories with two others."""

    def __init__(self, server: LocalServer, feeds: int, stories: int) -> None:
        self.server = server
        self.feeds = feeds
        self.stories = stories
        for feed in range(feeds):
            server.routes[f"/feed-{feed}.xml"] = self._feed_route(feed)
        server.routes["/robots.txt"] = Reply(status=404)

    def link(self, n: int) -> str:
        return self.server.url(f"/story-{n}.html")

    def listing(self, feed: int) -> list[int]:
        return [n for n in range(self.stories) if feed in (n % self.feeds, (n + 1) % self.feeds)]

    def listed(self) -> set[str]:
        return {normalize_url(self.link(n)) or "" for n in range(self.stories)}

    def sightings(self) -> int:
        return sum(len(self.listing(f)) for f in range(self.feeds))

    def feed_urls(self) -> dict[str, str]:
        return {f"feed-{f}": self.server.url(f"/feed-{f}.xml") for f in range(self.feeds)}

    def _feed_route(self, feed: int) -> Callable[[Seen], Reply]:
        def route(seen: Seen) -> Reply:
            entries = []
            for n in self.listing(feed):
                self.server.routes[f"/story-{n}.html"] = slow_page(
                    article_page(f"Story {n}", n, paragraphs=5, ending=f" {n}."), 0.02
                )
                entries.append(
                    atom_entry(
                        f"Story {n}",
                        self.link(n),
                        f"urn:s:{n}",
                        T0 + timedelta(hours=n),
                        f"Summary {n}",
                    )
                )
            body = atom(f"feed {feed}", f"urn:f:{feed}", entries)
            return Reply(headers={"Content-Type": "application/atom+xml"}, body=body)

        return route


def slow_page(body: bytes, seconds: float) -> Callable[[Seen], Reply]:
    """A route that answers with the HTML `body` after `seconds`: a page that takes a moment,
    so that concurrent runs overlap and a kill lands while a run is alive."""

    def route(seen: Seen) -> Reply:
        time.sleep(seconds)
        return Reply(headers={"Content-Type": "text/html"}, body=body)

    return route
