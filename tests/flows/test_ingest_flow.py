"""The ingest flow end to end: real Prefect (test harness), real local HTTP servers, real
trafilatura, and a real warehouse of each backend (`lakes.backend`: a DuckDB file, a SQLite- and
a PostgreSQL-catalog lake), read back through `Warehouse`.

A run costs seconds on a lake (every stage opens it), so the PostgreSQL lake runs the small
tests whose reads and writes of feed states and articles differ by catalog; the larger ones run
on the file and a SQLite lake (`LOCAL`)."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from lakes import Backend, backend, on, postgres  # noqa: F401

from flows.ingest import ingest
from harness.corpus import CORPUS, needs_corpus
from harness.httpserver import LocalServer, Reply, free_port
from harness.sites import (
    conditional,
    corpus_pages,
    local_path,
    rss_feed,
    serve_corpus_pages,
    serve_sample_pages,
    write_feeds_file,
)
from storage import Warehouse

pytestmark = pytest.mark.usefixtures("prefect_api")

MOJIBAKE = ("Ã¤", "Ã¶", "Ã¼", "ÃŸ", "Ã©", "â€", "\ufffd")


LOCAL = on("file", "sqlite-lake")


@pytest.fixture
def db(backend: Backend) -> str:  # noqa: F811
    """A new warehouse's `--db` on each backend."""
    return backend.location()


def query(db: str, sql: str) -> list[tuple]:
    return Warehouse(db).query(sql)[1]


@pytest.fixture
def sample(tmp_path: Path):
    with LocalServer() as server:
        feeds = serve_sample_pages(server)
        yield server, write_feeds_file(tmp_path / "feeds.toml", feeds, {"sample-dach": "de"})


def run(feeds_file: Path, db: str, **params):
    return ingest(feeds_file=str(feeds_file), db=str(db), **params)


@LOCAL
def test_sample_is_stored_once_per_article_with_clean_metadata(sample, db, private_network):
    _, feeds_file = sample
    report = run(feeds_file, db)

    assert report.feeds_failed == 0
    # 8 pages plus one entry whose page is gone (404); the Hildesheim story is in both feeds.
    assert report.articles_new == 9
    rows = query(
        db,
        "SELECT url, title, text, published_at, language, extraction, extraction_error, authors "
        "FROM articles",
    )
    assert len(rows) == 9
    for url, title, text, published_at, language, _, _, authors in rows:
        assert "utm_" not in url and "fbclid" not in url and "#" not in url
        assert title and "<" not in title
        assert text
        assert published_at is not None and published_at.utcoffset().total_seconds() == 0
        assert language in {"de", "en", "fr"}
        assert isinstance(authors, list)
        assert not any(m in title + text for m in MOJIBAKE)

    gone = query(
        db,
        "SELECT title, text, extraction, extraction_error FROM articles "
        "WHERE url LIKE '%entfernt%'",
    )
    assert gone == [
        (
            "Eilmeldung: Seite nicht mehr verfügbar",
            "Diese Meldung wurde vom Verlag zurückgezogen; der Feed behält ihre Zusammenfassung.",
            "feed",
            "HTTP 404",
        )
    ]
    # The ISO-8859-1 page decodes to real umlauts.
    (text,) = query(db, "SELECT text FROM articles WHERE url LIKE '%tagespost%'")[0]
    assert "für" in text


@LOCAL
def test_same_story_in_two_feeds_is_stored_once_with_two_sightings(sample, db, private_network):
    _, feeds_file = sample
    run(feeds_file, db)
    rows = query(
        db,
        "SELECT a.article_id, list(e.feed_name ORDER BY e.feed_name) FROM articles a "
        "JOIN feed_entries e USING (article_id) WHERE a.url LIKE '%hildesheim%' GROUP BY 1",
    )
    assert len(rows) == 1
    assert rows[0][1] == ["sample-dach", "sample-world"]


