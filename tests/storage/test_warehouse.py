"""The warehouse through its `Warehouse` handle on every backend (`lakes.backend`: a DuckDB file,
a SQLite- and a PostgreSQL-catalog lake): idempotent atomic batches, lookups, exports; and the
DuckDB file's own migrations from the schemas of older releases."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from lakes import Backend, backend, on, postgres  # noqa: F401

from storage import Warehouse, WarehouseError, connect
from storage.connection import migrate
from storage.migrations import MIGRATIONS
from storage.reads import find_known
from storage.schemas import stage_batch
from storage.writer import append_batch
from tasks.models import Article, Batch, FeedState, RunRecord, Sighting, StorySketch

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


# The contract runs on every backend where a PostgreSQL catalog stores or fails differently
# from a SQLite one (creation, types of inlined rows, a rolled-back batch, a missing lake), on
# the file and a SQLite lake elsewhere. Tests of the file's own format (older releases' files)
# take no backend: they build DuckDB files themselves.
LOCAL = on("file", "sqlite-lake")


@pytest.fixture
def db(backend: Backend) -> Warehouse:  # noqa: F811
    """A new warehouse on each backend."""
    return backend.warehouse()


FIRST_RUN = run()


def write(db: Warehouse, articles=(), sightings=(), feed_states=(), run=FIRST_RUN, sketches=()):
    batch = Batch(tuple(articles), tuple(sightings), tuple(feed_states), run, tuple(sketches))
    return db.write(batch).result


def test_a_new_warehouse_has_every_migration_recorded(backend):  # noqa: F811
    db = backend.warehouse(fresh=True)
    db.prepare()  # in a folder of its own, made for it
    _, rows = db.query("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [(m.version, m.name) for m in MIGRATIONS]
    db.prepare()  # reopening applies nothing twice
    assert db.query("SELECT count(*) FROM schema_migrations")[1] == [(len(MIGRATIONS),)]


def test_append_is_idempotent_and_reports_only_new_articles(db):
    # Polled as every run's states are: a lake's `feeds` shows a feed's latest poll by
    # `last_polled_at`, and picks any of two polls without one (or at the same moment).
    state = FeedState(
        "f", "https://news.example/feed", etag='"v1"', last_polled_at=NOW, last_success_at=NOW
    )
    new = write(
        db,
        articles=[article(1), article(2), article(1)],
        sightings=[sighting(1), sighting(2)],
        feed_states=[state],
        run=run("r1"),
    )
    assert new.new_ids == {"id1", "id2"}
    again = write(
        db,
        articles=[article(1), article(2)],
        sightings=[sighting(1), sighting(2)],
        feed_states=[replace(state, etag='"v2"', last_polled_at=NOW + timedelta(hours=1))],
        run=run("r2"),
    )
    assert again.new_ids == set() and again.updated_ids == set()
    assert db.query("SELECT count(*) FROM articles")[1] == [(2,)]
    assert db.query("SELECT count(*) FROM feed_entries")[1] == [(2,)]
    assert db.feed_states()["f"].etag == '"v2"'
    runs = db.query("SELECT run_id, articles_new FROM ingest_runs ORDER BY run_id")[1]
    assert runs == [("r1", 2), ("r2", 0)]
    row = db.query("SELECT authors, published_at FROM articles WHERE article_id = 'id1'")[1]
    assert row == [(["Jane Doe", "John Roe"], datetime(2025, 12, 31, 23, 59, tzinfo=UTC))]


def test_a_failing_batch_leaves_nothing_behind(db):
    bad_state = FeedState("f", None)  # type: ignore[arg-type]  # url is NOT NULL
    with pytest.raises(duckdb.ConstraintException):
        write(db, articles=[article(1)], sightings=[sighting(1)], feed_states=[bad_state])
    counts = db.query(
        "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM feed_entries), "
        "(SELECT count(*) FROM feeds), (SELECT count(*) FROM ingest_runs)"
    )[1]
    assert counts == [(0, 0, 0, 0)]


@LOCAL
def test_known_urls_and_sightings_are_found(db):
    write(db, articles=[article(1)], sightings=[sighting(1)])
    known = db.find_known(
        [
            ("f", "https://news.example/1"),
            ("g", "https://news.example/1"),
            ("g", "https://x/9"),
        ],
    )
    assert known.article_ids == {"https://news.example/1": "id1"}
    assert known.sightings == {("f", "https://news.example/1")}


def test_reading_a_missing_warehouse_says_where(backend):  # noqa: F811
    db = backend.warehouse(fresh=True)
    with pytest.raises(WarehouseError, match=f"{re.escape(str(db))}: no (warehouse|lake) here yet"):
        db.query("SELECT 1")


@LOCAL
def test_read_only_queries_cannot_write(db):
    db.prepare()
    with pytest.raises(duckdb.Error):
        db.query("DELETE FROM articles")


def test_a_writer_waits_for_a_lock_then_gives_a_clear_error(db):
    if not db.readers_block_writers:
        pytest.skip("a lake's readers never block it: its writers wait only for a commit")
    db.prepare()
    db = db.path
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


@LOCAL
def test_story_sketches_are_stored_with_new_articles_and_read_back_by_window(db):
    sketch_1 = StorySketch("id1", "id1", b"\x01" * 512)
    write(
        db,
        articles=[replace(article(1), story_id="id1", wire_agency="AP", dateline="KYIV")],
        sightings=[sighting(1)],
        run=run("r1"),
        sketches=[sketch_1],
    )
    # Replayed: the article is not new, so neither is its sketch (nor a different one).
    write(
        db,
        articles=[article(1)],
        run=run("r2"),
        sketches=[StorySketch("id1", "other", b"\x02" * 512)],
    )
    assert db.recent_sketches(NOW - timedelta(days=1)) == [sketch_1]
    assert db.recent_sketches(NOW + timedelta(seconds=1)) == []
    row = db.query("SELECT story_id, wire_agency, dateline FROM articles")[1]
    assert row == [("id1", "AP", "KYIV")]


# ---------------------------------------------------------------- a file of an older release
# These build DuckDB files as earlier releases left them (the keyed tables of migrations 1-5,
# rows without later columns) and check the file's migrations: a lake began at the current
# schema (its copy of a file is `newsdesk migrate`'s, in test_lake).


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


def keyed_warehouse(db, versions=(1, 2, 3, 5)) -> duckdb.DuckDBPyConnection:
    """A warehouse as an older release left it: these migrations applied the way `migrate`
    applies them, the tables still with their PRIMARY KEYs."""
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL)"
    )
    for migration in MIGRATIONS:
        if migration.version in versions:
            con.execute("BEGIN TRANSACTION")
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now())",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
    return con


def schema(db) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT table_name, sql FROM duckdb_tables() ORDER BY table_name"
        ).fetchall()


def test_every_path_to_the_current_schema_ends_at_the_same_tables(tmp_path):
    fresh, from_1, from_5, from_unkeyed = (
        tmp_path / "fresh.duckdb",
        tmp_path / "v1.duckdb",
        tmp_path / "v5.duckdb",
        tmp_path / "v1-5.duckdb",
    )
    with connect(fresh):
        pass
    with keyed_warehouse(from_1, versions=(1,)) as con:
        assert migrate(con) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    with keyed_warehouse(from_5) as con:
        assert migrate(con) == [
            4,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
        ]  # 4, lower than the highest applied, still applied
    with keyed_warehouse(from_unkeyed, versions=(1, 2, 3, 4, 5)) as con:
        assert migrate(con) == [6, 7, 8, 9, 10, 11, 12]

    for upgraded in (from_1, from_5, from_unkeyed):
        assert schema(upgraded) == schema(fresh)
    _, keyed = Warehouse(fresh).query(
        "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
        "ORDER BY ALL",
    )
    assert keyed == [("article_versions",), ("feeds",), ("ingest_runs",), ("schema_migrations",)]


def write_as_an_older_release(
    con: duckdb.DuckDBPyConnection,
    *,
    articles: list[Article],
    sightings: list[Sighting],
    feed_states: list[FeedState],
    run: RunRecord,
    sketches: tuple[StorySketch, ...] | list[StorySketch] = (),
) -> None:
    """Store a batch the way a release before migration 6 did: the staged rows as they are,
    without lookup keys."""
    staged_articles, staged_sightings = stage_batch(articles, sightings, run)
    # Migration 11's column came later still.
    con.register("old_articles", staged_articles.drop_columns(["text_partial"]))
    con.register("old_sightings", staged_sightings)
    con.execute("INSERT INTO articles BY NAME SELECT * FROM old_articles")
    con.execute("INSERT INTO feed_entries BY NAME SELECT * FROM old_sightings")
    for sketch in sketches:
        con.execute(
            "INSERT INTO story_sketches VALUES (?, ?, ?, ?)",
            [sketch.article_id, sketch.story_id, run.finished_at, sketch.minhash],
        )
    for state in feed_states:
        # Migration 8's columns came later still.
        old = {
            k: v for k, v in asdict(state).items() if k not in ("poll_interval_seconds", "due_at")
        }
        insert_row(con, "feeds", old)
    # The run counters of the retry queue (migration 9) came later still.
    record = {k: v for k, v in asdict(run).items() if k not in ("pages_retried", "articles_healed")}
    insert_row(con, "ingest_runs", {**record, "written_at": run.finished_at})


def insert_row(con: duckdb.DuckDBPyConnection, table: str, row: dict[str, object]) -> None:
    marks = ", ".join("?" * len(row))
    con.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", list(row.values()))


def contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every row, without the lookup keys, feed intervals, retry counters and partial flags
    (which older warehouses do not have)."""
    tables = ("articles", "feed_entries", "story_sketches", "feeds", "ingest_runs")
    later = (
        "['pages_retried', 'articles_healed', 'poll_interval_seconds', 'due_at', 'text_partial']"
    )
    return {
        t: con.execute(
            f"SELECT COLUMNS(lambda c: NOT suffix(c, '_key') AND NOT list_contains({later}, c)) "
            f"FROM {t} ORDER BY ALL"
        ).fetchall()
        for t in tables
    }


