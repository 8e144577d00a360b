"""Article versions, idempotent replays, the retry queue and the spool, through the `Warehouse`
handle on every backend (`lakes.backend`: a DuckDB file, a SQLite- and a PostgreSQL-catalog
lake); the spool on real DuckDB files with a real second process holding the lock."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from lakes import Backend, backend, on, postgres  # noqa: F401

from harness.analyst import AnalystSession
from storage import Warehouse, spool
from tasks.models import (
    Article,
    Batch,
    EntryFingerprint,
    FeedState,
    PageRetry,
    RunRecord,
    Sighting,
    StorySketch,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def article(n: int, text: str = "First text", **changes) -> Article:
    base = Article(
        article_id=f"id{n}",
        url=f"https://news.example/{n}",
        canonical_url=f"https://news.example/{n}",
        feed_name="f",
        title=f"Title {n}",
        text=text,
        summary=None,
        authors=("Jane Doe",),
        published_at=T0 - timedelta(days=1),
        published_at_source="page",
        published_at_precision="second",
        language="en",
        word_count=len(text.split()),
        content_hash=f"hash:{text}",
        extraction="page",
    )
    return replace(base, **changes)


def sighting(n: int, entry_hash: str | None = "h1", guid: str | None = None) -> Sighting:
    return Sighting(
        "f", f"https://news.example/{n}", f"id{n}", guid or f"guid{n}", f"Title {n}", None,
        entry_updated_at=None, entry_hash=entry_hash,
    )  # fmt: skip


def run(run_id: str, at: datetime) -> RunRecord:
    return RunRecord(run_id, at, at, 1, 1, 0, 0, 1, 0, 0, 0, 1.0)


# Every test runs on every backend, the PostgreSQL lake's only for the write, version, heal,
# retry queue and snapshot contract, where its catalog stores and updates rows differently; the
# rest on the file and a SQLite lake (`LOCAL`).
LOCAL = on("file", "sqlite-lake")


@pytest.fixture
def db(backend: Backend) -> Warehouse:  # noqa: F811
    """A new warehouse on each backend."""
    return backend.warehouse()


def write(db: Warehouse, at: datetime, run_id: str, articles=(), sightings=(), states=()):
    return db.write(Batch(tuple(articles), tuple(sightings), tuple(states), run(run_id, at))).result


def rows(db: Warehouse, sql: str) -> list[tuple]:
    return db.query(sql)[1]


def spooling(db: Warehouse) -> Path:
    """The file of a warehouse that spools (see `Warehouse.readers_block_writers`)."""
    if not db.readers_block_writers:
        pytest.skip("a lake has no spool: readers never block it")
    return db.path


# ---------------------------------------------------------------- versions


def test_an_edited_article_is_updated_and_its_previous_version_kept(db: Warehouse) -> None:
    write(db, T0, "r1", [article(1)], [sighting(1)])
    corrected = article(1, text="Corrected text", title="Title 1 (corrected)")
    result = write(db, T0 + timedelta(hours=2), "r2", [corrected])

    assert result.updated_ids == {"id1"} and result.new_ids == set()
    assert rows(
        db, "SELECT text, title, version, updated_at, first_seen_at, run_id FROM articles"
    ) == [("Corrected text", "Title 1 (corrected)", 2, T0 + timedelta(hours=2), T0, "r1")]
    assert rows(
        db,
        "SELECT article_id, version, text, title, stored_at, superseded_at, superseded_by_run_id "
        "FROM article_versions",
    ) == [("id1", 1, "First text", "Title 1", T0, T0 + timedelta(hours=2), "r2")]
    assert rows(db, "SELECT articles_updated FROM ingest_runs WHERE run_id = 'r2'") == [(1,)]

    third = write(db, T0 + timedelta(hours=5), "r3", [article(1, text="Third text")])
    assert third.updated_ids == {"id1"}
    assert rows(db, "SELECT version, text FROM article_versions ORDER BY version") == [
        (1, "First text"),
        (2, "Corrected text"),
    ]
    assert rows(db, "SELECT version, text FROM articles") == [(3, "Third text")]


@LOCAL
def test_an_unchanged_redelivery_changes_nothing(db: Warehouse) -> None:
    write(db, T0, "r1", [article(1)], [sighting(1)])
    before = rows(db, "SELECT * FROM articles")

    result = write(db, T0 + timedelta(hours=1), "r2", [article(1)], [sighting(1)])

    assert (result.new_ids, result.updated_ids) == (set(), set())
    assert rows(db, "SELECT * FROM articles") == before
    assert rows(db, "SELECT count(*) FROM article_versions") == [(0,)]
    assert rows(db, "SELECT run_id FROM feed_entries") == [("r1",)]


@LOCAL
def test_a_recorded_sighting_keeps_its_first_run_and_takes_the_new_fingerprint(
    db: Warehouse,
) -> None:
    write(db, T0, "r1", [article(1)], [sighting(1, "h1")])
    edited = replace(sighting(1, "h2"), entry_updated_at=T0 + timedelta(hours=1))
    write(db, T0 + timedelta(hours=1), "r2", [], [edited])
    write(db, T0 + timedelta(hours=2), "r3", [], [sighting(1, None)])  # no fingerprint: kept

    assert rows(db, "SELECT run_id, seen_at, entry_updated_at, entry_hash FROM feed_entries") == [
        ("r1", T0, T0 + timedelta(hours=1), "h2")
    ]


@LOCAL
def test_feed_text_never_replaces_page_text(db: Warehouse) -> None:
    write(db, T0, "r1", [article(1)])
    failed_page = article(1, text="Summary from the feed", extraction="feed")

    result = write(db, T0 + timedelta(hours=1), "r2", [failed_page])

    assert result.updated_ids == set()
    assert rows(db, "SELECT text, extraction FROM articles") == [("First text", "page")]


def test_page_text_replaces_feed_text_in_place_without_a_version(db: Warehouse) -> None:
    write(db, T0, "r1", [article(1, text="Feed summary", extraction="feed")])

    result = write(db, T0 + timedelta(hours=1), "r2", [article(1, text="The whole page text")])

    assert (result.healed_ids, result.updated_ids) == ({"id1"}, set())
    assert rows(db, "SELECT text, extraction, version, updated_at FROM articles") == [
        ("The whole page text", "page", 1, None)
    ]
    assert rows(db, "SELECT count(*) FROM article_versions") == [(0,)]
    assert rows(db, "SELECT articles_healed FROM ingest_runs WHERE run_id = 'r2'") == [(1,)]


@LOCAL
def test_an_older_batch_never_rolls_back_a_newer_version(db: Warehouse) -> None:
    write(db, T0, "r1", [article(1)])
    write(db, T0 + timedelta(hours=3), "r3", [article(1, text="Newest text")])

    # A batch fetched in between, merged from the spool only now.
    result = write(db, T0 + timedelta(hours=2), "r2", [article(1, text="Middle text")])

    assert result.updated_ids == set()
    assert rows(db, "SELECT text, version FROM articles") == [("Newest text", 2)]


def test_a_feed_state_is_not_replaced_by_an_older_poll(db: Warehouse) -> None:
    newer = FeedState("f", "https://news.example/feed", etag='"new"', last_polled_at=T0)
    older = replace(newer, etag='"old"', last_polled_at=T0 - timedelta(hours=1))
    write(db, T0, "r2", states=[newer])
    write(db, T0 - timedelta(hours=1), "r1", states=[older])

    assert db.feed_states()["f"].etag == '"new"'


# ---------------------------------------------------------------- lookups


@LOCAL
def test_fingerprints_and_guids_of_recorded_sightings_are_found(db: Warehouse) -> None:
    write(
        db,
        T0,
        "r1",
        [article(1), article(2), article(3)],
        [sighting(1, "h1"), sighting(2, None, guid="shared"), sighting(3, None, guid="shared")],
    )
    known = db.find_known(
        [("f", "https://news.example/1")],
        [("f", "guid1"), ("f", "shared"), ("g", "guid1")],
    )

    assert known.fingerprints == {("f", "https://news.example/1"): EntryFingerprint(None, "h1")}
    # "shared" names two articles: not an identity.
    assert known.guids == {("f", "guid1"): "id1"}


# ---------------------------------------------------------------- the spool
# A file's batches wait in the spool while another process holds it; a lake has none (readers
# never block its writers), so these tests skip there (`spooling`).


def test_a_locked_warehouse_spools_the_batch_and_the_next_run_merges_it(db: Warehouse) -> None:
    path = spooling(db)
    write(db, T0, "r0", [article(1)], [sighting(1)])
    state = FeedState("f", "https://news.example/feed", etag='"v2"', last_polled_at=T0)

    with AnalystSession(path, read_only=False):
        outcome = Warehouse(path, lock_wait=0.5).write(
            Batch(
                (article(2), article(1, text="Edited")),
                (sighting(2),),
                (state,),
                run("r1", T0 + timedelta(hours=1)),
            )
        )
        assert outcome.spooled_to is not None
        assert (
            outcome.lock_error and "another process holds the warehouse lock" in outcome.lock_error
        )
        assert spool.pending(path) == [outcome.spooled_to]
        assert outcome.spooled_to.parent == path.parent / "spool" / "news"

    merged = Warehouse(path, lock_wait=5).prepare()

    assert [(r.run_id, r.articles_new, r.articles_updated) for r in merged] == [("r1", 1, 1)]
    assert spool.pending(path) == []
    assert rows(db, "SELECT article_id, text FROM articles ORDER BY 1") == [
        ("id1", "Edited"),
        ("id2", "First text"),
    ]
    assert rows(db, "SELECT etag FROM feeds") == [('"v2"',)]
    assert rows(db, "SELECT run_id FROM ingest_runs ORDER BY 1") == [("r0",), ("r1",)]


def test_a_spooled_batch_merged_twice_changes_nothing(db: Warehouse) -> None:
    # A crash after the merge commits but before the directory is deleted replays it.
    path = spooling(db)
    write(db, T0, "r0")
    with AnalystSession(path, read_only=False):
        outcome = Warehouse(path, lock_wait=0.2).write(
            Batch((article(1),), (sighting(1),), (), run("r1", T0 + timedelta(hours=1)))
        )
    assert outcome.spooled_to is not None
    keep = path.parent / "kept"
    shutil.copytree(outcome.spooled_to, keep)
    Warehouse(path, lock_wait=5).prepare()
    before = rows(db, "SELECT * FROM articles")

    shutil.copytree(keep, outcome.spooled_to)
    merged = Warehouse(path, lock_wait=5).prepare()

    assert [(r.articles_new, r.articles_updated) for r in merged] == [(0, 0)]
    assert rows(db, "SELECT * FROM articles") == before
    assert rows(db, "SELECT count(*) FROM ingest_runs") == [(2,)]


def test_the_batches_of_a_run_record_the_run_once_with_their_sum(db: Warehouse) -> None:
    # An earlier batch spooled behind the lock, the last one written: the run is recorded by
    # its last batch, with what both inserted, and its feed state stored with it.
    path = spooling(db)
    write(db, T0, "r0")
    at = T0 + timedelta(hours=1)
    state = FeedState("f", "https://news.example/feed", etag='"v2"', last_polled_at=at)
    with AnalystSession(path, read_only=False):
        first = Warehouse(path, lock_wait=0.2).write(
            Batch((article(1),), (sighting(1),), (), run("r1", at), last=False)
        )
    assert first.spooled_to is not None
    last = Warehouse(path, lock_wait=5).write(
        Batch((article(2),), (sighting(2),), (state,), replace(run("r1", at), articles_new=0))
    )

    assert [r.run_id for r in last.merged] == ["r1"] and last.result.new_ids == {"id2"}
    assert rows(db, "SELECT run_id, articles_new FROM ingest_runs ORDER BY run_id") == [
        ("r0", 0),
        ("r1", 2),
    ]
    assert rows(db, "SELECT count(*) FROM articles") == [(2,)]
    assert rows(db, "SELECT etag FROM feeds") == [('"v2"',)]


@LOCAL
def test_the_batches_of_a_run_record_the_run_once_with_their_sum_without_the_spool(
    db: Warehouse,
) -> None:
    # The same without the spool: an earlier batch gives its articles their run only, the
    # last one records the run, with what it counted, and the feed state.
    at = T0 + timedelta(hours=1)
    state = FeedState("f", "https://news.example/feed", etag='"v2"', last_polled_at=at)
    first = db.write(Batch((article(1),), (sighting(1),), (), run("r1", at), last=False))
    assert rows(db, "SELECT count(*) FROM ingest_runs") == [(0,)]
    last = db.write(
        Batch((article(2),), (sighting(2),), (state,), replace(run("r1", at), articles_new=1))
    )

    assert (first.result.new_ids, last.result.new_ids) == ({"id1"}, {"id2"})
    assert rows(db, "SELECT run_id, articles_new FROM ingest_runs") == [("r1", 2)]
    assert rows(db, "SELECT article_id, run_id FROM articles ORDER BY 1") == [
        ("id1", "r1"),
        ("id2", "r1"),
    ]
    assert rows(db, "SELECT etag FROM feeds") == [('"v2"',)]


def test_a_half_written_spool_directory_is_ignored(db: Warehouse) -> None:
    path = spooling(db)
    write(db, T0, "r0")
    partial = spool.spool_dir(path) / ".20260301T090000000000-r9.partial"
    partial.mkdir(parents=True)
    (partial / "articles.parquet").write_bytes(b"PAR1 truncated")

    assert Warehouse(path, lock_wait=5).prepare() == ()
    assert partial.exists()  # a live process may still be writing it


def test_reads_go_on_while_a_reader_holds_the_file_and_writes_spool(db: Warehouse) -> None:
    path = spooling(db)
    write(db, T0, "r0", [article(1)], [sighting(1)])
    with AnalystSession(path, read_only=True):
        assert Warehouse(path, lock_wait=0.2).prepare() == ()  # cannot merge, can go on
        assert "f" not in Warehouse(path, lock_wait=1).feed_states()
        outcome = Warehouse(path, lock_wait=0.2).write(
            Batch((article(2),), (sighting(2),), (), run("r1", T0 + timedelta(hours=1)))
        )
        assert outcome.spooled_to is not None


def test_a_snapshot_is_a_consistent_copy_that_locks_nothing(db: Warehouse, tmp_path: Path) -> None:
    write(db, T0, "r0", [article(1), article(2)], [sighting(1)])
    copy = tmp_path / "copy.duckdb"

    db.snapshot(copy)

    with duckdb.connect(str(copy)) as analyst:  # read-write, held open
        assert analyst.execute("SELECT count(*) FROM articles").fetchone() == (2,)
        write(db, T0 + timedelta(hours=1), "r1", [article(3)])  # the writer is not blocked
    assert rows(db, "SELECT count(*) FROM articles") == [(3,)]


def test_an_unreadable_spooled_batch_is_set_aside_and_blocks_nothing(db: Warehouse) -> None:
    path = spooling(db)
    write(db, T0, "r0")
    damaged = spool.spool_dir(path) / "20260301T090000000000-r9"
    damaged.mkdir(parents=True)
    (damaged / "articles.parquet").write_bytes(b"not parquet at all")

    assert Warehouse(path, lock_wait=5).prepare() == ()
    assert spool.pending(path) == []
    assert (damaged.parent / f".{damaged.name}.unreadable").is_dir()


# ---------------------------------------------------------------- the retry queue


def queued(n: int, at: datetime, **changes) -> PageRetry:
    base = PageRetry(
        f"id{n}", "f", f"https://news.example/{n}", 1, "HTTP 503", at, at, at + timedelta(hours=1)
    )
    return replace(base, **changes)


def test_a_queue_row_is_added_only_with_its_article_and_a_replay_changes_nothing(
    db: Warehouse,
) -> None:
    write(db, T0, "r0", [article(2)])
    fallback = article(1, text="Teaser", extraction="feed", extraction_error="HTTP 503")
    # id2 is stored already (from its page): a failure of another link to it queues nothing.
    batch = Batch(
        (fallback, article(2)), (), (), run("r1", T0), retries=(queued(1, T0), queued(2, T0))
    )
    for _ in range(2):
        db.write(batch)

    assert rows(db, "SELECT article_id, status, attempts FROM page_retries") == [
        ("id1", "waiting", 1)
    ]


def test_a_later_attempt_moves_the_row_and_an_older_one_never_rolls_it_back(
    db: Warehouse,
) -> None:
    fallback = article(1, text="Teaser", extraction="feed", extraction_error="HTTP 503")
    db.write(Batch((fallback,), (), (), run("r1", T0), retries=(queued(1, T0),)))
    later = T0 + timedelta(hours=2)
    second = queued(1, T0, attempts=2, last_attempt_at=later, next_attempt_at=later)
    db.write(Batch((), (), (), run("r2", later), retries=(second,)))
    # A batch of the first attempt, merged from the spool only now.
    db.write(Batch((), (), (), run("r1b", T0), retries=(queued(1, T0),)))

    assert rows(db, "SELECT attempts, last_attempt_at FROM page_retries") == [(2, later)]


@LOCAL
def test_a_queued_page_is_due_after_its_wait(db: Warehouse) -> None:
    fallback = article(1, text="Teaser", extraction="feed", extraction_error="HTTP 503")
    db.write(Batch((fallback,), (), (), run("r1", T0), retries=(queued(1, T0),)))

    due = db.due_retries(T0 + timedelta(hours=1))
    assert [(entry.url, entry.content, retry.attempts) for entry, retry in due] == [
        ("https://news.example/1", "Teaser", 1)
    ]
    assert db.due_retries(T0) == []
    columns, pending = db.pending_pages()
    assert [dict(zip(columns, row, strict=True))["url"] for row in pending] == [
        "https://news.example/1"
    ]


def test_the_queue_waits_in_the_spool_with_its_batch(db: Warehouse) -> None:
    path = spooling(db)
    write(db, T0, "r0")
    fallback = article(1, text="Teaser", extraction="feed", extraction_error="HTTP 503")
    with AnalystSession(path, read_only=False):
        outcome = Warehouse(path, lock_wait=0.2).write(
            Batch((fallback,), (), (), run("r1", T0), retries=(queued(1, T0),))
        )
    assert outcome.spooled_to is not None

    Warehouse(path, lock_wait=5).prepare()

    assert rows(db, "SELECT article_id, status FROM page_retries") == [("id1", "waiting")]
    due = db.due_retries(T0 + timedelta(hours=1))
    assert [(entry.url, entry.content, retry.attempts) for entry, retry in due] == [
        ("https://news.example/1", "Teaser", 1)
    ]
    assert db.due_retries(T0) == []


def test_a_heal_replaces_the_feed_text_sketch_and_marks_the_queue_row(db: Warehouse) -> None:
    fallback = article(1, text="Teaser", extraction="feed", extraction_error="HTTP 503")
    db.write(
        Batch(
            (fallback,),
            (),
            (),
            run("r1", T0),
            (StorySketch("id1", "id1", b"\x01" * 512),),
            (queued(1, T0),),
        )
    )
    later = T0 + timedelta(hours=1)
    healed = article(1, text="The whole page text", story_id="story-x")
    outcome = db.write(
        Batch((healed,), (), (), run("r2", later), (StorySketch("id1", "story-x", b"\x02" * 512),))
    )

    assert outcome.result.healed_ids == {"id1"}
    assert rows(db, "SELECT story_id, minhash[1:1] FROM story_sketches") == [("story-x", b"\x02")]
    assert rows(db, "SELECT story_id, version FROM articles") == [("story-x", 1)]
    assert rows(db, "SELECT status, healed_at FROM page_retries") == [("healed", later)]
    assert db.pending_pages()[1] == []


def test_a_batch_spooled_before_text_partial_existed_is_merged_with_it_unknown(
    db: Warehouse,
) -> None:
    path = spooling(db)
    write(db, T0, "r0")
    with AnalystSession(path, read_only=False):
        outcome = Warehouse(path, lock_wait=0.2).write(
            Batch((article(1),), (sighting(1),), (), run("r1", T0 + timedelta(hours=1)))
        )
    assert outcome.spooled_to is not None
    # What an earlier release spooled: the same rows without the column migration 11 added.
    spooled = outcome.spooled_to / "articles.parquet"
    pq.write_table(pq.read_table(spooled).drop_columns(["text_partial"]), spooled)

    merged = Warehouse(path, lock_wait=5).prepare()

    assert [r.articles_new for r in merged] == [1]
    assert rows(db, "SELECT article_id, text_partial FROM articles") == [("id1", None)]