@LOCAL
def test_rerun_adds_nothing_when_feeds_unchanged(sample, db, private_network):
    server, feeds_file = sample
    run(feeds_file, db)
    before = len(server.requests)
    counts = query(
        db, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM feed_entries)"
    )

    report = run(feeds_file, db)

    second = server.requests[before:]
    assert [s.path for s in second if s.path.startswith("/articles/")] == []
    assert all(s.headers.get("if-none-match") for s in second)
    assert {f.status for f in report.feeds} == {"not_modified"}
    assert report.articles_new == 0
    assert (
        query(db, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM feed_entries)")
        == counts
    )
    assert query(db, "SELECT count(*) FROM ingest_runs") == [(2,)]


def test_unchanged_body_without_validators_is_not_parsed_again(db, tmp_path, private_network):
    with LocalServer() as server:
        feeds = serve_sample_pages(server)
        body = (Path(__file__).parents[2] / "newsdesk/sample/feeds/world.xml").read_bytes()
        server.routes["/plain.xml"] = Reply(
            headers={"Content-Type": "application/atom+xml"},
            body=body.replace(b"{{base}}", server.url("").encode()),
        )
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"plain": server.url("/plain.xml")})
        first = run(feeds_file, db)
        second = run(feeds_file, db)
    assert first.feeds[0].status == "ok" and first.articles_new == 4
    assert second.feeds[0].status == "unchanged"
    assert second.feeds[0].entries == 0  # not parsed at all
    assert query(db, "SELECT last_status FROM feeds") == [("unchanged",)]
    assert feeds  # the sample pages were served


def test_failing_feeds_are_recorded_and_the_others_still_ingested(db, tmp_path, private_network):
    with LocalServer() as server:
        feeds = serve_sample_pages(server)
        server.routes["/broken.xml"] = Reply(status=500, body=b"oops")
        server.routes["/page.html"] = Reply(
            headers={"Content-Type": "text/html"},
            body=b"<html><body><p>Not a feed</p></body></html>",
        )
        feeds |= {
            "unreachable": f"http://127.0.0.1:{free_port()}/feed.xml",
            "server-error": server.url("/broken.xml"),
            "not-xml": server.url("/page.html"),
        }
        report = run(write_feeds_file(tmp_path / "feeds.toml", feeds), db)

    by_name = {f.name: f for f in report.feeds}
    assert {n for n, f in by_name.items() if f.status == "failed"} == {
        "unreachable",
        "server-error",
        "not-xml",
    }
    assert by_name["server-error"].error == "HTTP 500"
    assert report.articles_new == 9
    health = dict(
        (name, (status, failures, error is not None))
        for name, status, failures, error in query(
            db, "SELECT name, last_status, consecutive_failures, last_error FROM feeds"
        )
    )
    assert health["unreachable"] == ("failed", 1, True)
    assert health["not-xml"] == ("failed", 1, True)
    assert health["sample-dach"] == ("ok", 0, False)
    # A failed feed keeps no validators, so the next run asks for its body again.
    assert query(db, "SELECT etag, body_hash FROM feeds WHERE name = 'not-xml'") == [(None, None)]


@LOCAL
def test_article_links_to_loopback_are_refused_by_default(sample, db, monkeypatch):
    monkeypatch.delenv("NEWSDESK_ALLOW_PRIVATE_NETWORK", raising=False)
    server, feeds_file = sample
    report = run(feeds_file, db, feeds=["sample-world"])

    assert not [p for p in server.paths() if p.startswith("/articles/")]
    assert report.articles_new == 4
    rows = query(db, "SELECT extraction, extraction_error FROM articles")
    assert all(extraction == "feed" for extraction, _ in rows)
    assert all("private address" in error for _, error in rows)


@LOCAL
def test_per_feed_cap_leaves_the_rest_for_the_next_run(sample, db, private_network):
    _, feeds_file = sample
    first = run(feeds_file, db, feeds=["sample-dach"], max_articles_per_feed=2)
    assert first.articles_new == 2 and first.feeds[0].capped
    second = run(feeds_file, db, feeds=["sample-dach"], max_articles_per_feed=0)
    assert second.articles_new == 4
    assert query(db, "SELECT count(*) FROM articles") == [(6,)]