def test_a_keyed_warehouse_keeps_its_rows_and_replays_still_insert_nothing_twice(tmp_path):
    db = tmp_path / "old.duckdb"
    con = keyed_warehouse(db)
    state = FeedState("f", "https://news.example/feed", etag='"v1"', last_polled_at=NOW)
    batch = {
        "articles": [article(1), article(2)],
        "sightings": [sighting(1), sighting(2), sighting(2, feed="g")],
        "feed_states": [state],
        "sketches": [StorySketch("id1", "id1", b"\x01" * 512)],
    }
    write_as_an_older_release(con, **batch, run=run("r1"))
    before = contents(con)
    con.close()

    with connect(db) as con:
        assert contents(con) == before
        assert con.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall() == [
            (m.version,) for m in MIGRATIONS
        ]

        again = append_batch(con, **batch, run=run("r1"))
        assert (again.new_ids, again.updated_ids) == (set(), set())
        more = append_batch(
            con,
            articles=[article(2), article(3)],
            sightings=[sighting(2), sighting(3), sighting(3)],
            feed_states=[],
            run=run("r2"),
            sketches=[StorySketch("id1", "x", b"\x02" * 512), StorySketch("id3", "id3", b"")],
        )
        assert more.new_ids == {"id3"}
        counts = con.execute(
            "SELECT (SELECT count(*) FROM articles), "
            "(SELECT count(DISTINCT article_id) FROM articles), "
            "(SELECT count(*) FROM feed_entries), "
            "(SELECT count(DISTINCT (feed_name, entry_url)) FROM feed_entries), "
            "(SELECT count(*) FROM story_sketches), (SELECT count(*) FROM ingest_runs)"
        ).fetchone()
    assert counts == (3, 3, 4, 4, 2, 2)


