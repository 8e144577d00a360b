"""One odd string in one page never stops a run: through the real `newsdesk ingest` process."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
from httpserver import LocalServer, Reply
from sites import write_feeds_file

NEWSDESK = str(Path(sys.executable).parent / "newsdesk")
HTML = {"Content-Type": "text/html; charset=utf-8"}
VOCABULARY = "river council budget school harbour festival railway museum library bridge"
WORDS = VOCABULARY.split()


def page(title: str, seed: int, jsonld: str = "") -> bytes:
    rng = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + ".</p>" for _ in range(6)
    )
    script = f'<script type="application/ld+json">{jsonld}</script>' if jsonld else ""
    return (
        f"<html><head><title>{title}</title>{script}</head><body><article><h1>{title}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


def rss(links: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
        f"<description>About {escape(t)}</description></item>"
        for u, t in links
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://news.invalid/</link>{items}</channel></rss>"
    ).encode()


def ingest(feeds: Path, db: Path, prefect_api: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PREFECT_API_URL": prefect_api,
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
    }
    return subprocess.run(
        [NEWSDESK, "ingest", "--feeds", str(feeds), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_a_lone_surrogate_in_a_pages_author_stops_nothing(tmp_path, prefect_api) -> None:
    # Valid JSON: an escaped lone surrogate, as a CMS that cut a UTF-16 string in half writes it.
    bad_author = '{"@type": "NewsArticle", "author": {"name": "Jane \\udc00 Doe"}}'
    db = tmp_path / "news.duckdb"
    with LocalServer() as first, LocalServer(host="127.0.0.2") as other:
        first.routes["/bad"] = Reply(headers=HTML, body=page("Council budget", 1, bad_author))
        first.routes["/good"] = Reply(headers=HTML, body=page("Harbour festival", 2))
        other.routes["/elsewhere"] = Reply(headers=HTML, body=page("Railway museum", 3))
        first.routes["/feed"] = Reply(
            headers={"Content-Type": "application/rss+xml"},
            body=rss([(first.url("/bad"), "Council budget"), (first.url("/good"), "Harbour")]),
        )
        other.routes["/feed"] = Reply(
            headers={"Content-Type": "application/rss+xml"},
            body=rss([(other.url("/elsewhere"), "Railway museum")]),
        )
        feeds = write_feeds_file(
            tmp_path / "feeds.toml", {"local": first.url("/feed"), "other": other.url("/feed")}
        )
        result = ingest(feeds, db, prefect_api)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "3 new articles" in result.stdout
        again = ingest(feeds, db, prefect_api)

    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 new articles" in again.stdout and "not stored" not in again.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT title, extraction, authors FROM articles ORDER BY title"
        ).fetchall()
    assert rows == [
        ("Council budget", "page", ["Jane Doe"]),
        ("Harbour festival", "page", []),
        ("Railway museum", "page", []),
    ]
