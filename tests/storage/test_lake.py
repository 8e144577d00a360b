"""The warehouse as a DuckLake on a SQLite catalog: the same batches, reads and commands as the
file, writers that take turns at committing, time travel and compaction."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from lakes import lake_url, postgres  # noqa: F401

import storage.lake
from harness.cli import NEWSDESK
from storage import Warehouse
from storage.extensions import load_extension
from storage.lake import LakeWarehouse, lake_sql
from storage.migrations import MIGRATIONS
from tasks.models import Article, Batch, FeedState, FeedStatus, RunRecord, Sighting

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def article(n: int, text: str = "Text", at: datetime = NOW) -> Article:
    return Article(
        article_id=f"id{n}",
        url=f"https://news.example/{n}",
        canonical_url=f"https://news.example/{n}",
        feed_name="f",
        title=f"Title {n}",
        text=f"{text} of article {n}",
        summary=None,
        authors=("Jane Doe",),
        published_at=at,
        published_at_source="page",
        published_at_precision="second",
        language="en",
        word_count=4,
        content_hash=f"{text}-{n}",
        extraction="page",
    )


def batch(run_id: str, ns: range, at: datetime = NOW, text: str = "Text", **state) -> Batch:
    return Batch(
        articles=tuple(article(n, text) for n in ns),
        sightings=tuple(
            Sighting("f", f"https://news.example/{n}", f"id{n}", f"g{n}", None, None) for n in ns
        ),
        feed_states=(FeedState("f", "https://news.example/feed", last_polled_at=at, **state),),
        run=RunRecord(run_id, at, at, 1, 1, 0, 0, len(ns), 0, 0, 0, 1.0),
    )


@pytest.fixture
def lake(tmp_path: Path) -> LakeWarehouse:
    wh = Warehouse(f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}")
    assert isinstance(wh, LakeWarehouse)
    wh.prepare()
    return wh


def value(wh: Warehouse, sql: str) -> object:
    return wh.query(sql)[1][0][0]


def test_a_lake_url_gives_a_lake_with_every_migration_and_the_same_columns(lake, tmp_path):
    _, rows = lake.query("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [(m.version, m.name) for m in MIGRATIONS]
    file = Warehouse(tmp_path / "news.duckdb")
    file.prepare()
    columns = (
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name NOT IN ('feed_polls') ORDER BY ALL"
    )
    assert lake.query(columns)[1] == file.query(columns)[1]
    assert "PRIMARY KEY" not in lake_sql(MIGRATIONS[0].sql)


# Storing a batch once, replays and versions: the contract suite, on both catalogs
# (test_warehouse, test_versions_and_spool).


def test_feeds_shows_each_feeds_latest_poll_whatever_order_polls_arrive_in(lake):
    later = NOW + timedelta(minutes=15)
    lake.write(batch("r2", range(1), at=later, etag='"new"'))
    lake.write(batch("r1", range(1), at=NOW, etag='"old"'))
    assert lake.feed_states()["f"].etag == '"new"'
    assert value(lake, "SELECT count(*) FROM feeds") == 1
    assert value(lake, "SELECT count(*) FROM feed_polls") == 2


HOLD_THE_LOCK = """
import sys
from storage.lake import LakeWarehouse, commit_lock
lake = LakeWarehouse(sys.argv[1], data_path=sys.argv[2] or None)
with lake.connect() as con, commit_lock(con, lake.spec, wait=60):
    print("holding", flush=True)
    sys.stdin.read()