@LOCAL
def test_urls_are_known_by_entry_link_article_url_and_canonical_url_and_guids_alone(db):
    moved = replace(article(1), url="https://news.example/1?page=1")
    write(
        db,
        articles=[moved, article(2)],
        sightings=[Sighting("f", "https://feed.example/1", "id1", "g1", None, None)],
    )
    known = db.find_known(
        [
            ("f", "https://feed.example/1"),
            ("f", "https://news.example/1?page=1"),
            ("f", "https://news.example/1"),
            ("f", "https://news.example/2"),
        ],
    )
    by_guid = db.find_known([], [("f", "g1"), ("g", "g1")])
    assert known.article_ids == {
        "https://feed.example/1": "id1",
        "https://news.example/1?page=1": "id1",
        "https://news.example/1": "id1",
        "https://news.example/2": "id2",
    }
    assert known.sightings == {("f", "https://feed.example/1")}
    assert by_guid.guids == {("f", "g1"): "id1"} and by_guid.article_ids == {}


def key(text: str) -> int:
    """A lookup key as migration 6 defines it, computed independently of the SQL."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def test_a_warehouse_from_before_migration_6_gets_lookup_keys_and_is_found_by_them(tmp_path):
    db = tmp_path / "v5.duckdb"
    moved = replace(article(1), url="https://news.example/1?page=1")
    con = keyed_warehouse(db, versions=(1, 2, 3, 4, 5))
    write_as_an_older_release(
        con,
        articles=[moved, article(2)],
        sightings=[
            Sighting("f", "https://feed.example/1", "id1", "g1", None, None),
            sighting(2),
            Sighting("g", "https://news.example/2", "id2", None, None, None),
        ],
        feed_states=[],
        run=run(),
        sketches=[StorySketch("id1", "id1", b"\x01" * 512)],
    )
    con.close()

    with connect(db) as con:
        articles = con.execute(
            "SELECT article_id, url, canonical_url, article_id_key, url_key, canonical_url_key "
            "FROM articles"
        ).fetchall()
        entries = con.execute(
            "SELECT feed_name, entry_url, guid, entry_url_key, guid_key FROM feed_entries"
        ).fetchall()
        sketches = con.execute("SELECT article_id, article_id_key FROM story_sketches").fetchall()
        known = find_known(
            con,
            [
                ("f", "https://feed.example/1"),
                ("f", "https://news.example/1?page=1"),
                ("f", "https://news.example/1"),
                ("g", "https://news.example/2"),
            ],
            [("f", "g1"), ("f", "guid2"), ("g", "guid2")],
        )
        replay = append_batch(
            con,
            articles=[moved, article(2)],
            sightings=[sighting(2)],
            feed_states=[],
            run=run("r2"),
            sketches=[StorySketch("id1", "id1", b"\x01" * 512)],
        )
        counts = con.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM feed_entries), "
            "(SELECT count(*) FROM story_sketches)"
        ).fetchone()

    assert len(articles) == 2 and len(entries) == 3
    for article_id, url, canonical_url, *keys in articles:
        assert keys == [key(article_id), key(url), key(canonical_url)]
    for feed, url, guid, url_key, guid_key in entries:
        assert url_key == key(url)
        assert guid_key == (None if guid is None else key(f"{feed}\0{guid}"))
    assert sketches == [("id1", key("id1"))]
    assert known.article_ids == {
        "https://feed.example/1": "id1",
        "https://news.example/1?page=1": "id1",
        "https://news.example/1": "id1",
        "https://news.example/2": "id2",
    }
    assert known.sightings == {("f", "https://feed.example/1"), ("g", "https://news.example/2")}
    assert known.guids == {("f", "g1"): "id1", ("f", "guid2"): "id2"}
    assert (replay.new_ids, replay.updated_ids) == (set(), set())
    assert counts == (2, 3, 1)


@LOCAL
def test_texts_whose_lookup_keys_collide_are_never_confused(db):
    first, second = article(1), article(2)
    write(
        db,
        articles=[first],
        sightings=[sighting(1)],
        run=run("r1"),
        sketches=[StorySketch("id1", "id1", b"\x01" * 512)],
    )
    # Article 1's rows forged to carry the keys of article 2's id, URL and guid.
    with db.connect() as con:
        con.execute(
            "UPDATE articles SET article_id_key = ?, url_key = ?, canonical_url_key = ?",
            [key("id2"), key(second.url), key(second.url)],
        )
        con.execute(
            "UPDATE feed_entries SET entry_url_key = ?, guid_key = ?",
            [key(second.url), key("f\0guid2")],
        )
        con.execute("UPDATE story_sketches SET article_id_key = ?", [key("id2")])

    before = db.find_known([("f", second.url)], [("f", "guid2")])
    added = write(
        db,
        articles=[second],
        sightings=[replace(sighting(2), entry_hash="h2")],
        run=run("r2"),
        sketches=[StorySketch("id2", "id2", b"\x02" * 512)],
    )
    edited = write(
        db,
        articles=[replace(second, text="Edited text", content_hash="h2b")],
        run=replace(run("r3"), finished_at=NOW + timedelta(hours=1)),
    )
    after = db.find_known([("f", second.url)], [("f", "guid2")])
    _, articles = db.query(
        "SELECT article_id, url, text, version FROM articles ORDER BY article_id"
    )
    _, entries = db.query(
        "SELECT entry_url, article_id, guid, entry_hash FROM feed_entries ORDER BY ALL"
    )
    _, sketches = db.query("SELECT article_id, story_id FROM story_sketches ORDER BY ALL")

    assert (before.article_ids, before.sightings, before.guids) == ({}, frozenset(), {})
    assert (added.new_ids, edited.updated_ids) == ({"id2"}, {"id2"})
    assert after.article_ids == {second.url: "id2"}
    assert after.guids == {("f", "guid2"): "id2"}
    assert articles == [
        ("id1", first.url, first.text, 1),
        ("id2", second.url, "Edited text", 2),
    ]
    assert entries == [
        (first.url, "id1", "guid1", None),
        (second.url, "id2", "guid2", "h2"),
    ]
    assert sketches == [("id1", "id1"), ("id2", "id2")]


@LOCAL
def test_the_daily_export_leaves_the_lookup_keys_behind(db, tmp_path):
    write(db, articles=[article(1)])
    partition, count, _ = db.maintain(NOW.date(), tmp_path / "export", NOW)
    exported = duckdb.sql(
        f"SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('{partition}/*.parquet'))"
    ).fetchall()
    _, stored = db.query(
        "SELECT column_name FROM (DESCRIBE articles) WHERE NOT suffix(column_name, '_key')"
    )
    assert count == 1
    assert exported == [*stored, ("first_seen_date",)]  # the partition, from the path


@LOCAL
def test_an_article_that_cannot_be_stored_costs_only_itself(db):
    """If a value slips past the models' guard, the write stores the rest of the batch and
    reports the article; its entry is not recorded as seen, so a later run tries it again."""
    db.prepare()
    broken = article(2, feed="g")
    object.__setattr__(broken, "title", "Jane \udc00 Doe")  # past `__post_init__`'s guard
    batch = Batch(
        articles=(article(1), broken, article(3)),
        sightings=(sighting(1), sighting(2, feed="g"), sighting(3)),
        feed_states=(),
        run=run(),
    )
    outcome = db.write(batch)
    assert outcome.result.new_ids == {"id1", "id3"}
    [rejected] = outcome.rejected
    assert (rejected.feed_name, rejected.url) == ("g", "https://news.example/2")
    assert "UnicodeEncodeError" in rejected.reason
    assert db.query("SELECT article_id FROM articles ORDER BY 1")[1] == [("id1",), ("id3",)]
    assert db.query("SELECT count(*) FROM feed_entries WHERE feed_name = 'g'")[1] == [(0,)]
    assert db.query("SELECT articles_failed FROM ingest_runs")[1] == [(1,)]
