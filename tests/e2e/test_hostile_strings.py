"""One odd string in one page never stops a run: through the real `newsdesk ingest` process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb

from harness.cli import newsdesk
from harness.httpserver import LocalServer, Reply
from harness.pages import HTML, article_page, item, rss
from harness.sites import write_feeds_file

RSS = {"Content-Type": "application/rss+xml"}


def jsonld(data: str) -> str:
    return f'<script type="application/ld+json">{data}</script>'


def ingest(feeds: Path, db: Path, prefect_api: str) -> subprocess.CompletedProcess[str]:
    env = {"PREFECT_API_URL": prefect_api, "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1"}
    return newsdesk("ingest", "--feeds", str(feeds), "--db", str(db), env=env, timeout=600)


def test_a_lone_surrogate_in_a_pages_author_stops_nothing(tmp_path, prefect_api) -> None:
    # Valid JSON: an escaped lone surrogate, as a CMS that cut a UTF-16 string in half writes it.
    bad_author = '{"@type": "NewsArticle", "author": {"name": "Jane \\udc00 Doe"}}'
    db = tmp_path / "news.duckdb"
    with LocalServer() as first, LocalServer(host="127.0.0.2") as other:
        first.routes["/bad"] = Reply(
            headers=HTML, body=article_page("Council budget", 1, head=jsonld(bad_author))
        )
        first.routes["/good"] = Reply(headers=HTML, body=article_page("Harbour festival", 2))
        other.routes["/elsewhere"] = Reply(headers=HTML, body=article_page("Railway museum", 3))
        first.routes["/feed"] = Reply(
            headers=RSS,
            body=rss(
                [item(first.url("/bad"), "Council budget"), item(first.url("/good"), "Harbour")]
            ),
        )
        other.routes["/feed"] = Reply(
            headers=RSS, body=rss([item(other.url("/elsewhere"), "Railway museum")])
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