"""


def test_writers_take_turns_at_committing_and_a_killed_holder_lets_go(
    lake_url,  # noqa: F811
    tmp_path,
):
    # Another process holds the lake's commit lock (it is mid-commit): a write waits for it,
    # and goes through once that process is killed (the lock dies with its holder).
    import threading

    data_path = "" if "sqlite" in lake_url else f"{tmp_path / 'files'}/"
    lake = LakeWarehouse(lake_url, data_path=data_path or None)
    lake.prepare()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, lake_url, data_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        outcome: list = []
        writer = threading.Thread(target=lambda: outcome.append(lake.write(batch("r1", range(2)))))
        writer.start()
        writer.join(timeout=2)
        assert writer.is_alive() and value(lake, "SELECT count(*) FROM articles") == 0
        holder.kill()
        writer.join()
    finally:
        holder.kill()
        holder.wait()
    assert outcome[0].result.new_ids == {"id0", "id1"}
    assert value(lake, "SELECT count(*) FROM articles") == 2


def test_two_writers_of_the_same_new_articles_at_once_store_each_once(
    lake_url,  # noqa: F811
    tmp_path,
):
    import threading

    data_path = None if "sqlite" in lake_url else f"{tmp_path / 'files'}/"
    lakes = [LakeWarehouse(lake_url, data_path=data_path) for _ in range(2)]
    lakes[0].prepare()
    start = threading.Barrier(2)
    results: list = []

    def write(lake: LakeWarehouse, run_id: str) -> None:
        start.wait()
        results.append(lake.write(batch(run_id, range(20))).result.new_ids)

    threads = [threading.Thread(target=write, args=(lk, f"r{i}")) for i, lk in enumerate(lakes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 20]
    assert value(lakes[0], "SELECT count(*) FROM articles") == 20
    assert value(lakes[0], "SELECT count(DISTINCT article_id) FROM feed_entries") == 20


def test_an_analyst_session_outlives_runs_and_maintenance(
    lake_url,  # noqa: F811
    tmp_path,
):
    # A reader attached as `newsdesk shell` attaches, kept open through three runs' commits
    # and a compaction that merges their files: every query answers, with the latest rows.
    data = None if lake_url.startswith("ducklake:sqlite:") else f"{tmp_path / 'lake-data'}/"
    lake = Warehouse(lake_url, data_path=data)
    lake.write(batch("r0", range(2)))
    reader = duckdb.connect()
    load_extension(reader, "ducklake")
    load_extension(reader, lake_url.split(":")[1])
    reader.execute(f"ATTACH '{lake_url}' AS lake (READ_ONLY)")
    reader.execute("USE lake")
    counts = [reader.execute("SELECT count(*) FROM articles").fetchall()]
    for n in range(1, 4):
        lake.write(batch(f"r{n}", range(2 * n, 2 * n + 2), at=NOW + timedelta(minutes=n)))
        counts.append(reader.execute("SELECT count(*) FROM articles").fetchall())
    lake.compact(keep_snapshots=timedelta(hours=1), file_grace=timedelta(hours=1))
    counts.append(reader.execute("SELECT count(*) FROM articles").fetchall())
    lake.write(batch("r4", range(8, 10), at=NOW + timedelta(minutes=5)))
    counts.append(reader.execute("SELECT count(*) FROM feed_health").fetchall())
    counts.append(reader.execute("SELECT count(*) FROM articles").fetchall())
    reader.close()
    assert counts == [[(2,)], [(4,)], [(6,)], [(8,)], [(8,)], [(1,)], [(10,)]]


def test_a_sqlite_catalog_keeps_a_write_ahead_log_and_an_older_one_is_switched(lake):
    # In SQLite's default journal, a reader's open transaction holds every commit back
    # (tests/flows/test_shell.py has a run beside one); lakes made before kept that journal.
    def journal() -> str:
        with contextlib.closing(sqlite3.connect(lake.path)) as db:
            return db.execute("PRAGMA journal_mode").fetchone()[0]

    assert journal() == "wal"
    lake.close()
    with contextlib.closing(sqlite3.connect(lake.path)) as db:
        db.execute("PRAGMA journal_mode = DELETE")
    assert journal() == "delete"
    lake.write(batch("r1", range(2)))
    assert journal() == "wal"
    assert value(lake, "SELECT count(*) FROM articles") == 2


def test_time_travel_and_the_change_feed_from_the_readme(lake):
    lake.write(batch("r1", range(2)))
    (before,) = lake.query("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')")[1][0]
    lake.write(batch("r2", range(2, 5)))
    assert value(lake, f"SELECT count(*) FROM articles AT (VERSION => {before})") == 2
    _, rows = lake.query(
        f"""
        SET VARIABLE upto = (SELECT id::BIGINT FROM ducklake_current_snapshot('lake'));
        SELECT article_id FROM ducklake_table_changes('lake', 'main', 'articles', {before + 1},
            getvariable('upto'))
        WHERE change_type = 'insert' ORDER BY 1
        """
    )
    assert rows == [("id2",), ("id3",), ("id4",)]


def test_compaction_merges_small_files_and_removes_unused_ones(tmp_path):
    lake = Warehouse(f"ducklake:sqlite:{tmp_path / 'catalog.sqlite'}")
    assert isinstance(lake, LakeWarehouse)
    lake.inline_rows = 0  # every commit a file of its own, as big batches are
    for i in range(4):
        lake.write(batch(f"r{i}", range(3 * i, 3 * i + 3), at=NOW + timedelta(minutes=i)))
    done = lake.compact(keep_snapshots=timedelta(0), file_grace=timedelta(0))
    assert done.files_merged >= 4
    assert done.files_removed >= 4
    assert done.snapshots_expired >= 1
    assert value(lake, "SELECT count(*) FROM articles") == 12
    again = lake.compact(keep_snapshots=timedelta(0), file_grace=timedelta(0))
    assert again.files_merged == 0


def test_compaction_keeps_what_its_windows_keep_and_removes_what_is_past_them(
    lake_url,  # noqa: F811
    tmp_path,
) -> None:
    data = None if lake_url.startswith("ducklake:sqlite:") else f"{tmp_path / 'lake-data'}/"
    lake = Warehouse(lake_url, data_path=data)
    assert isinstance(lake, LakeWarehouse)
    lake.inline_rows = 0
    snapshots = []
    for i in range(4):
        lake.write(batch(f"r{i}", range(3 * i, 3 * i + 3)))
        snapshots.append(int(value(lake, "SELECT id FROM ducklake_current_snapshot('lake')")))
    # The articles' tables (the search index's, rewritten by each write, compact otherwise).
    files = {p.name for p in tmp_path.rglob("*.parquet") if "fts_main_articles" not in p.parts}

    # Merged a moment ago, taken within the hour: kept for readers and for time travel.
    done = lake.compact(keep_snapshots=timedelta(hours=1), file_grace=timedelta(hours=1))
    assert done.files_merged >= 4
    assert (done.snapshots_expired, done.files_removed) == (0, 0)
    assert files <= {p.name for p in tmp_path.rglob("*.parquet")}
    assert value(lake, f"SELECT count(*) FROM articles AT (VERSION => {snapshots[0]})") == 3

    # Two days on for the merged-away files and the first snapshots (times spelled as a SQLite
    # catalog keeps them): they go, and the rest stay.
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    with contextlib.closing(duckdb.connect()) as con:  # the catalog database itself
        load_extension(con, lake.spec.catalog)
        con.execute(f"ATTACH '{lake.spec.target}' AS meta (TYPE {lake.spec.catalog})")
        con.execute(
            "UPDATE meta.ducklake_files_scheduled_for_deletion SET schedule_start = ?",
            [two_days_ago],
        )
        con.execute(
            "UPDATE meta.ducklake_snapshot SET snapshot_time = ? WHERE snapshot_id <= ?",
            [two_days_ago, snapshots[0]],
        )
        (old,) = con.execute(
            "SELECT count(*) FROM meta.ducklake_snapshot WHERE snapshot_id <= ?", [snapshots[0]]
        ).fetchone()
    later = lake.compact(keep_snapshots=timedelta(days=1), file_grace=timedelta(days=1))
    assert later.snapshots_expired == old
    assert later.files_removed == done.files_merged
    assert not files & {p.name for p in tmp_path.rglob("*.parquet")}
    assert value(lake, "SELECT count(*) FROM articles") == 12
    assert value(lake, f"SELECT count(*) FROM articles AT (VERSION => {snapshots[1]})") == 6


def test_a_write_attached_before_maintenance_flushed_is_redone_on_a_fresh_attach(tmp_path):
    # With data inlining on (NEWSDESK_LAKE_INLINE_ROWS; off by default for this very reason).
    lake = LakeWarehouse(f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}", inline_rows=10)
    lake.write(batch("r0", range(3)))  # a small batch: its rows are inlined in the catalog
    tries = []
    # An attach of its own, as another process's would be.
    with contextlib.closing(
        storage.lake._attach(lake.spec, read_only=False, inline_rows=None)
    ) as stale:
        stale.execute("SELECT count(*) FROM articles").fetchall()
        lake.compact(keep_snapshots=timedelta(0), file_grace=timedelta(0))  # flushes them

        def attempt() -> None:
            tries.append(1)
            con = stale if len(tries) == 1 else stack.enter_context(lake.connect())
            # As a batch's write does: read what is stored, then insert.
            con.execute("SELECT count(*) FROM articles").fetchall()
            con.execute("INSERT INTO feed_polls (name, url) VALUES ('g', 'https://news.example/g')")

        with contextlib.ExitStack() as stack:
            lake._retrying(attempt)
    assert len(tries) == 2
    assert value(lake, "SELECT count(*) FROM feeds") == 2
    assert value(lake, "SELECT count(*) FROM articles") == 3


def test_a_process_that_read_a_lake_answers_after_another_process_compacted_it(
    lake_url,  # noqa: F811
    tmp_path,
) -> None:
    # A notebook, or `newsdesk serve`, keeps its lake open between queries; the maintenance
    # flow flushes the inlined rows it read (with inlining on) into Parquet from another
    # process.
    data = None if lake_url.startswith("ducklake:sqlite:") else f"{tmp_path / 'lake-data'}/"
    lake = Warehouse(lake_url, data_path=data, inline_rows=10)
    lake.write(batch("r0", range(3)))  # a small batch: its rows are inlined in the catalog
    assert value(lake, "SELECT count(*) FROM articles") == 3
    compaction = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from datetime import timedelta; from storage import Warehouse; "
            "done = Warehouse(sys.argv[1], data_path=sys.argv[2] or None).compact("
            "keep_snapshots=timedelta(0), file_grace=timedelta(0)); print(done.rows_flushed)",
            lake_url,
            data or "",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert compaction.returncode == 0, compaction.stderr
    assert int(compaction.stdout) > 0
    with lake.connect(read_only=True) as con:  # a notebook's next cell
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (3,)
    assert lake.write(batch("r1", range(3, 5))).result.new_ids == {"id3", "id4"}
    assert value(lake, "SELECT count(*) FROM articles") == 5


def test_a_read_of_a_lake_a_run_is_still_migrating_waits_for_the_migration(
    lake_url,  # noqa: F811
    tmp_path,
) -> None:
    # A run creating a lake commits one migration at a time: an analyst attaching between two
    # commits sees `articles` but not the views a later migration adds.
    data = None if lake_url.startswith("ducklake:sqlite:") else f"{tmp_path / 'lake-data'}/"
    lake = Warehouse(lake_url, data_path=data)
    assert isinstance(lake, LakeWarehouse)
    views = next(m.version for m in MIGRATIONS if "CREATE VIEW feed_health" in m.sql)
    if lake.spec.catalog_path is not None:
        lake.spec.catalog_path.parent.mkdir(parents=True)
    with contextlib.closing(
        storage.lake._attach(lake.spec, read_only=False, inline_rows=None)
    ) as con:
        con.execute(
            "CREATE TABLE schema_migrations "
            "(version INTEGER, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        for migration in MIGRATIONS:
            if migration.version < views:
                con.execute("BEGIN TRANSACTION")
                con.execute(lake_sql(migration.sql))
                con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, now())",
                    [migration.version, migration.name],
                )
                con.execute("COMMIT")
    assert value(lake, "SELECT count(*) FROM articles") == 0
    tries = []

    def read(con: duckdb.DuckDBPyConnection) -> list[tuple]:
        tries.append(1)
        try:
            return con.execute("SELECT count(*) FROM feed_health").fetchall()
        finally:
            if len(tries) == 1:
                lake.prepare(merge=False)  # the run commits the remaining migrations

    assert lake._read(read) == [(0,)]
    assert len(tries) == 2
    # On a migrated lake a table still missing on a fresh attach is the query's own mistake.
    tries.clear()
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        lake._read(lambda con: tries.append(1) or con.execute("SELECT * FROM no_such_table"))
    assert len(tries) == 2


def test_sql_feeds_and_snapshot_commands_read_a_lake(lake, tmp_path):
    lake.write(batch("r1", range(3)))
    db = str(lake)

    def newsdesk(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([NEWSDESK, *args], capture_output=True, text=True, timeout=120)

    sql = newsdesk("sql", "--db", db, "--format", "csv", "SELECT count(*) AS n FROM articles")
    assert sql.returncode == 0, sql.stderr
    assert sql.stdout.split() == ["n", "3"]
    feeds = newsdesk("feeds", "--db", db)
    assert feeds.returncode == 0, feeds.stderr
    assert "f" in feeds.stdout
    bad = newsdesk("sql", "--db", db, "SELEC nonsense")
    assert bad.returncode == 2 and "Parser Error" in bad.stderr
    copy = tmp_path / "copy.duckdb"
    snap = newsdesk("snapshot", "--db", db, str(copy))
    assert snap.returncode == 0, snap.stderr
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM feeds").fetchone() == (1,)


def test_migrate_copies_a_file_warehouse_into_a_lake_and_resumes(tmp_path):
    db = tmp_path / "news.duckdb"
    file = Warehouse(db)
    file.write(batch("r1", range(5)))
    file.write(batch("r2", range(3, 8), NOW + timedelta(hours=1), text="Edited"))
    judged = NOW + timedelta(hours=1)
    file.record_feed_status(
        [FeedStatus("f", "silent", "nothing new", NOW, 7.0, 0, "silent", judged, judged, "r2")]
    )
    url = f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"

    def migrate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [NEWSDESK, "migrate", "--to", url, "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = migrate()
    assert first.returncode == 0, first.stderr
    assert "every count matches" in first.stdout
    lake = Warehouse(url)
    tables = ("articles", "article_versions", "feed_entries", "ingest_runs", "feeds", "feed_status")
    for table in tables:
        sql = f"SELECT * FROM {table} ORDER BY ALL"
        assert lake.query(sql) == file.query(sql), table
    # Run again (as after an interruption): nothing is copied twice.
    again = migrate()
    assert again.returncode == 0, again.stderr
    assert "already there" in again.stdout and "copied" not in again.stdout
    assert lake.query("SELECT count(*) FROM articles")[1] == [(8,)]
    # A lake that runs already wrote to is not mixed with another warehouse.
    other = tmp_path / "other.duckdb"
    Warehouse(other).write(batch("r9", range(20, 22)))
    refused = subprocess.run(
        [NEWSDESK, "migrate", "--to", url, "--db", str(other)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 1 and "migrate into a new lake" in refused.stderr


def test_many_workers_opening_a_new_postgresql_catalog_lake_at_once_all_get_in(
    request, tmp_path
) -> None:
    """Eight workers start on a new PostgreSQL-catalog lake at once: one creates and
    migrates it, the others wait for the commit lock and find it migrated."""
    import threading

    server = request.getfixturevalue("postgres")
    dsn = server.create_database(f"lake_{tmp_path.name.lower().replace('-', '_')}")
    ready = threading.Barrier(8)
    failures: list[BaseException] = []

    def open_lake() -> None:
        try:
            lake = LakeWarehouse(f"ducklake:postgres:{dsn}", data_path=f"{tmp_path}/files/")
            ready.wait()
            lake.prepare()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_lake) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
