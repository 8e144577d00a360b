"""The fault suite: real local servers that misbehave on purpose, through the real pipeline
(the `ingest` flow under the Prefect test harness, real DuckDB, real trafilatura).

Each test names one fault and checks what the run did about it. Runs that share a setup are made
once per module (a fixture) and each fault gets its own test over the result.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import pytest

from flows.ingest import ingest
from harness.analyst import AnalystSession
from harness.httpserver import LocalServer, Reply, Seen, redirect, then
from harness.pages import HTML, article_page, item, rss
from harness.sites import conditional, write_feeds_file
from storage import Warehouse, connect
from tasks.models import RunReport

pytestmark = pytest.mark.usefixtures("prefect_api")

FAST_LIMITS = {
    "NEWSDESK_CONNECT_TIMEOUT": "2",
    "NEWSDESK_READ_TIMEOUT": "1.5",
    "NEWSDESK_TOTAL_TIMEOUT": "2",
    "NEWSDESK_MAX_RESPONSE_BYTES": str(1024 * 1024),
    "NEWSDESK_RETRY_AFTER_MAX": "2",
    "NEWSDESK_PER_HOST_CONCURRENCY": "8",
    "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
}
RSS = {"Content-Type": "application/rss+xml"}
MARKUP_OR_CONTROL = ("<b>", "</b>", "<i>", "<script", "\x07", "\x1b", "\x00")


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def one_value(db: Path, sql: str, params: list | None = None):
    [(value,)] = query(db, sql, params)
    return value


def run(feeds_file: Path, db: Path, **params) -> RunReport:
    return ingest(feeds_file=str(feeds_file), db=str(db), max_articles_per_feed=0, **params)


def silent(seconds: float):
    def route(seen: Seen) -> Reply:
        time.sleep(seconds)  # never a byte before the client gives up
        return Reply(body=b"too late")

    return route


@pytest.fixture(scope="module")
def fast_limits() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAST_LIMITS.items():
            patch.setenv(name, value)
        yield


# ---------------------------------------------------------------- misbehaving feed servers

LAUGHS_PROLOG = (
    '<!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


@dataclass
class FeedFaults:
    report: RunReport
    db: Path
    server: LocalServer
    canary: LocalServer
    secret: str
    started: datetime
    seconds: float

    def row(self, name: str):
        return {f.name: f for f in self.report.feeds}[name]


@pytest.fixture(scope="module")
def feed_faults(fast_limits, tmp_path_factory) -> Iterator[FeedFaults]:
    tmp = tmp_path_factory.mktemp("feed-faults")
    secret_file = tmp / "secret.txt"
    secret = "CANARY-SECRET-41d7"
    secret_file.write_text(secret)
    with LocalServer() as server, LocalServer() as canary:
        canary.routes["/"] = Reply(body=b"LEAKED")
        page = server.url("/pages/{}.html")
        for name in ("healthy", "laughs", "xxe", "ratelimited"):
            server.routes[f"/pages/{name}.html"] = Reply(headers=HTML, body=article_page(name, 1))
        xxe_prolog = (
            f'<!DOCTYPE rss [<!ENTITY file SYSTEM "{secret_file.as_uri()}">'
            f'<!ENTITY remote SYSTEM "{canary.url("/entity")}">]>'
        )
        routes = {
            "healthy": Reply(headers=RSS, body=rss([item(page.format("healthy"), "Healthy")])),
            "slow": Reply(headers=RSS, body=rss([item(page.format("x"), "x")]), trickle=0.05),
            "silent": silent(6),
            "huge": Reply(headers=RSS, body=b"<rss>" + b" " * (2 * 1024 * 1024)),
            "gzip-bomb": Reply(
                headers={**RSS, "Content-Encoding": "gzip"},
                body=gzip.compress(b" " * (64 * 1024 * 1024)),
            ),
            "redirect-loop": redirect("/feeds/redirect-loop-2.xml"),
            "ratelimited": then(
                Reply(status=429, headers={"Retry-After": "1"}),
                Reply(headers=RSS, body=rss([item(page.format("ratelimited"), "Rate")])),
            ),
            "ratelimited-long": Reply(status=503, headers={"Retry-After": "7200"}),
            "billion-laughs": Reply(
                headers=RSS,
                body=rss([item(page.format("laughs"), "Laughs &lol9;")], LAUGHS_PROLOG).replace(
                    b"&amp;lol9;", b"&lol9;"
                ),
            ),
            "external-entities": Reply(
                headers=RSS,
                body=rss([item(page.format("xxe"), "XXE &file; &remote;")], xxe_prolog)
                .replace(b"&amp;file;", b"&file;")
                .replace(b"&amp;remote;", b"&remote;"),
            ),
            "html-not-a-feed": Reply(headers=HTML, body=article_page("Home", 2)),
        }
        for name, route in routes.items():
            server.routes[f"/feeds/{name}.xml"] = route
        server.routes["/feeds/redirect-loop-2.xml"] = redirect("/feeds/redirect-loop.xml")
        feeds_file = write_feeds_file(
            tmp / "feeds.toml", {name: server.url(f"/feeds/{name}.xml") for name in routes}
        )
        db = tmp / "news.duckdb"
        started = datetime.now(UTC)
        clock = time.monotonic()
        report = run(feeds_file, db)
        yield FeedFaults(report, db, server, canary, secret, started, time.monotonic() - clock)


def test_a_healthy_feed_is_ingested_next_to_every_misbehaving_one(feed_faults) -> None:
    assert feed_faults.row("healthy").status == "ok"
    assert feed_faults.row("healthy").new_articles == 1
    # Every fault is bounded: the whole run is a handful of timeouts, not minutes.
    assert feed_faults.seconds < 60


def test_a_feed_that_trickles_is_cut_off_by_the_total_timeout(feed_faults) -> None:
    row = feed_faults.row("slow")
    assert (row.status, row.error) == ("failed", "timed out after 2 s")
    assert row.seconds < 6  # the 2 s limit, with room for a busy machine


def test_a_feed_server_that_never_answers_is_given_up(feed_faults) -> None:
    row = feed_faults.row("silent")
    assert row.status == "failed"
    assert row.error in ("no data for 1.5 s", "timed out after 2 s")
    assert row.seconds < 6  # the 2 s limit, with room for a busy machine


@pytest.mark.parametrize("name", ["huge", "gzip-bomb"])
def test_a_feed_larger_than_the_cap_is_refused_even_when_compressed(feed_faults, name) -> None:
    row = feed_faults.row(name)
    assert (row.status, row.error) == ("failed", "response larger than 1 MiB")


def test_a_redirect_loop_is_an_error(feed_faults) -> None:
    row = feed_faults.row("redirect-loop")
    assert row.status == "failed"
    assert row.error == f"redirect loop at {feed_faults.server.url('/feeds/redirect-loop.xml')}"


def test_a_429_with_a_short_retry_after_is_waited_for_and_retried(feed_faults) -> None:
    row = feed_faults.row("ratelimited")
    assert (row.status, row.new_articles) == ("ok", 1)
    times = feed_faults.server.routes["/feeds/ratelimited.xml"].times  # type: ignore[union-attr]
    assert len(times) == 2 and times[1] - times[0] >= 0.95


def test_a_long_retry_after_fails_the_poll_and_defers_the_next_one(feed_faults) -> None:
    row = feed_faults.row("ratelimited-long")
    assert (row.status, row.error) == ("failed", "HTTP 503 (Retry-After 7200 s)")
    next_poll = one_value(
        feed_faults.db, "SELECT next_poll_at FROM feeds WHERE name = 'ratelimited-long'"
    )
    assert next_poll >= feed_faults.started + timedelta(seconds=7200)


def test_billion_laughs_in_a_feed_expands_nothing_and_the_entry_is_stored(feed_faults) -> None:
    row = feed_faults.row("billion-laughs")
    assert (row.status, row.new_articles) == ("ok", 1)
    titles = query(feed_faults.db, "SELECT entry_title FROM feed_entries")
    assert all("lol" * 20 not in (t or "") for (t,) in titles)


def test_external_entities_neither_read_files_nor_reach_the_network(feed_faults) -> None:
    row = feed_faults.row("external-entities")
    assert row.status == "ok"
    assert feed_faults.canary.requests == []
    dump = str(query(feed_faults.db, "SELECT * FROM articles")) + str(
        query(feed_faults.db, "SELECT * FROM feed_entries")
    )
    assert feed_faults.secret not in dump


def test_an_html_page_instead_of_a_feed_is_a_failed_poll(feed_faults) -> None:
    row = feed_faults.row("html-not-a-feed")
    assert row.status == "failed"
    assert row.error is not None and row.error.startswith("not a feed")


def test_failing_feeds_rest_but_keep_their_state(feed_faults) -> None:
    rows = dict(
        query(
            feed_faults.db,
            "SELECT name, consecutive_failures FROM feeds WHERE next_poll_at IS NOT NULL",
        )
    )
    assert set(rows) == {
        "slow",
        "silent",
        "huge",
        "gzip-bomb",
        "redirect-loop",
        "ratelimited-long",
        "html-not-a-feed",
    }
    assert set(rows.values()) == {1}


# ---------------------------------------------------------------- misbehaving article pages


@dataclass
class PageFaults:
    report: RunReport
    db: Path
    server: LocalServer

    def stored(self, path: str) -> tuple:
        rows = query(
            self.db,
            "SELECT a.extraction, a.extraction_error, a.title, a.text, a.site_name, a.authors "
            "FROM articles a JOIN feed_entries e USING (article_id) WHERE e.entry_url = ?",
            [self.server.url(path)],
        )
        assert len(rows) == 1, (path, rows)
        return rows[0]


DIRTY_HEAD = (
    '<meta property="og:site_name" content="&lt;i&gt;Daily&lt;/i&gt; Bugle\x1b">'
    '<meta name="author" content="&lt;b&gt;Jane Doe&lt;/b&gt;\x07">'
)


@pytest.fixture(scope="module")
def page_faults(fast_limits, tmp_path_factory) -> Iterator[PageFaults]:
    tmp = tmp_path_factory.mktemp("page-faults")
    with LocalServer() as server:
        server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nDisallow: /private/\n")
        pages = {
            "/ok.html": Reply(headers=HTML, body=article_page("A fine page", 1)),
            "/report.pdf": Reply(headers={"Content-Type": "application/pdf"}, body=b"%PDF-1.7"),
            "/photo.jpg": Reply(headers={"Content-Type": "image/jpeg"}, body=b"\xff\xd8\xff"),
            "/huge.html": Reply(headers=HTML, body=b"<p>" + b"x" * (2 * 1024 * 1024)),
            "/bomb.html": Reply(
                headers={**HTML, "Content-Encoding": "gzip"},
                body=gzip.compress(b"<p>" + b" " * (64 * 1024 * 1024)),
            ),
            "/slow.html": Reply(headers=HTML, body=article_page("Slow", 2), trickle=0.01),
            "/loop.html": redirect("/loop-2.html"),
            "/ratelimited.html": then(
                Reply(status=429, headers={"Retry-After": "1"}),
                Reply(headers=HTML, body=article_page("Worth the wait", 3)),
            ),
            "/private/memo.html": Reply(headers=HTML, body=article_page("Private", 4)),
            "/dirty.html": Reply(
                headers=HTML,
                body=article_page("Dirty &lt;b&gt;headline&lt;/b&gt;\x07 here", 5, head=DIRTY_HEAD),
            ),
        }
        server.routes.update(pages)
        server.routes["/loop-2.html"] = redirect("/loop.html")
        items = [item(server.url(path), f"Entry {path}") for path in pages]
        items.append(
            item(server.url("/ok.html?id=2"), "Robert'); DROP TABLE articles;-- <b>x</b>\x07")
        )
        server.routes["/feed.xml"] = Reply(headers=RSS, body=rss(items))
        feeds_file = write_feeds_file(tmp / "feeds.toml", {"pages": server.url("/feed.xml")})
        db = tmp / "news.duckdb"
        report = run(feeds_file, db)
        yield PageFaults(report, db, server)


def test_every_entry_is_stored_whatever_its_page_did(page_faults) -> None:
    assert page_faults.report.articles_new == 11
    assert one_value(page_faults.db, "SELECT count(*) FROM articles") == 11
    assert page_faults.stored("/ok.html")[:2] == ("page", None)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/report.pdf", "not an HTML page: application/pdf"),
        ("/photo.jpg", "not an HTML page: image/jpeg"),
    ],
)
def test_a_page_that_is_not_html_is_skipped_and_recorded(page_faults, path, error) -> None:
    extraction, recorded, _, text, _, _ = page_faults.stored(path)
    assert (extraction, recorded) == ("feed", error)
    assert text == f"About Entry {path}"  # the feed's summary, not bytes of the file


@pytest.mark.parametrize("path", ["/huge.html", "/bomb.html"])
def test_a_page_larger_than_the_cap_is_refused_even_when_compressed(page_faults, path) -> None:
    assert page_faults.stored(path)[:2] == ("feed", "response larger than 1 MiB")


def test_a_page_that_trickles_is_cut_off(page_faults) -> None:
    assert page_faults.stored("/slow.html")[:2] == ("feed", "timed out after 2 s")


def test_a_page_redirect_loop_is_an_error(page_faults) -> None:
    extraction, error, *_ = page_faults.stored("/loop.html")
    assert extraction == "feed"
    assert error == f"redirect loop at {page_faults.server.url('/loop.html')}"


def test_a_page_answering_429_is_fetched_after_its_retry_after(page_faults) -> None:
    assert page_faults.stored("/ratelimited.html")[:3] == ("page", None, "Worth the wait")
    times = page_faults.server.routes["/ratelimited.html"].times  # type: ignore[union-attr]
    assert len(times) == 2 and times[1] - times[0] >= 0.95


def test_a_page_robots_txt_disallows_is_never_requested(page_faults) -> None:
    assert page_faults.stored("/private/memo.html")[:2] == ("feed", "disallowed by robots.txt")
    assert "/private/memo.html" not in page_faults.server.paths()
    assert page_faults.server.paths().count("/robots.txt") == 1


def test_markup_and_control_characters_never_reach_titles_authors_or_site_names(
    page_faults,
) -> None:
    _, _, title, _, site_name, authors = page_faults.stored("/dirty.html")
    assert title == "Dirty headline here"
    assert site_name == "Daily Bugle"
    assert authors == ["Jane Doe"]
    every = query(page_faults.db, "SELECT title, site_name, authors FROM articles")
    every += query(page_faults.db, "SELECT entry_title, guid, NULL FROM feed_entries")
    for row in every:
        text = " ".join(str(v) for v in row if v is not None)
        assert not any(bad in text for bad in MARKUP_OR_CONTROL), text


def test_sql_in_a_title_is_stored_as_text(page_faults) -> None:
    titles = [t for (t,) in query(page_faults.db, "SELECT entry_title FROM feed_entries")]
    assert "Robert'); DROP TABLE articles;-- x" in titles
    assert one_value(page_faults.db, "SELECT count(*) FROM articles") == 11


# ---------------------------------------------------------------- private network


def test_links_to_loopback_are_refused_and_the_canary_sees_no_request(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("NEWSDESK_ALLOW_PRIVATE_NETWORK", raising=False)
    with LocalServer() as feeds, LocalServer() as canary:
        canary.routes["/admin"] = Reply(headers=HTML, body=article_page("Internal", 1))
        links = [canary.url("/admin"), f"http://localhost:{canary.port}/admin?x=1"]
        feeds.routes["/feed.xml"] = Reply(
            headers=RSS, body=rss([item(link, f"Link {i}") for i, link in enumerate(links)])
        )
        db = tmp_path / "news.duckdb"
        report = run(write_feeds_file(tmp_path / "feeds.toml", {"f": feeds.url("/feed.xml")}), db)

        assert canary.requests == []  # not the page, not robots.txt
    assert report.articles_new == 2
    errors = sorted(e for (e,) in query(db, "SELECT extraction_error FROM articles"))
    assert errors[0].startswith("refused: 127.0.0.1 resolves to a private address")
    assert errors[1].startswith("refused: localhost resolves to a private address")


# ---------------------------------------------------------------- backoff


def end_the_rest(db: Path) -> None:
    """Let the time a resting feed waits for pass, without waiting: move it into the past."""
    with connect(db) as con:
        con.execute("UPDATE feeds SET next_poll_at = now() - INTERVAL 1 SECOND")


def test_a_failing_feed_rests_with_growing_intervals_but_is_never_disabled(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("NEWSDESK_BACKOFF_BASE", "60")
    monkeypatch.setenv("NEWSDESK_BACKOFF_MAX", "240")
    with LocalServer() as server:
        server.routes["/feed.xml"] = Reply(status=500)
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"flaky": server.url("/feed.xml")})
        db = tmp_path / "news.duckdb"
        rests = []
        for failures in range(1, 6):
            report = run(feeds_file, db)
            assert report.feeds[0].status == "failed"
            polled, next_poll = query(db, "SELECT last_polled_at, next_poll_at FROM feeds")[0]
            rests.append(round((next_poll - polled).total_seconds()))
            assert one_value(db, "SELECT consecutive_failures FROM feeds") == failures

            resting = run(feeds_file, db)  # at once: still resting
            assert resting.feeds[0].status == "backoff"
            assert "next poll after" in (resting.feeds[0].error or "")
            assert not resting.all_failed
            assert len(server.requests) == failures
            end_the_rest(db)

        assert rests == [60, 120, 240, 240, 240]  # doubling, capped, never "disabled"
        server.routes["/feed.xml"] = Reply(headers=RSS, body=rss([]))
        healed = run(feeds_file, db)
    assert healed.feeds[0].status == "ok"
    assert query(db, "SELECT consecutive_failures, next_poll_at FROM feeds") == [(0, None)]
    assert one_value(db, "SELECT sum(feeds_backoff) FROM ingest_runs") == 5


def test_a_feed_named_explicitly_is_polled_even_while_it_rests(tmp_path) -> None:
    with LocalServer() as server:
        server.routes["/feed.xml"] = Reply(status=500)
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"flaky": server.url("/feed.xml")})
        db = tmp_path / "news.duckdb"
        run(feeds_file, db)
        assert run(feeds_file, db).feeds[0].status == "backoff"
        assert run(feeds_file, db, feeds=["flaky"]).feeds[0].status == "failed"
        assert len(server.requests) == 2


# ---------------------------------------------------------------- GUID and URL churn


def test_guid_churn_and_url_churn_create_no_duplicates(tmp_path, private_network) -> None:
    with LocalServer() as server:
        for n in (1, 2, 3):
            server.routes[f"/story/{n}"] = Reply(headers=HTML, body=article_page(f"Story {n}", n))
        url = server.url("/story/{}")
        first = rss(
            [
                item(url.format(1), "One", guid="guid-1"),
                item(url.format(2), "Two", guid="guid-2"),
            ]
        )
        server.routes["/feed.xml"] = Reply(headers=RSS, body=first)
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"f": server.url("/feed.xml")})
        db = tmp_path / "news.duckdb"
        run(feeds_file, db)
        pages_before = len([p for p in server.paths() if p.startswith("/story/")])

        churned = rss(
            [
                # Same URL, new GUID (a CMS migration renumbered everything).
                item(url.format(1), "One", guid="urn:new-cms:1"),
                # Same GUID, new tracking parameters: a known one and one no list knows.
                item(url.format(2) + "?utm_source=rss&ref=feed-v2", "Two", guid="guid-2"),
                item(url.format(3), "Three", guid="guid-3"),
            ]
        )
        server.routes["/feed.xml"] = Reply(headers=RSS, body=churned)
        report = run(feeds_file, db)
        story_requests = [p for p in server.paths() if p.startswith("/story/")][pages_before:]

    assert report.articles_new == 1
    assert story_requests == ["/story/3"]
    assert one_value(db, "SELECT count(*) FROM articles") == 3
    assert one_value(db, "SELECT count(DISTINCT url) FROM articles") == 3
    # The churned link is recorded as another sighting of the same article.
    sightings = query(
        db,
        "SELECT entry_url, article_id FROM feed_entries WHERE guid = 'guid-2' ORDER BY entry_url",
    )
    assert len(sightings) == 2 and sightings[0][1] == sightings[1][1]


# ---------------------------------------------------------------- edits and versions


def atom(entries: list[tuple[str, str, datetime, str]]) -> bytes:
    """Atom with (link, title, updated, summary) entries."""
    body = "".join(
        f"<entry><title>{escape(title)}</title><link href='{escape(link)}'/><id>{escape(link)}</id>"
        f"<updated>{updated:%Y-%m-%dT%H:%M:%SZ}</updated><summary>{escape(summary)}</summary>"
        "</entry>"
        for link, title, updated, summary in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>t</title><id>urn:t</id><updated>2026-01-01T00:00:00Z</updated>{body}</feed>"
    ).encode()


def test_an_edited_article_gets_a_new_version_and_a_repeat_changes_nothing(
    tmp_path, private_network
) -> None:
    t1 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with LocalServer() as server:
        story, other = server.url("/story"), server.url("/other")
        server.routes["/story"] = Reply(headers=HTML, body=article_page("Bridge closed", 1))
        server.routes["/other"] = Reply(headers=HTML, body=article_page("Other news", 2))
        server.routes["/feed.xml"] = Reply(
            headers={"Content-Type": "application/atom+xml"},
            body=atom([(story, "Bridge closed", t1, "The bridge is closed.")]),
        )
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"f": server.url("/feed.xml")})
        db = tmp_path / "news.duckdb"
        run(feeds_file, db)
        snapshot = query(db, "SELECT * FROM articles")

        # The feed changes (a new entry), the story's entry does not: it is not fetched again.
        server.routes["/feed.xml"] = Reply(
            headers={"Content-Type": "application/atom+xml"},
            body=atom(
                [
                    (other, "Other news", t1, "Other."),
                    (story, "Bridge closed", t1, "The bridge is closed."),
                ]
            ),
        )
        repeat = run(feeds_file, db)
        assert server.paths().count("/story") == 1
        assert (repeat.articles_new, repeat.articles_updated) == (1, 0)
        assert query(db, "SELECT * FROM articles WHERE url = ?", [story]) == snapshot

        # A correction: the entry's updated date moves and the page text changed.
        server.routes["/story"] = Reply(headers=HTML, body=article_page("Bridge reopened", 3))
        t2 = t1 + timedelta(hours=3)
        server.routes["/feed.xml"] = Reply(
            headers={"Content-Type": "application/atom+xml"},
            body=atom(
                [
                    (other, "Other news", t1, "Other."),
                    (story, "Bridge reopened", t2, "The bridge is open again."),
                ]
            ),
        )
        corrected = run(feeds_file, db)
        assert server.paths().count("/story") == 2

        # Updated again with the same page text: fetched, but nothing to store.
        server.routes["/feed.xml"] = Reply(
            headers={"Content-Type": "application/atom+xml"},
            body=atom(
                [
                    (other, "Other news", t1, "Other."),
                    (story, "Bridge reopened", t2 + timedelta(hours=1), "Still open."),
                ]
            ),
        )
        same_text = run(feeds_file, db)
        assert server.paths().count("/story") == 3

    assert (corrected.articles_new, corrected.articles_updated) == (0, 1)
    assert (same_text.articles_new, same_text.articles_updated) == (0, 0)
    assert query(db, "SELECT title, version FROM articles WHERE url = ?", [story]) == [
        ("Bridge reopened", 2)
    ]
    assert query(db, "SELECT title, version FROM article_versions") == [("Bridge closed", 1)]
    assert one_value(db, "SELECT count(*) FROM articles") == 2


# ---------------------------------------------------------------- a locked warehouse


def test_a_lock_taken_during_the_run_sends_the_batch_to_the_spool_and_nothing_is_lost(
    tmp_path, monkeypatch, private_network
) -> None:
    monkeypatch.setenv("NEWSDESK_LOCK_WAIT", "1")
    db = tmp_path / "news.duckdb"
    holders: list[AnalystSession] = []
    lock = threading.Lock()

    def page_that_calls_an_analyst(seen: Seen) -> Reply:
        # While the run downloads, someone opens the warehouse read-write and keeps it.
        with lock:
            if not holders:
                holders.append(AnalystSession(db, read_only=False))
        return Reply(headers=HTML, body=article_page("Locked out", 1))

    with LocalServer() as server:
        server.routes["/story"] = page_that_calls_an_analyst
        server.routes["/feed.xml"] = Reply(headers=RSS, body=rss([item(server.url("/story"), "S")]))
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"f": server.url("/feed.xml")})
        try:
            spooled = run(feeds_file, db)
        finally:
            for holder in holders:
                holder.close()
        assert spooled.spooled_to is not None and spooled.articles_new == 0
        assert (
            spooled.lock_error and "another process holds the warehouse lock" in spooled.lock_error
        )
        assert Path(spooled.spooled_to).parent == tmp_path / "spool" / "news"
        assert one_value(db, "SELECT count(*) FROM articles") == 0

        merged = run(feeds_file, db)

    assert merged.merged_runs == (spooled.run_id,)
    assert one_value(db, "SELECT count(*) FROM articles") == 1
    assert one_value(db, "SELECT count(*) FROM ingest_runs") == 2
    # The spooled run's feed state came with it: the second run saw an unchanged feed.
    assert merged.feeds[0].status in ("unchanged", "not_modified")
    assert not list((tmp_path / "spool" / "news").iterdir())


def test_a_reader_holding_the_file_all_run_long_means_a_spooled_batch(
    tmp_path, monkeypatch, private_network
) -> None:
    monkeypatch.setenv("NEWSDESK_LOCK_WAIT", "0.5")
    db = tmp_path / "news.duckdb"
    with LocalServer() as server:
        server.routes["/story"] = Reply(headers=HTML, body=article_page("Story", 1))
        server.routes["/feed.xml"] = Reply(headers=RSS, body=rss([item(server.url("/story"), "S")]))
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"f": server.url("/feed.xml")})
        run(feeds_file, db)  # create the warehouse
        server.routes["/feed.xml"] = Reply(
            headers=RSS, body=rss([item(server.url("/story"), "S"), item(server.url("/b"), "B")])
        )
        with AnalystSession(db, read_only=True):  # `duckdb -readonly data/news.duckdb`
            report = run(feeds_file, db)
        assert report.spooled_to is not None
        run(feeds_file, db)
    assert one_value(db, "SELECT count(*) FROM articles") == 2


def test_a_writer_holding_the_file_from_the_start_stops_the_run_before_any_fetch(
    tmp_path, monkeypatch
) -> None:
    from storage import WarehouseLocked

    monkeypatch.setenv("NEWSDESK_LOCK_WAIT", "0.5")
    db = tmp_path / "news.duckdb"
    with LocalServer() as server:
        server.routes["/feed.xml"] = Reply(headers=RSS, body=rss([]))
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"f": server.url("/feed.xml")})
        run(feeds_file, db)
        with AnalystSession(db, read_only=False), pytest.raises(WarehouseLocked):
            run(feeds_file, db)
        assert len(server.requests) == 1  # only the first run's poll


# ---------------------------------------------------------------- pages that fail, then heal

STORY_HEAD = (
    '<meta property="og:type" content="article">'
    '<meta property="article:published_time" content="2026-01-05T08:30:00+01:00">'
    '<meta name="author" content="Jane Smith">'
)


@pytest.fixture
def flaky_site(fast_limits, tmp_path, monkeypatch) -> Iterator[tuple[LocalServer, Path, Path]]:
    """One feed, never changed (every poll after the first is a 304), linking to a page that
    answers 503 once and then works, one that is gone (404), one that is always down (503)."""
    monkeypatch.setenv("NEWSDESK_RETRY_SCHEDULE", "0s,0s")
    with LocalServer() as server:
        story = article_page("Harbour bridge reopens after repairs", 7, head=STORY_HEAD)
        server.routes["/flaky"] = then(Reply(status=503), Reply(headers=HTML, body=story))
        server.routes["/down"] = Reply(status=503)
        items = [
            {**item(server.url(path), title), "pubDate": "Sun, 04 Jan 2026 10:00:00 GMT"}
            for path, title in (("/flaky", "Bridge"), ("/gone", "Gone"), ("/down", "Down"))
        ]
        server.routes["/feed.xml"] = conditional(rss(items), RSS["Content-Type"])
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"site": server.url("/feed.xml")})
        yield server, feeds_file, tmp_path / "news.duckdb"


def test_a_page_that_answers_503_once_is_stored_from_its_page_on_the_next_run(flaky_site):
    server, feeds_file, db = flaky_site
    first = run(feeds_file, db)
    flaky = "SELECT {} FROM articles WHERE url LIKE '%/flaky'"
    before = query(db, flaky.format("article_id, extraction, extraction_error, title"))
    assert first.articles_new == 3
    [(article_id, extraction, error, title)] = before
    assert (extraction, error, title) == ("feed", "HTTP 503", "Bridge")

    second = run(feeds_file, db)

    assert second.feeds[0].status == "not_modified"  # the feed said nothing new
    assert server.paths().count("/flaky") == 2
    assert (second.pages_retried, second.articles_healed) == (2, 1)
    after = query(
        db,
        flaky.format(
            "article_id, extraction, extraction_error, title, published_at, "
            "published_at_source, authors, version, updated_at, story_id, http_status"
        ),
    )
    assert after == [
        (
            article_id,
            "page",
            None,
            "Harbour bridge reopens after repairs",
            datetime(2026, 1, 5, 7, 30, tzinfo=UTC),
            "page",
            ["Jane Smith"],
            1,
            None,
            article_id,
            200,
        )
    ]
    assert one_value(db, "SELECT count(*) FROM articles") == 3
    assert one_value(db, "SELECT count(*) FROM article_versions") == 0
    # The clustering saw the page's text: the article has a sketch of it now.
    assert query(db, "SELECT story_id FROM story_sketches WHERE article_id = ?", [article_id]) == [
        (article_id,)
    ]
    assert query(
        db,
        "SELECT status, attempts, healed_at IS NOT NULL FROM page_retries WHERE article_id = ?",
        [article_id],
    ) == [("healed", 1, True)]
    assert (
        one_value(db, "SELECT articles_healed FROM ingest_runs ORDER BY finished_at DESC LIMIT 1")
        == 1
    )


def test_a_404_is_requested_once_and_a_page_that_keeps_failing_is_given_up(flaky_site):
    server, feeds_file, db = flaky_site
    reports = [run(feeds_file, db) for _ in range(4)]

    paths = server.paths()
    assert paths.count("/gone") == 1  # permanent: never queued
    assert paths.count("/flaky") == 2
    # The first fetch and one per interval of the schedule (two), then no more.
    assert paths.count("/down") == 3
    assert [r.retries_given_up for r in reports] == [0, 0, 1, 0]
    assert reports[3].pages_retried == 0
    assert query(
        db,
        "SELECT url, status, attempts, last_error, next_attempt_at FROM page_retries ORDER BY url",
    ) == [
        (server.url("/down"), "gave_up", 3, "HTTP 503", None),
        (server.url("/flaky"), "healed", 1, "HTTP 503", None),
    ]
    assert query(
        db, "SELECT extraction, extraction_error FROM articles WHERE url LIKE '%/down'"
    ) == [("feed", "HTTP 503")]
    columns, rows = Warehouse(db).feed_health()
    row = dict(zip(columns, rows[0], strict=True))
    assert (row["pages_waiting"], row["pages_given_up"]) == (0, 1)
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "newsdesk"), "pending", "--given-up", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert listed.returncode == 0, listed.stderr
    assert "HTTP 503" in listed.stdout and "/down" in listed.stdout and "1 row" in listed.stdout
