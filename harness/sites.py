"""Sites on a local HTTP server for tests and benchmarks: the bundled sample, corpus pages behind
feeds, and the feeds file that lists them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from harness.httpserver import LocalServer, Reply, Seen
from newsdesk.demo import SAMPLE_DIR


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
    path: Path, feeds: dict[str, str], languages: dict[str, str] | None = None
) -> Path:
    lines = []
    for name, url in feeds.items():
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"']
        if languages and name in languages:
            lines.append(f'language = "{languages[name]}"')
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
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
