"""The DuckDB warehouse: connection, migrations, and every line of SQL the pipeline runs.

Writes go through `append_batch`, which stores a run's articles, feed sightings, feed states and
run record in one transaction: a crash leaves either all of it or none of it, so a stored ETag
always has its articles stored with it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from storage.migrations import MIGRATIONS
from tasks.models import Article, FeedState, StorySketch


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written; the message says why and where."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """An article seen in a feed: one row of `feed_entries`."""

    feed_name: str
    entry_url: str
    article_id: str
    guid: str | None
    entry_title: str | None
    entry_published_at: datetime | None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of `ingest_runs`."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    feeds_total: int
    feeds_ok: int
    feeds_unchanged: int
    feeds_failed: int
    entries_seen: int
    articles_new: int
    articles_fallback: int
    articles_failed: int
    duration_seconds: float


@dataclass(frozen=True, slots=True)
class KnownUrls:
    """What the warehouse already holds for a set of entry URLs."""

    article_ids: dict[str, str]
    """Entry or article URL -> article_id, for URLs already stored."""
    sightings: frozenset[tuple[str, str]]
    """(feed_name, entry_url) pairs already recorded."""


_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")


@contextmanager
def connect(
    path: Path | str, *, read_only: bool = False, lock_wait_seconds: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, creating it and applying pending migrations when writable.

    Another process holding the file's lock is waited for, up to `lock_wait_seconds`.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no warehouse here yet (run `newsdesk ingest` first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait_seconds
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not any(m in str(exc) for m in _LOCK_MARKERS):
                raise WarehouseError(f"{path}: cannot open warehouse: {exc}") from None
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"{path}: another process holds the warehouse lock "
                    f"(waited {lock_wait_seconds:.0f} s): {exc}"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    try:
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply migrations not yet recorded in `schema_migrations`; return the versions applied."""
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       VARCHAR NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL
        )
        """
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for migration in sorted(MIGRATIONS):
        if migration.version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [migration.version, migration.name, datetime.now(UTC)],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        done.append(migration.version)
    return done


_FEED_COLUMNS = (
    "name, url, etag, last_modified, body_hash, last_polled_at, last_status, last_http_status, "
    "last_error, consecutive_failures, last_success_at, failing_since"
)


def load_feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    """Every feed's stored state, by feed name."""
    rows = con.execute(f"SELECT {_FEED_COLUMNS} FROM feeds").fetchall()
    return {row[0]: FeedState(*row) for row in rows}


def find_known(con: duckdb.DuckDBPyConnection, feed_urls: Iterable[tuple[str, str]]) -> KnownUrls:
    """Look up (feed_name, entry_url) pairs: which URLs are stored and which sightings exist."""
    pairs = sorted(set(feed_urls))
    if not pairs:
        return KnownUrls({}, frozenset())
    candidates = pa.table({"feed_name": [p[0] for p in pairs], "url": [p[1] for p in pairs]})
    con.register("candidates", candidates)
    try:
        sightings = con.execute(
            """
            SELECT c.feed_name, c.url FROM candidates c
            JOIN feed_entries e ON e.feed_name = c.feed_name AND e.entry_url = c.url
            """
        ).fetchall()
        ids = con.execute(
            """
            WITH urls AS (SELECT DISTINCT url FROM candidates)
            SELECT u.url, e.article_id FROM urls u JOIN feed_entries e ON e.entry_url = u.url
            UNION ALL
            SELECT u.url, a.article_id FROM urls u JOIN articles a ON a.url = u.url
            UNION ALL
            SELECT u.url, a.article_id FROM urls u JOIN articles a ON a.canonical_url = u.url
            """
        ).fetchall()
    finally:
        con.unregister("candidates")
    return KnownUrls(
        article_ids={url: article_id for url, article_id in ids},
        sightings=frozenset((feed, url) for feed, url in sightings),
    )


_ARTICLE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("feed_name", pa.string()),
        ("site_name", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("summary", pa.string()),
        ("authors", pa.list_(pa.string())),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("published_at_source", pa.string()),
        ("published_at_precision", pa.string()),
        ("language", pa.string()),
        ("word_count", pa.int32()),
        ("content_hash", pa.string()),
        ("extraction", pa.string()),
        ("extraction_error", pa.string()),
        ("http_status", pa.int32()),
        ("first_seen_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
        ("page_type", pa.string()),
        ("wire_agency", pa.string()),
        ("dateline", pa.string()),
        ("story_id", pa.string()),
        ("published_at_offset_minutes", pa.int32()),
    ]
)

_SIGHTING_SCHEMA = pa.schema(
    [
        ("feed_name", pa.string()),
        ("entry_url", pa.string()),
        ("article_id", pa.string()),
        ("guid", pa.string()),
        ("entry_title", pa.string()),
        ("entry_published_at", pa.timestamp("us", tz="UTC")),
        ("seen_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
    ]
)


_SKETCH_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("story_id", pa.string()),
        ("sketched_at", pa.timestamp("us", tz="UTC")),
        ("minhash", pa.binary()),
    ]
)


