"""A feeds file entry that points at a sitemap index, through the real flow on loopback: the
index's newest sitemaps on its own host are fetched with it, and their articles stored."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.ingest import ingest
from harness.httpserver import LocalServer, Reply
from harness.sites import serve_sample_pages, write_feeds_file

pytestmark = pytest.mark.usefixtures("prefect_api")
FIXTURES = Path(__file__).parents[1] / "feeds" / "fixtures"


@pytest.fixture
def news_site(tmp_path: Path):
    with LocalServer() as server:
        serve_sample_pages(server)
        base = server.url("").rstrip("/").encode()
        for path, name in [
            ("/sitemap.xml", "sitemap-index.xml"),
            ("/sitemaps/news-en.xml", "news-sitemap.xml"),
            ("/sitemaps/news-de.xml", "news-sitemap-de.xml"),
        ]:
            body = (FIXTURES / name).read_bytes().replace(b"{{base}}", base)
            server.routes[path] = Reply(headers={"Content-Type": "application/xml"}, body=body)
        # /sitemaps/archive-2019.xml is gone (404): left out, the others still count.
        feeds = {"news-site": server.url("/sitemap.xml")}
        yield server, write_feeds_file(tmp_path / "feeds.toml", feeds)


def test_a_feed_entry_pointing_at_a_sitemap_index_stores_its_news_articles(
    news_site, tmp_path, private_network
):
    server, feeds_file = news_site
    db = tmp_path / "news.duckdb"
    report = ingest(feeds_file=str(feeds_file), db=str(db))

    assert [(f.name, f.status, f.entries) for f in report.feeds] == [("news-site", "ok", 4)]
    assert report.articles_new == 4
    sitemaps = [p for p in server.paths() if p.startswith("/sitemap")]
    assert sorted(sitemaps) == [
        "/sitemap.xml",
        "/sitemaps/archive-2019.xml",
        "/sitemaps/news-de.xml",
        "/sitemaps/news-en.xml",
    ]  # and never the sitemap on another host
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT e.entry_title, e.entry_published_at IS NOT NULL, a.text <> '' "
            "FROM feed_entries e JOIN articles a USING (article_id) ORDER BY e.entry_title"
        ).fetchall()
    assert rows == [
        ("Elephants & people: a fragile truce", True, True),
        ("Hund rettet Kind aus der Innerste", True, True),
        ("Masks stay on in Tokyo's trains", True, True),
        ("Tobisch: Abschied von der Opernbühne", True, True),
    ]

    before = len(server.requests)
    again = ingest(feeds_file=str(feeds_file), db=str(db))
    assert [f.status for f in again.feeds] == ["unchanged"]  # index and sitemaps hashed together
    assert not [p for p in server.paths()[before:] if p.startswith("/articles/")]


def test_sitemaps_fetched_with_an_index_are_bounded(
    news_site, tmp_path, private_network, monkeypatch
):
    server, feeds_file = news_site
    monkeypatch.setenv("NEWSDESK_MAX_SITEMAPS", "1")
    report = ingest(feeds_file=str(feeds_file), db=str(tmp_path / "news.duckdb"))
    assert [p for p in server.paths() if p.startswith("/sitemaps/")] == ["/sitemaps/news-en.xml"]
    assert report.feeds[0].entries == 2