def _rewrite_links(body: bytes, links: list[str], targets: list[str]) -> bytes:
    for old, new in zip(links, targets, strict=False):
        for form in (old, old.replace("&", "&amp;")):
            body = body.replace(form.encode(), new.replace("&", "&amp;").encode())
    return body


@LOCAL
@needs_corpus
def test_corpus_feeds_rewritten_to_local_pages_store_every_article(db, tmp_path, private_network):
    pages = corpus_pages(CORPUS, ["traf-", "wcxb-"])
    # RSS 2.0 with a bozo XML declaration, Atom, and RDF: every entry link is pointed at a page.
    chosen_feeds = ["feedjira-TechCrunch.xml", "nnw-4fsodonline_atom.xml", "rome-slashdot.xml"]
    with LocalServer() as server:
        serve_corpus_pages(server, CORPUS, pages)
        feeds = {}
        cursor = 0
        for name in chosen_feeds:
            body = (CORPUS / "feeds" / name).read_bytes()
            links = list(dict.fromkeys(e.link for e in feedparser.parse(body).entries))
            targets = [server.url(local_path(p)) for p in pages[cursor : cursor + len(links)]]
            cursor += len(links)
            body = _rewrite_links(body, links, targets)
            # Nothing may point off this machine.
            assert all(e.link.startswith(server.url("/")) for e in feedparser.parse(body).entries)
            server.routes[f"/feeds/{name}"] = conditional(body, "application/xml")
            feeds[name] = server.url(f"/feeds/{name}")
        # The three pages that are not UTF-8, behind a feed of their own.
        encoded = [
            p
            for p in pages
            if p.id.startswith(("traf-die-tagespost", "traf-auto-presse", "traf-badische"))
        ]
        server.routes["/feeds/encodings.xml"] = Reply(
            headers={"Content-Type": "application/rss+xml"}, body=rss_feed(server, encoded)
        )
        feeds["encodings"] = server.url("/feeds/encodings.xml")
        report = run(write_feeds_file(tmp_path / "feeds.toml", feeds), db, max_articles_per_feed=0)

    assert report.feeds_failed == 0
    assert len(feeds) >= 3
    rows = query(
        db,
        "SELECT url, title, text, published_at, language FROM articles WHERE extraction = 'page'",
    )
    assert report.articles_new == cursor + 3
    assert len(rows) == report.articles_new
    for url, title, text, published_at, language in rows:
        assert title, url
        assert len(text) > 200, url
        assert published_at is not None and published_at.utcoffset().total_seconds() == 0, url
        assert language, url
        assert not any(m in title + text for m in MOJIBAKE), url


def _story_page(headline: str, text: str) -> bytes:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    return (
        "<html lang='en'><head><meta property='og:type' content='article'>"
        f"<title>{headline}</title></head><body><article><h1>{headline}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


def _json_feed(server: LocalServer, paths: list[str]) -> bytes:
    items = [{"id": path, "url": server.url(path), "title": path.strip("/")} for path in paths]
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "outlets", "items": items}
    ).encode()


