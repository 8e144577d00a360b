"""The warehouse on a real DuckDB file: migrations, idempotent atomic batches, lookups."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from storage.migrations import MIGRATIONS
from storage.warehouse import (
    RunRecord,
    Sighting,
    WarehouseError,
    append_batch,
    connect,
    find_known,
    load_feed_states,
    load_recent_sketches,
    run_query,
)
from tasks.models import Article, FeedState, StorySketch

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def article(n: int, feed: str = "f") -> Article:
    return Article(
        article_id=f"id{n}",
        url=f"https://news.example/{n}",
        canonical_url=f"https://news.example/{n}",
        feed_name=feed,
        title=f"Title {n}",
        text=f"Text of article {n}",
        summary=None,
        authors=("Jane Doe", "John Roe"),
        published_at=datetime(2025, 12, 31, 23, 59, tzinfo=UTC),
        published_at_source="page",
        published_at_precision="second",
        language="en",
        word_count=4,
        content_hash=f"h{n}",
        extraction="page",
    )


def sighting(n: int, feed: str = "f") -> Sighting:
    return Sighting(feed, f"https://news.example/{n}", f"id{n}", f"guid{n}", f"Title {n}", None)


def run(run_id: str = "r1") -> RunRecord:
    return RunRecord(run_id, NOW, NOW, 1, 1, 0, 0, 2, 0, 0, 0, 1.5)


def test_a_new_warehouse_has_every_migration_recorded(tmp_path):
    db = tmp_path / "sub" / "news.duckdb"
    with connect(db):
        pass
    _, rows = run_query(db, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [(m.version, m.name) for m in MIGRATIONS]
    with connect(db):  # reopening applies nothing twice
        pass
    assert run_query(db, "SELECT count(*) FROM schema_migrations")[1] == [(len(MIGRATIONS),)]


def test_append_is_idempotent_and_reports_only_new_articles(tmp_path):
    db = tmp_path / "news.duckdb"
    state = FeedState("f", "https://news.example/feed", etag='"v1"', last_success_at=NOW)
    with connect(db) as con:
        new = append_batch(
            con,
            articles=[article(1), article(2), article(1)],
            sightings=[sighting(1), sighting(2)],
            feed_states=[state],
            run=run("r1"),
        )
        assert new.new_ids == {"id1", "id2"}
        again = append_batch(
            con,
            articles=[article(1), article(2)],
            sightings=[sighting(1), sighting(2)],
            feed_states=[replace(state, etag='"v2"')],
            run=run("r2"),
        )
        assert again.new_ids == set() and again.updated_ids == set()
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM feed_entries").fetchone() == (2,)
        assert load_feed_states(con)["f"].etag == '"v2"'
        runs = con.execute(
            "SELECT run_id, articles_new FROM ingest_runs ORDER BY run_id"
        ).fetchall()
        assert runs == [("r1", 2), ("r2", 0)]
        row = con.execute(
            "SELECT authors, published_at FROM articles WHERE article_id = 'id1'"
        ).fetchone()
        assert row == (["Jane Doe", "John Roe"], datetime(2025, 12, 31, 23, 59, tzinfo=UTC))


def test_a_failing_batch_leaves_nothing_behind(tmp_path):
    db = tmp_path / "news.duckdb"
    with connect(db) as con:
        bad_state = FeedState("f", None)  # type: ignore[arg-type]  # url is NOT NULL
        with pytest.raises(duckdb.ConstraintException):
            append_batch(
                con,
                articles=[article(1)],
                sightings=[sighting(1)],
                feed_states=[bad_state],
                run=run(),
            )
        counts = con.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM feed_entries), "
            "(SELECT count(*) FROM feeds), (SELECT count(*) FROM ingest_runs)"
        ).fetchone()
    assert counts == (0, 0, 0, 0)


def test_known_urls_and_sightings_are_found(tmp_path):
    db = tmp_path / "news.duckdb"
    with connect(db) as con:
        append_batch(con, articles=[article(1)], sightings=[sighting(1)], feed_states=[], run=run())
        known = find_known(
            con,
            [
                ("f", "https://news.example/1"),
                ("g", "https://news.example/1"),
                ("g", "https://x/9"),
            ],
        )
    assert known.article_ids == {"https://news.example/1": "id1"}
    assert known.sightings == {("f", "https://news.example/1")}


def test_reading_a_missing_warehouse_says_where(tmp_path):
    with pytest.raises(WarehouseError, match="no warehouse here yet"):
        run_query(tmp_path / "none.duckdb", "SELECT 1")


def test_read_only_queries_cannot_write(tmp_path):
    db = tmp_path / "news.duckdb"
    with connect(db):
        pass
    with pytest.raises(duckdb.Error):
        run_query(db, "DELETE FROM articles")


def test_a_writer_waits_for_a_lock_then_gives_a_clear_error(tmp_path):
    db = tmp_path / "news.duckdb"
    with connect(db):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ok', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with (
            pytest.raises(WarehouseError, match="another process holds the warehouse lock"),
            connect(db, lock_wait_seconds=0.5),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with connect(db, lock_wait_seconds=5):  # free again
        pass


def test_story_sketches_are_stored_with_new_articles_and_read_back_by_window(tmp_path):
    db = tmp_path / "news.duckdb"
    sketch_1 = StorySketch("id1", "id1", b"\x01" * 512)
    with connect(db) as con:
        append_batch(
            con,
            articles=[replace(article(1), story_id="id1", wire_agency="AP", dateline="KYIV")],
            sightings=[sighting(1)],
            feed_states=[],
            run=run("r1"),
            sketches=[sketch_1],
        )
        # Replayed: the article is not new, so neither is its sketch (nor a different one).
        append_batch(
            con,
            articles=[article(1)],
            sightings=[],
            feed_states=[],
            run=run("r2"),
            sketches=[StorySketch("id1", "other", b"\x02" * 512)],
        )
        assert load_recent_sketches(con, NOW - timedelta(days=1)) == [sketch_1]
        assert load_recent_sketches(con, NOW + timedelta(seconds=1)) == []
        row = con.execute("SELECT story_id, wire_agency, dateline FROM articles").fetchone()
    assert row == ("id1", "AP", "KYIV")


def test_a_warehouse_from_before_migration_3_is_upgraded_in_place(tmp_path):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(MIGRATIONS[0].sql)
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL)"
    )
    con.execute("INSERT INTO schema_migrations VALUES (1, 'initial schema', now())")
    con.execute(
        "INSERT INTO articles (article_id, url, canonical_url, feed_name, text, authors, "
        "word_count, content_hash, extraction, first_seen_at, run_id) VALUES "
        "('old', 'u', 'u', 'f', 'text', [], 1, 'h', 'page', now(), 'r0')"
    )
    con.close()
    with connect(db) as con:
        row = con.execute(
            "SELECT text, page_type, wire_agency, dateline, story_id, published_at_offset_minutes "
            "FROM articles"
        ).fetchone()
        assert row == ("text", None, None, None, None, None)
        append_batch(con, articles=[article(2)], sightings=[], feed_states=[], run=run())
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (2,)
