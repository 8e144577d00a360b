"""`Warehouse`: the one way into the DuckDB warehouse, from the flow, a script or a notebook.

    from storage import Warehouse
    wh = Warehouse("data/news.duckdb")
    columns, rows = wh.query("SELECT title FROM articles LIMIT 5")

Each call opens the file for what it does and closes it again, so a run never holds the lock
between its stages and an analyst's reads only briefly share it. Writes go through `write`: the
batch in one transaction (`storage.writer`), or, when another process holds the file past
`lock_wait` seconds, to the spool for the next writer to merge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import ClassVar, TypeVar

import duckdb

from storage import export, reads, search, writer
from storage.connection import WarehouseLocked, connect
from storage.extensions import ExtensionMissing
from storage.migrations import MIGRATIONS
from storage.schemas import writable
from storage.search import IndexState, SearchHit
from tasks.models import (
    Batch,
    BatchResult,
    FeedEntry,
    FeedHistory,
    FeedState,
    FeedStatus,
    KnownUrls,
    PageRetry,
    RunRecord,
    StoredState,
    StorySketch,
    WriteOutcome,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Compaction:
    """What one compaction of a lake did."""

    rows_flushed: int
    """Inlined rows (kept in the catalog) written out to Parquet."""
    files_merged: int
    """Small data files rewritten into fewer, larger ones …"""
    files_created: int
    """… these."""
    snapshots_expired: int
    files_removed: int
    """Files no live snapshot reads any more, deleted from the data path."""
    live_files: int


class Warehouse:
    """The warehouse file at `path`; `lock_wait` seconds of patience with another process.

    A `ducklake:` URL instead of a path gives the lake (`storage.lake.LakeWarehouse`), with
    the same methods; `data_path` and `inline_rows` are its options (see `LakeWarehouse`),
    which a file has no use for. What one backend can do and the other cannot is declared
    once, below, for flows and the CLI to ask.
    """

    compacts: ClassVar[bool] = False
    """`compact` merges small files and expires old snapshots (a lake's maintenance); a file
    is checkpointed by `maintain` instead."""
    readers_block_writers: ClassVar[bool] = True
    """An open reader (an analyst's `duckdb` session) keeps runs from writing: their batches
    wait in the spool (`storage.spool`) until the next writer that gets the lock."""

    def __new__(cls, path: Path | str, *args: object, **kwargs: object) -> Warehouse:
        if cls is Warehouse and str(path).startswith("ducklake:"):
            from storage.lake import LakeWarehouse

            return super().__new__(LakeWarehouse)
        return super().__new__(cls)

    def __init__(
        self,
        path: Path | str,
        *,
        lock_wait: float = 30.0,
        data_path: str | None = None,
        inline_rows: int | None = 0,
    ) -> None:
        self.path = Path(path)
        self.lock_wait = lock_wait

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    @property
    def export_root(self) -> Path:
        """Where maintenance exports go by default: beside the file."""
        return self.path.parent

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection (migrated first when writable), closed on leaving."""
        with connect(self.path, read_only=read_only, lock_wait_seconds=self.lock_wait) as con:
            yield con

    def close(self) -> None:
        """Close what stays open between calls: nothing, for a file (a lake keeps one DuckDB
        instance per process)."""

    def _read(self, read: Callable[[duckdb.DuckDBPyConnection], T], *, user_sql: bool = False) -> T:
        """`read` on a read-only connection: every reading method goes through here. A
        backend may serve the pipeline's own reads from a writable connection it keeps open;
        `user_sql` (a query someone typed) always gets one that refuses writes."""
        with self.connect(read_only=True) as con:
            return read(con)

    def prepare(self, *, merge: bool = True) -> tuple[RunRecord, ...]:
        """Create or migrate the warehouse and merge spooled batches (unless `merge` is off, as
        in a dry run); return the runs merged.

        When another process holds the lock the spool waits for a later run; the caller goes
        on (its reads need only a shared lock) as long as the schema is current.
        """
        try:
            with self.connect() as con:
                return tuple(writer.merge_spool(con, self.path)) if merge else ()
        except WarehouseLocked:
            if not self.path.exists():
                raise
            with connect(self.path, read_only=True, lock_wait_seconds=0) as con:
                rows = con.execute("SELECT version FROM schema_migrations").fetchall()
            # Every version, not the highest: 4 shipped after 5 and may still be missing.
            if {m.version for m in MIGRATIONS} - {version for (version,) in rows}:
                raise
            return ()

    def feed_states(self) -> dict[str, FeedState]:
        """Every feed's stored state, by feed name."""
        return self._read(reads.load_feed_states)

    def find_known(
        self, feed_urls: Iterable[tuple[str, str]], feed_guids: Iterable[tuple[str, str]] = ()
    ) -> KnownUrls:
        """What is stored for these (feed, entry URL) and (feed, guid) pairs."""
        pairs, guids = list(feed_urls), list(feed_guids)
        return self._read(lambda con: reads.find_known(con, pairs, guids))

    def recent_sketches(self, since: datetime) -> list[StorySketch]:
        """Story sketches of the articles stored since `since`."""
        return self._read(lambda con: reads.load_recent_sketches(con, since))

    def load_state(self, *, stories_since: datetime, now: datetime) -> StoredState:
        """Feed states, recent story sketches and the pages due for another fetch, in one
        read-only open."""
        return self._read(
            lambda con: StoredState(
                reads.load_feed_states(con),
                reads.load_recent_sketches(con, stories_since),
                reads.load_due_retries(con, now),
            )
        )

    def due_retries(self, now: datetime) -> list[tuple[FeedEntry, PageRetry]]:
        """Pages of articles stored from their feed's text that are due for another fetch."""
        return self._read(lambda con: reads.load_due_retries(con, now))

    def pending_pages(self, *, given_up: bool = False) -> tuple[list[str], list[tuple]]:
        """Articles whose page waits for another fetch (or, with `given_up`, was given up)."""
        return self._read(lambda con: reads.pending_pages(con, given_up))

    def write(self, batch: Batch) -> WriteOutcome:
        """Write the batch, after any spooled ones; spool it if the lock stays taken. An
        article whose row cannot be built is left out and reported (`schemas.writable`)."""
        batch, rejected = writable(batch)
        try:
            with self.connect() as con:
                merged = tuple(writer.merge_spool(con, self.path))
                result = writer.write_batch(con, _counting_own(batch, merged))
                index_error = update_search(con, result)
                return WriteOutcome(
                    result, merged=merged, index_error=index_error, rejected=rejected
                )
        except WarehouseLocked as exc:
            path = writer.spool_batch(self.path, batch)
            return WriteOutcome(
                BatchResult(set(), set()), spooled_to=path, lock_error=str(exc), rejected=rejected
            )

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run one query on a read-only connection; return column names and rows."""
        return self._read(lambda con: reads.rows_of(con, sql), user_sql=True)

    def feed_health(self) -> tuple[list[str], list[tuple]]:
        """Each known feed with its health and the number of articles it brought."""
        return self._read(reads.feed_health)

    def feed_judgement_inputs(
        self,
        names: Iterable[str],
        *,
        since: datetime,
        pages_since: datetime,
        pages: int,
    ) -> tuple[dict[str, FeedHistory], dict[str, FeedStatus]]:
        """The histories of the feeds `names` (see `reads.feed_histories`) and their latest
        `feed_status` rows, from one read-only open."""
        wanted = sorted(set(names))
        return self._read(
            lambda con: (
                reads.feed_histories(con, wanted, since, pages_since, pages),
                reads.load_feed_statuses(con, wanted),
            )
        )

    def record_feed_status(self, rows: Sequence[FeedStatus]) -> int:
        """Append feeds' new `feed_status` rows (see `writer.record_feed_status`)."""
        if not rows:
            return 0
        with self.connect() as con:
            return writer.record_feed_status(con, rows)

    def status_changes(self, since: datetime) -> tuple[list[str], list[tuple]]:
        """Feeds whose status changed from `since` on (see `reads.status_changes`)."""
        return self._read(lambda con: reads.status_changes(con, since))

    def search(
        self,
        query: str,
        *,
        since: datetime | None = None,
        language: str | None = None,
        feed: str | None = None,
        limit: int = 20,
        snippet_width: int = 160,
    ) -> tuple[list[SearchHit], IndexState]:
        """The best `limit` articles for `query` (see `storage.search`), and what the index
        covers, from one read-only open."""

        def find(con: duckdb.DuckDBPyConnection) -> tuple[list[SearchHit], IndexState]:
            hits = search.search(
                con,
                query,
                since=since,
                language=language,
                feed=feed,
                limit=limit,
                snippet_width=snippet_width,
            )
            return hits, search.index_state(con)

        return self._read(find)

    def snapshot(self, target: Path | str) -> None:
        """Copy the warehouse consistently to `target`, for analyses that never block a run."""
        export.snapshot(self.path, target)

    def maintain(
        self, day: date, export_dir: Path, failing_since: datetime
    ) -> tuple[Path, int, list[FeedState]]:
        """Catch the search index up, checkpoint, export `day` to Parquet, and list feeds
        failing since `failing_since`, in one open."""
        with self.connect() as con:
            # Whatever a run's index step left out (it failed, or was killed) is added here.
            search.index_articles(con, set(), thorough=True)
            export.checkpoint(con)
            partition, rows = export.export_day(con, day, export_dir)
            return partition, rows, reads.failing_feeds(con, failing_since)

    def compact(self, *, keep_snapshots: timedelta, file_grace: timedelta) -> Compaction | None:
        """Compact a lake (see `compacts`); a file has nothing of the kind: None."""
        return None


def update_search(con: duckdb.DuckDBPyConnection, result: BatchResult) -> str | None:
    """Add the batch's articles to the search index once it committed; a failure here costs
    search freshness only, never the batch."""
    try:
        # A healed article's page text replaced its feed text: the index must read it again.
        search.index_articles(con, result.new_ids | result.updated_ids | result.healed_ids)
    except (duckdb.Error, ExtensionMissing) as exc:
        return str(exc)
    return None


def _counting_own(batch: Batch, merged: Sequence[RunRecord]) -> Batch:
    """`batch`, whose run record also counts the run's own earlier batches merged from the
    spool just now (they were spooled behind a lock, so the run could not count them)."""
    own = [r for r in merged if r.run_id == batch.run.run_id]
    if not own or not batch.last:
        return batch
    run = replace(
        batch.run,
        articles_new=batch.run.articles_new + sum(r.articles_new for r in own),
        articles_updated=batch.run.articles_updated + sum(r.articles_updated for r in own),
        articles_healed=batch.run.articles_healed + sum(r.articles_healed for r in own),
    )
    return replace(batch, run=run)