@LOCAL
def test_a_wire_story_in_three_outlets_is_one_story_across_runs(db, tmp_path, private_network):
    from stories_text import OUTLET_A, OUTLET_B, OUTLET_C, SAME_TOPIC

    pages = {
        "/a/house-prices": ("House prices jump at start of year", OUTLET_A),
        "/b/uk-house-prices": ("UK house prices beat forecasts", OUTLET_B),
        "/c/property": ("Property prices rise", OUTLET_C),
        "/d/rents": ("Rents climb again", SAME_TOPIC),
    }
    with LocalServer() as server:
        for path, (headline, text) in pages.items():
            server.routes[path] = Reply(
                headers={"Content-Type": "text/html"}, body=_story_page(headline, text)
            )
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"outlets": server.url("/f.json")})
        # JSON Feed, through the same path as RSS and Atom; the second run brings two outlets.
        for paths in (["/a/house-prices", "/d/rents"], list(pages)):
            server.routes["/f.json"] = Reply(
                headers={"Content-Type": "application/feed+json"}, body=_json_feed(server, paths)
            )
            run(feeds_file, db)

    rows = dict(query(db, "SELECT split_part(url, '/', 4), story_id FROM articles"))
    ids = dict(query(db, "SELECT split_part(url, '/', 4), article_id FROM articles"))
    assert rows["a"] == rows["b"] == rows["c"] == ids["a"]
    assert rows["d"] == ids["d"]
    wire = query(db, "SELECT DISTINCT wire_agency, dateline FROM articles WHERE url LIKE '%/a/%'")
    assert wire == [("Reuters", "LONDON")]
    assert query(db, "SELECT count(*) FROM story_sketches") == [(4,)]


def test_agency_first_credit_lines_reach_the_warehouse(db, tmp_path, private_network):
    body = (
        "Russia said on Tuesday it had expelled two diplomats from the embassy in a row over "
        "spying allegations, the foreign ministry said in a statement.\n"
        "The ministry said the diplomats had been declared persona non grata and given 48 hours "
        "to leave the country, without naming their posts.\n"
        "The embassy did not immediately respond to a request for comment on the expulsions, "
        "which follow a series of similar moves in recent months."
    )
    pages = {
        "/world/expulsions": ("Russia expels two diplomats", f"Reuters, MOSCOW\n{body}"),
        "/taiwan/warning": ("Sea warning issued", f"Staff writer, with CNA\n{body}"),
    }
    with LocalServer() as server:
        for path, (headline, text) in pages.items():
            server.routes[path] = Reply(
                headers={"Content-Type": "text/html"}, body=_story_page(headline, text)
            )
        server.routes["/f.json"] = Reply(
            headers={"Content-Type": "application/feed+json"},
            body=_json_feed(server, list(pages)),
        )
        run(write_feeds_file(tmp_path / "feeds.toml", {"paper": server.url("/f.json")}), db)

    wire = dict(
        (path, (agency, dateline))
        for path, agency, dateline in query(
            db, "SELECT split_part(url, '/', 4), wire_agency, dateline FROM articles"
        )
    )
    assert wire == {"world": ("Reuters", "MOSCOW"), "taiwan": ("CNA", None)}


@LOCAL
def test_a_run_in_batches_stores_what_one_batch_would(
    sample,
    backend,  # noqa: F811
    private_network,
    monkeypatch,
):
    _, feeds_file = sample
    whole_db = backend.location("whole")
    whole = run(feeds_file, whole_db)
    monkeypatch.setenv("NEWSDESK_BATCH_SIZE", "2")
    db = backend.location("batched")
    report = run(feeds_file, db)

    assert report.articles_new == whole.articles_new == 9
    assert [(f.name, f.new_articles) for f in report.feeds] == [
        (f.name, f.new_articles) for f in whole.feeds
    ]
    sql = "SELECT url, title, story_id IS NULL FROM articles ORDER BY url"
    assert query(db, sql) == query(whole_db, sql)
    # One record for the run, with the sum of its batches; every feed's state stored.
    assert query(db, "SELECT count(*), sum(articles_new) FROM ingest_runs") == [(1, 9)]
    assert query(db, "SELECT count(*) FROM feeds WHERE body_hash IS NOT NULL") == [
        (len(report.feeds),)
    ]
    # The Hildesheim story is in both feeds, stored once with two sightings.
    assert query(
        db,
        "SELECT count(DISTINCT a.article_id), count(*) FROM articles a "
        "JOIN feed_entries e USING (article_id) WHERE a.url LIKE '%hildesheim%'",
    ) == [(1, 2)]
    assert run(feeds_file, db).articles_new == 0