def article_row(article: Article, run_id: str, seen_at: datetime) -> dict[str, object]:
    """The one place an `Article` becomes a warehouse row."""
    return {
        "article_id": article.article_id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "feed_name": article.feed_name,
        "site_name": article.site_name,
        "title": article.title,
        "text": article.text,
        "summary": article.summary,
        "authors": list(article.authors),
        "published_at": article.published_at,
        "published_at_source": article.published_at_source,
        "published_at_precision": article.published_at_precision,
        "language": article.language,
        "word_count": article.word_count,
        "content_hash": article.content_hash,
        "extraction": article.extraction,
        "extraction_error": article.extraction_error,
        "http_status": article.http_status,
        "first_seen_at": seen_at,
        "run_id": run_id,
        "page_type": article.page_type,
        "wire_agency": article.wire_agency,
        "dateline": article.dateline,
        "story_id": article.story_id,
        "published_at_offset_minutes": article.published_at_offset_minutes,
    }


def append_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    articles: Sequence[Article],
    sightings: Sequence[Sighting],
    feed_states: Sequence[FeedState],
    run: RunRecord,
    sketches: Sequence[StorySketch] = (),
) -> set[str]:
    """Store a run's results atomically; return the ids of articles that were new.

    `run.articles_new` is filled in from what the insert actually added.

    Articles already stored (same `article_id`) and sightings already recorded are left as they
    are, so replaying a batch changes nothing.
    """
    seen_at = run.finished_at
    staged_articles = pa.Table.from_pylist(
        [article_row(a, run.run_id, seen_at) for a in articles], schema=_ARTICLE_SCHEMA
    )
    staged_sightings = pa.Table.from_pylist(
        [{**asdict(s), "seen_at": seen_at, "run_id": run.run_id} for s in sightings],
        schema=_SIGHTING_SCHEMA,
    )
    con.register("staged_articles", staged_articles)
    con.register("staged_sightings", staged_sightings)
    con.execute("BEGIN TRANSACTION")
    try:
        # Within one batch the same article can arrive twice (two feeds, two entry links);
        # keep the first so the insert below never conflicts with itself.
        inserted = con.execute(
            """
            INSERT INTO articles BY NAME
            SELECT * FROM staged_articles
            QUALIFY row_number() OVER (PARTITION BY article_id) = 1
            ON CONFLICT (article_id) DO NOTHING
            RETURNING article_id
            """
        ).fetchall()
        con.execute(
            """
            INSERT INTO feed_entries BY NAME
            SELECT * FROM staged_sightings
            QUALIFY row_number() OVER (PARTITION BY feed_name, entry_url) = 1
            ON CONFLICT (feed_name, entry_url) DO NOTHING
            """
        )
        if feed_states:
            con.executemany(
                f"""
                INSERT INTO feeds ({_FEED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET
                    url = excluded.url, etag = excluded.etag,
                    last_modified = excluded.last_modified, body_hash = excluded.body_hash,
                    last_polled_at = excluded.last_polled_at, last_status = excluded.last_status,
                    last_http_status = excluded.last_http_status, last_error = excluded.last_error,
                    consecutive_failures = excluded.consecutive_failures,
                    last_success_at = excluded.last_success_at,
                    failing_since = excluded.failing_since
                """,
                [list(asdict(state).values()) for state in feed_states],
            )
        new_ids = {row[0] for row in inserted}
        _insert_sketches(con, [s for s in sketches if s.article_id in new_ids], seen_at)
        run = replace(run, articles_new=len(inserted))
        con.execute(
            "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            list(asdict(run).values()),
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("staged_articles")
        con.unregister("staged_sightings")
    return {row[0] for row in inserted}


def _insert_sketches(
    con: duckdb.DuckDBPyConnection, sketches: Sequence[StorySketch], sketched_at: datetime
) -> None:
    if not sketches:
        return
    staged = pa.Table.from_pylist(
        [
            {
                "article_id": s.article_id,
                "story_id": s.story_id,
                "sketched_at": sketched_at,
                "minhash": s.minhash,
            }
            for s in sketches
        ],
        schema=_SKETCH_SCHEMA,
    )
    con.register("staged_sketches", staged)
    try:
        con.execute(
            "INSERT INTO story_sketches BY NAME SELECT * FROM staged_sketches "
            "ON CONFLICT (article_id) DO NOTHING"
        )
    finally:
        con.unregister("staged_sketches")


def load_recent_sketches(con: duckdb.DuckDBPyConnection, since: datetime) -> list[StorySketch]:
    """Sketches of the articles stored since `since`: what new articles are compared with."""
    rows = con.execute(
        "SELECT article_id, story_id, minhash FROM story_sketches WHERE sketched_at >= ? "
        "ORDER BY sketched_at, article_id",
        [since],
    ).fetchall()
    return [
        StorySketch(article_id, story_id, bytes(minhash)) for article_id, story_id, minhash in rows
    ]


def feed_health(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """Each known feed with its health and the number of articles it brought."""
    cursor = con.execute(
        """
        SELECT f.name AS feed, f.last_status, f.last_http_status AS http, f.last_polled_at,
               f.last_success_at, f.consecutive_failures AS failures,
               coalesce(a.articles, 0) AS articles, f.last_error
        FROM feeds f
        LEFT JOIN (SELECT feed_name, count(*) AS articles FROM articles GROUP BY feed_name) a
               ON a.feed_name = f.name
        ORDER BY f.name
        """
    )
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def run_query(path: Path | str, sql: str) -> tuple[list[str], list[tuple]]:
    """Run one query on a read-only connection; return column names and rows."""
    with connect(path, read_only=True) as con:
        cursor = con.execute(sql)
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()


# --- Prefect tasks: thin wrappers that open the warehouse for one stage each. ---


@task(name="load-feed-states", cache_policy=NO_CACHE, persist_result=False)
def load_feed_states_task(db: Path) -> dict[str, FeedState]:
    with connect(db) as con:
        return load_feed_states(con)


@task(name="find-known-articles", cache_policy=NO_CACHE, persist_result=False)
def find_known_task(db: Path, feed_urls: list[tuple[str, str]]) -> KnownUrls:
    with connect(db) as con:
        return find_known(con, feed_urls)


@task(name="load-recent-stories", cache_policy=NO_CACHE, persist_result=False)
def load_recent_sketches_task(db: Path, since: datetime) -> list[StorySketch]:
    with connect(db) as con:
        return load_recent_sketches(con, since)


@task(name="write-batch", cache_policy=NO_CACHE, persist_result=False)
def append_batch_task(
    db: Path,
    articles: Sequence[Article],
    sightings: Sequence[Sighting],
    feed_states: Sequence[FeedState],
    run: RunRecord,
    sketches: Sequence[StorySketch] = (),
) -> set[str]:
    with connect(db) as con:
        return append_batch(
            con,
            articles=articles,
            sightings=sightings,
            feed_states=feed_states,
            run=run,
            sketches=sketches,
        )


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the write-ahead log into the database file."""
    con.execute("CHECKPOINT")


def export_day(con: duckdb.DuckDBPyConnection, day: date, export_dir: Path) -> tuple[Path, int]:
    """Write the articles first seen on `day` (UTC) to Parquet under
    `export_dir/articles/first_seen_date=YYYY-MM-DD/`, replacing that day's partition.

    Returns the partition directory and the number of rows written. Running it again for the
    same day gives the same files, so a retried or repeated export never duplicates rows.
    """
    root = export_dir / "articles"
    partition = root / f"first_seen_date={day.isoformat()}"
    if partition.exists():
        shutil.rmtree(partition)
    root.mkdir(parents=True, exist_ok=True)
    where = "first_seen_at >= ? AND first_seen_at < ?"
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    bounds = [start, start + timedelta(days=1)]
    (count,) = con.execute(f"SELECT count(*) FROM articles WHERE {where}", bounds).fetchone() or (
        0,
    )
    if count:
        con.execute(
            f"""
            COPY (
                SELECT *, CAST(timezone('UTC', first_seen_at) AS DATE) AS first_seen_date
                FROM articles WHERE {where}
            ) TO '{_sql_string(root)}'
            (FORMAT PARQUET, PARTITION_BY (first_seen_date), OVERWRITE_OR_IGNORE)
            """,
            bounds,
        )
    return partition, int(count)


def _sql_string(path: Path) -> str:
    """A path as the body of a SQL string literal (COPY … TO takes no bound parameter)."""
    return str(path).replace("'", "''")


def failing_feeds(con: duckdb.DuckDBPyConnection, since: datetime) -> list[FeedState]:
    """Feeds that have failed on every poll since `since` or earlier."""
    rows = con.execute(
        f"SELECT {_FEED_COLUMNS} FROM feeds WHERE failing_since <= ? ORDER BY name", [since]
    ).fetchall()
    return [FeedState(*row) for row in rows]


@task(name="maintain-warehouse", cache_policy=NO_CACHE, persist_result=False)
def maintain_task(
    db: Path, day: date, export_dir: Path, failing_since: datetime
) -> tuple[Path, int, list[FeedState]]:
    """Checkpoint, export `day`, and list feeds failing since `failing_since`, in one open."""
    with connect(db) as con:
        checkpoint(con)
        partition, rows = export_day(con, day, export_dir)
        return partition, rows, failing_feeds(con, failing_since)
