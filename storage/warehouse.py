"""The DuckDB warehouse: connection, migrations, and every line of SQL the pipeline runs.

Writes go through `append_batch`, which stores a run's articles, feed sightings, feed states and
run record in one transaction: a crash leaves either all of it or none of it, so a stored ETag
always has its articles stored with it. An article that is already stored and comes back with
another text is updated in that transaction, its previous version moved to `article_versions`.

When another process holds the file for longer than the run may wait, the batch goes to the
spool (`storage/spool.py`) instead, and the next run that gets the lock merges it first.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import search, spool
from storage.extensions import ExtensionMissing
from storage.migrations import GUID_KEY_TEXT, MIGRATIONS
from storage.migrations import lookup_key as _key
from tasks.models import Article, EntryFingerprint, FeedEntry, FeedState, StorySketch
from tasks.run.plan import entry_fingerprint


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written; the message says why and where."""


class WarehouseLocked(WarehouseError):
    """Another process held the warehouse's lock for longer than we were willing to wait."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """An article seen in a feed: one row of `feed_entries`."""

    feed_name: str
    entry_url: str
    article_id: str
    guid: str | None
    entry_title: str | None
    entry_published_at: datetime | None
    entry_updated_at: datetime | None = None
    entry_hash: str | None = None
    """With `entry_updated_at`, the entry's fingerprint: a later sighting that differs from it
    is an edit (see `tasks.run.plan`)."""

    @classmethod
    def of(cls, entry: FeedEntry, article_id: str) -> Sighting:
        """The sighting of `entry`, which led to the article `article_id`."""
        return cls(
            feed_name=entry.feed_name,
            entry_url=entry.url,
            article_id=article_id,
            guid=entry.guid,
            entry_title=entry.title,
            entry_published_at=entry.published_at,
            entry_updated_at=entry.updated_at,
            entry_hash=entry_fingerprint(entry).content_hash,
        )


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
    feeds_backoff: int = 0
    articles_updated: int = 0


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What `append_batch` changed."""

    new_ids: set[str]
    """Articles inserted."""
    updated_ids: set[str]
    """Articles whose text or title changed; their previous version is in article_versions."""


@dataclass(frozen=True, slots=True)
class KnownUrls:
    """What the warehouse already holds for a set of entry URLs."""

    article_ids: dict[str, str]
    """Entry or article URL -> article_id, for URLs already stored."""
    sightings: frozenset[tuple[str, str]]
    """(feed_name, entry_url) pairs already recorded."""
    fingerprints: dict[tuple[str, str], EntryFingerprint] = field(default_factory=dict)
    """(feed_name, entry_url) -> what that feed said about the entry when it was recorded."""
    guids: dict[tuple[str, str], str] = field(default_factory=dict)
    """(feed_name, guid) -> article_id, for guids of the candidates already recorded."""


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
                raise WarehouseLocked(
                    f"{path}: another process holds the warehouse lock "
                    f"(waited {lock_wait_seconds:.0f} s): {exc}"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    try:
        # A long statement (a migration on a big warehouse) would draw DuckDB's progress bar
        # over our own output.
        con.execute("SET enable_progress_bar = false")
        if not read_only:
            migrate(con)
        yield con
    finally:
        # Closing a writer checkpoints: the write-ahead log is folded into the file. Since
        # migration 4 that costs about the same in a big warehouse as in an empty one, so it
        # stays. Skipping it (`disable_checkpoint_on_shutdown`) would make every later open,
        # read-only ones too, replay the log (about 7 ms more per 1,000-article batch held in
        # it at 1M articles), and the checkpoint would still come, in whichever run's commit
        # crosses the log size threshold.
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


# The `feeds` columns a `FeedState` maps to, in its field order (rows are built with asdict).
_FEED_FIELDS = tuple(f.name for f in fields(FeedState))
_FEED_COLUMNS = ", ".join(_FEED_FIELDS)


def load_feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    """Every feed's stored state, by feed name."""
    rows = con.execute(f"SELECT {_FEED_COLUMNS} FROM feeds").fetchall()
    return {row[0]: FeedState(*row) for row in rows}


def find_known(
    con: duckdb.DuckDBPyConnection,
    feed_urls: Iterable[tuple[str, str]],
    feed_guids: Iterable[tuple[str, str]] = (),
) -> KnownUrls:
    """Look up (feed_name, entry_url) pairs: which URLs are stored, which sightings exist and
    what they recorded, and which of the (feed_name, guid) pairs are already known."""
    pairs = sorted(set(feed_urls))
    guid_pairs = sorted(set(feed_guids))
    if not pairs and not guid_pairs:
        return KnownUrls({}, frozenset())
    candidates = pa.table({"feed_name": [p[0] for p in pairs], "url": [p[1] for p in pairs]})
    guids = pa.table({"feed_name": [p[0] for p in guid_pairs], "guid": [p[1] for p in guid_pairs]})
    con.register("candidates", candidates)
    con.register("candidate_guids", guids)
    try:
        # No key index to probe: each big table's integer lookup keys (migration 6) are
        # scanned once for the row ids of the candidates' keys, and just those rows are then
        # read in full. A key shared by two texts brings a row whose text matches no candidate;
        # the loops below compare the texts themselves and pass over it.
        entries = con.execute(
            f"""
            SELECT feed_name, entry_url, guid, article_id, entry_updated_at, entry_hash
            FROM feed_entries WHERE rowid IN (
                SELECT rowid FROM feed_entries
                WHERE entry_url_key IN (SELECT {_key("url")} FROM candidates)
                   OR guid_key IN (SELECT {_key(GUID_KEY_TEXT)} FROM candidate_guids)
            )
            """
        ).fetchall()
        article_rows = con.execute(
            f"""
            SELECT url, canonical_url, article_id FROM articles WHERE rowid IN (
                SELECT rowid FROM articles
                WHERE url_key IN (SELECT {_key("url")} FROM candidates)
                   OR canonical_url_key IN (SELECT {_key("url")} FROM candidates)
            )
            """
        ).fetchall()
    finally:
        con.unregister("candidates")
        con.unregister("candidate_guids")
    wanted_pairs, wanted_guids = set(pairs), set(guid_pairs)
    urls = {url for _, url in pairs}
    article_ids: dict[str, str] = {}
    fingerprints = {}
    guid_articles: dict[tuple[str, str], set[str]] = {}
    for feed, url, guid, key, updated, entry_hash in entries:
        if url in urls:
            article_ids[url] = key
        if (feed, url) in wanted_pairs:
            fingerprints[(feed, url)] = EntryFingerprint(updated, entry_hash)
        if (feed, guid) in wanted_guids:
            guid_articles.setdefault((feed, guid), set()).add(key)
    # A stored article's own URLs win over the links that led to it; its canonical URL last.
    for url, _, key in article_rows:
        if url in urls:
            article_ids[url] = key
    for _, canonical_url, key in article_rows:
        if canonical_url in urls:
            article_ids[canonical_url] = key
    return KnownUrls(
        article_ids=article_ids,
        sightings=frozenset(fingerprints),
        fingerprints=fingerprints,
        # A guid recorded for two different articles of one feed is not an identity.
        guids={pair: keys.pop() for pair, keys in guid_articles.items() if len(keys) == 1},
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
        ("version", pa.int32()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_FEED_TYPES = {
    "last_polled_at": _TIMESTAMP,
    "last_success_at": _TIMESTAMP,
    "failing_since": _TIMESTAMP,
    "next_poll_at": _TIMESTAMP,
    "last_http_status": pa.int32(),
    "consecutive_failures": pa.int32(),
}
_FEED_SCHEMA = pa.schema([(name, _FEED_TYPES.get(name, pa.string())) for name in _FEED_FIELDS])

_SIGHTING_SCHEMA = pa.schema(
    [
        ("feed_name", pa.string()),
        ("entry_url", pa.string()),
        ("article_id", pa.string()),
        ("guid", pa.string()),
        ("entry_title", pa.string()),
        ("entry_published_at", pa.timestamp("us", tz="UTC")),
        ("entry_updated_at", pa.timestamp("us", tz="UTC")),
        ("entry_hash", pa.string()),
        ("seen_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
    ]
)
_FEED_STATE_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("url", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("body_hash", pa.string()),
        ("last_polled_at", pa.timestamp("us", tz="UTC")),
        ("last_status", pa.string()),
        ("last_http_status", pa.int32()),
        ("last_error", pa.string()),
        ("consecutive_failures", pa.int32()),
        ("last_success_at", pa.timestamp("us", tz="UTC")),
        ("failing_since", pa.timestamp("us", tz="UTC")),
        ("next_poll_at", pa.timestamp("us", tz="UTC")),
    ]
)
_RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        *((name, pa.int32()) for name in ("feeds_total", "feeds_ok", "feeds_unchanged")),
        *((name, pa.int32()) for name in ("feeds_failed", "entries_seen", "articles_new")),
        ("articles_fallback", pa.int32()),
        ("articles_failed", pa.int32()),
        ("duration_seconds", pa.float64()),
        ("feeds_backoff", pa.int32()),
        ("articles_updated", pa.int32()),
    ]
)
_ARTICLE_COLUMNS = ", ".join(_ARTICLE_SCHEMA.names)
_SIGHTING_COLUMNS = ", ".join(_SIGHTING_SCHEMA.names)
# The lookup keys (migration 6) are computed by the statements that insert the rows, so staged
# rows (and the spool) never hold them: `SELECT {_ARTICLE_KEYS} FROM <staged rows>`.
_ARTICLE_KEYED = ("article_id", "url", "canonical_url")
_ARTICLE_KEYS = ", ".join(f"{_key(column)} AS {column}_key" for column in _ARTICLE_KEYED)
_ARTICLE_KEY_COLUMNS = ", ".join(f"{column}_key" for column in _ARTICLE_KEYED)
_SIGHTING_KEYS = f"{_key('entry_url')} AS entry_url_key, {_key(GUID_KEY_TEXT)} AS guid_key"
_SIGHTING_KEY_COLUMNS = "entry_url_key, guid_key"
# Columns an edit replaces; the key, the URLs and the first sighting stay as they were.
_CONTENT_COLUMNS = (
    "site_name, title, text, summary, authors, language, word_count, content_hash, "
    "extraction, extraction_error, http_status, page_type, wire_agency, dateline"
)
_VERSIONED_COLUMNS = (
    "url, canonical_url, feed_name, site_name, title, text, summary, authors, published_at, "
    "published_at_source, published_at_precision, language, word_count, content_hash, "
    "extraction, extraction_error, http_status"
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
        "version": 1,
        "updated_at": None,
    }


def append_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    articles: Sequence[Article],
    sightings: Sequence[Sighting],
    feed_states: Sequence[FeedState],
    run: RunRecord,
    sketches: Sequence[StorySketch] = (),
) -> BatchResult:
    """Store a run's results atomically; return the articles that were new and updated.

    `run.articles_new` and `run.articles_updated` are filled in from what the write did.

    An article already stored (same `article_id`) is updated only when its text or title
    changed, the new reading is not a step down (feed text never replaces page text), and it
    is newer than the stored version (a batch replayed from the spool never rolls one back);
    the stored version is copied to `article_versions` first. Sightings already recorded keep
    their first run and time and take the new fingerprint. A feed's state is replaced only by
    a later poll. So replaying a batch changes nothing.
    """
    staged_articles, staged_sightings = stage_batch(articles, sightings, run)
    return write_staged(con, staged_articles, staged_sightings, feed_states, run, sketches)


def stage_batch(
    articles: Sequence[Article], sightings: Sequence[Sighting], run: RunRecord
) -> tuple[pa.Table, pa.Table]:
    """A batch's articles and sightings as the rows they become (also what the spool keeps)."""
    seen_at = run.finished_at
    staged_articles = pa.Table.from_pylist(
        [article_row(a, run.run_id, seen_at) for a in articles], schema=_ARTICLE_SCHEMA
    )
    staged_sightings = pa.Table.from_pylist(
        [{**asdict(s), "seen_at": seen_at, "run_id": run.run_id} for s in sightings],
        schema=_SIGHTING_SCHEMA,
    )
    return staged_articles, staged_sightings


def write_staged(
    con: duckdb.DuckDBPyConnection,
    staged_articles: pa.Table,
    staged_sightings: pa.Table,
    feed_states: Sequence[FeedState],
    run: RunRecord,
    sketches: Sequence[StorySketch] = (),
) -> BatchResult:
    """`append_batch` for rows already staged: one transaction, idempotent.

    Story sketches are not spooled: a spooled batch's articles get their story but are not
    offered as candidates to later batches.
    """
    seen_at = run.finished_at
    con.register("staged_articles", staged_articles)
    con.register("staged_sightings", staged_sightings)
    con.execute("BEGIN TRANSACTION")
    try:
        # `articles`, `feed_entries` and `story_sketches` have no key index (migration 4): the
        # statements below keep their keys unique by looking before they insert, which is safe
        # because this transaction is the only writer: DuckDB's file lock admits one process,
        # and the pipeline writes from one task at a time.
        # Within one batch the same article can arrive twice (two feeds, two entry links);
        # keep the first so neither statement below writes it twice.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE batch_articles AS
            SELECT *, {_ARTICLE_KEYS} FROM staged_articles
            QUALIFY row_number() OVER (PARTITION BY article_id) = 1
            """
        )
        # The batch's articles already stored, by row: one pass over articles.article_id_key,
        # then the ids of the matched rows only are compared (two ids may share a key).
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE stored AS
            SELECT a.row_id, a.article_id FROM batch_articles b JOIN (
                SELECT rowid AS row_id, article_id FROM articles WHERE rowid IN (
                    SELECT rowid FROM articles
                    WHERE article_id_key IN (SELECT article_id_key FROM batch_articles)
                )
            ) a USING (article_id)
            """
        )
        updated = _update_edited(con, seen_at, run.run_id)
        inserted = con.execute(
            f"""
            INSERT INTO articles ({_ARTICLE_COLUMNS}, {_ARTICLE_KEY_COLUMNS})
            SELECT {_ARTICLE_COLUMNS}, {_ARTICLE_KEY_COLUMNS} FROM batch_articles b
            WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.article_id = b.article_id)
            RETURNING article_id
            """
        ).fetchall()
        _record_sightings(con)
        if feed_states:
            # One statement for all feeds: executemany costs a round trip per row (2 s for
            # 600 feeds), which an idle poll of many feeds would mostly spend here.
            con.register(
                "staged_feeds",
                pa.Table.from_pylist([asdict(s) for s in feed_states], schema=_FEED_SCHEMA),
            )
            con.execute(
                f"""
                INSERT INTO feeds ({_FEED_COLUMNS}) SELECT {_FEED_COLUMNS} FROM staged_feeds
                ON CONFLICT (name) DO UPDATE SET
                    url = excluded.url, etag = excluded.etag,
                    last_modified = excluded.last_modified, body_hash = excluded.body_hash,
                    last_polled_at = excluded.last_polled_at, last_status = excluded.last_status,
                    last_http_status = excluded.last_http_status, last_error = excluded.last_error,
                    consecutive_failures = excluded.consecutive_failures,
                    last_success_at = excluded.last_success_at,
                    failing_since = excluded.failing_since,
                    next_poll_at = excluded.next_poll_at
                WHERE feeds.last_polled_at IS NULL
                   OR excluded.last_polled_at >= feeds.last_polled_at
                """
            )
            con.unregister("staged_feeds")
        new_ids = {row[0] for row in inserted}
        _insert_sketches(con, [s for s in sketches if s.article_id in new_ids], seen_at)
        run = replace(run, articles_new=len(inserted), articles_updated=len(updated))
        record = {**asdict(run), "written_at": datetime.now(UTC)}
        con.execute(
            f"""
            INSERT INTO ingest_runs ({", ".join(record)}) VALUES ({", ".join("?" * len(record))})
            ON CONFLICT (run_id) DO NOTHING
            """,
            list(record.values()),
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("staged_articles")
        con.unregister("staged_sightings")
    return BatchResult(
        new_ids={row[0] for row in inserted}, updated_ids={row[0] for row in updated}
    )


def _update_edited(
    con: duckdb.DuckDBPyConnection, seen_at: datetime, run_id: str
) -> list[tuple[str]]:
    """Apply the batch's edits of `stored` articles (see `append_batch`); return their ids."""
    if con.execute("SELECT count(*) FROM stored").fetchone() == (0,):
        return []
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE edited AS
        SELECT a.row_id, b.* FROM batch_articles b JOIN (
            SELECT rowid AS row_id, article_id, content_hash, title, extraction, updated_at,
                   first_seen_at
            FROM articles WHERE rowid IN (SELECT row_id FROM stored)
        ) a USING (article_id)
        WHERE (b.content_hash <> a.content_hash OR b.title IS DISTINCT FROM a.title)
          AND NOT (b.extraction = 'feed' AND a.extraction = 'page')
          AND b.first_seen_at > coalesce(a.updated_at, a.first_seen_at)
        """
    )
    if con.execute("SELECT count(*) FROM edited").fetchone() == (0,):
        return []
    con.execute(
        f"""
        INSERT INTO article_versions
        SELECT a.article_id, a.version, {_prefixed("a", _VERSIONED_COLUMNS)},
               coalesce(a.updated_at, a.first_seen_at), ?, ?
        FROM articles a WHERE a.rowid IN (SELECT row_id FROM edited)
        """,
        [seen_at, run_id],
    )
    return con.execute(
        f"""
        UPDATE articles SET
            {", ".join(f"{c} = e.{c}" for c in _CONTENT_COLUMNS.split(", "))},
            published_at = coalesce(articles.published_at, e.published_at),
            published_at_source = CASE WHEN articles.published_at IS NULL
                THEN e.published_at_source ELSE articles.published_at_source END,
            published_at_precision = CASE WHEN articles.published_at IS NULL
                THEN e.published_at_precision ELSE articles.published_at_precision END,
            version = articles.version + 1,
            updated_at = e.first_seen_at
        FROM edited e WHERE articles.rowid = e.row_id
        RETURNING articles.article_id
        """
    ).fetchall()


def _record_sightings(con: duckdb.DuckDBPyConnection) -> None:
    """Insert the batch's new sightings; a recorded one keeps its first run and time and takes
    the new fingerprint where the new sighting has one."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE batch_sightings AS
        SELECT {_SIGHTING_COLUMNS}, {_SIGHTING_KEYS} FROM staged_sightings
        QUALIFY row_number() OVER (PARTITION BY feed_name, entry_url) = 1
        """
    )
    # The batch's sightings already recorded: one pass over feed_entries.entry_url_key for
    # their row ids, then only those rows are read in full and matched by their URLs.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE recorded AS
        SELECT e.row_id, e.feed_name, e.entry_url,
               coalesce(s.entry_updated_at, e.entry_updated_at) AS entry_updated_at,
               coalesce(s.entry_hash, e.entry_hash) AS entry_hash
        FROM batch_sightings s JOIN (
            SELECT rowid AS row_id, feed_name, entry_url, entry_updated_at, entry_hash
            FROM feed_entries WHERE rowid IN (
                SELECT rowid FROM feed_entries
                WHERE entry_url_key IN (SELECT entry_url_key FROM batch_sightings)
            )
        ) e USING (feed_name, entry_url)
        """
    )
    con.execute(
        """
        UPDATE feed_entries SET entry_updated_at = r.entry_updated_at, entry_hash = r.entry_hash
        FROM recorded r WHERE feed_entries.rowid = r.row_id
          AND (r.entry_updated_at IS DISTINCT FROM feed_entries.entry_updated_at
               OR r.entry_hash IS DISTINCT FROM feed_entries.entry_hash)
        """
    )
    con.execute(
        f"""
        INSERT INTO feed_entries ({_SIGHTING_COLUMNS}, {_SIGHTING_KEY_COLUMNS})
        SELECT {_SIGHTING_COLUMNS}, {_SIGHTING_KEY_COLUMNS} FROM batch_sightings s
        WHERE NOT EXISTS (
            SELECT 1 FROM recorded r
            WHERE r.feed_name = s.feed_name AND r.entry_url = s.entry_url
        )
        """
    )


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
        # Sketches already stored: found by key (one pass over story_sketches.article_id_key),
        # then compared by id.
        con.execute(
            f"""
            INSERT INTO story_sketches BY NAME
            WITH s AS (
                SELECT *, {_key("article_id")} AS article_id_key FROM staged_sketches
            ), stored AS (
                SELECT article_id FROM story_sketches WHERE rowid IN (
                    SELECT rowid FROM story_sketches
                    WHERE article_id_key IN (SELECT article_id_key FROM s)
                )
            )
            SELECT * FROM s
            WHERE NOT EXISTS (SELECT 1 FROM stored k WHERE k.article_id = s.article_id)
            QUALIFY row_number() OVER (PARTITION BY article_id) = 1
            """
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
    """Each known feed with its health (the `feed_health` view), most telling columns first."""
    cursor = con.execute(
        """
        SELECT feed, status, articles_per_day, consecutive_failures AS failures,
               last_polled_at, resting_until, last_error, last_http_status AS http,
               last_success_at, publish_interval, articles_total AS articles, last_new_at
        FROM feed_health
        ORDER BY feed
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


def spool_batch(
    db: Path,
    articles: Sequence[Article],
    sightings: Sequence[Sighting],
    feed_states: Sequence[FeedState],
    run: RunRecord,
) -> Path:
    """Keep a batch in the spool, for the next run that gets the lock to merge."""
    staged_articles, staged_sightings = stage_batch(articles, sightings, run)
    tables = {
        "articles": staged_articles,
        "sightings": staged_sightings,
        "feeds": pa.Table.from_pylist([asdict(s) for s in feed_states], schema=_FEED_STATE_SCHEMA),
        "run": pa.Table.from_pylist([asdict(run)], schema=_RUN_SCHEMA),
    }
    return spool.write_spool(db, run.run_id, run.finished_at, tables)


def merge_spool(con: duckdb.DuckDBPyConnection, db: Path) -> list[RunRecord]:
    """Write every spooled batch of `db`, oldest first, each in its own transaction, and
    delete it once committed; return the merged runs with what they added."""
    merged = []
    for path in spool.pending(db):
        try:
            tables = spool.read_spool(path)
            feed_states = [FeedState(**row) for row in tables["feeds"].to_pylist()]
            run = RunRecord(**tables["run"].to_pylist()[0])
        except (OSError, KeyError, IndexError, TypeError, pa.ArrowException):
            # Damaged on disk: set aside (kept for inspection) so it cannot block every run.
            spool.set_aside(path)
            continue
        result = write_staged(con, tables["articles"], tables["sightings"], feed_states, run)
        spool.remove(path)
        merged.append(
            replace(run, articles_new=len(result.new_ids), articles_updated=len(result.updated_ids))
        )
    return merged


def snapshot(db: Path | str, target: Path | str) -> None:
    """Copy the warehouse, consistently, to `target` (replaced atomically if it exists).

    The source is attached read-only for the copy's few seconds only; an analyst who works on
    the copy never blocks a run, however long the session.
    """
    db, target = Path(db), Path(target)
    if not db.exists():
        raise WarehouseError(f"{db}: no warehouse here yet (run `newsdesk ingest` first)")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 30.0
    while True:
        con = duckdb.connect()
        try:
            # ATTACH takes no bound parameters: the paths (the operator's, not data) are quoted.
            con.execute(f"ATTACH {_quote(str(db))} AS source (READ_ONLY)")
            con.execute(f"ATTACH {_quote(str(partial))} AS copy")
            con.execute("COPY FROM DATABASE source TO copy")
            con.execute("DETACH copy")
            break
        except duckdb.IOException as exc:
            if not any(m in str(exc) for m in _LOCK_MARKERS) or time.monotonic() >= deadline:
                raise WarehouseError(f"{db}: cannot copy the warehouse: {exc}") from None
            time.sleep(0.5)
        finally:
            con.close()
    partial.replace(target)


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c}" for c in columns.split(", "))


def _quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# --- Prefect tasks: thin wrappers that open the warehouse for one stage each. ---


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What became of a run's batch."""

    result: BatchResult
    spooled_to: Path | None = None
    """Set when the warehouse stayed locked and the batch went to the spool instead."""
    lock_error: str | None = None
    merged: tuple[RunRecord, ...] = ()
    """Spooled batches of earlier runs merged before this one."""
    index_error: str | None = None
    """Why the search index could not be brought up to date (the batch is stored; the next
    run or the maintenance flow catches the index up)."""


@task(name="prepare-warehouse", cache_policy=NO_CACHE, persist_result=False)
def prepare_warehouse_task(db: Path, lock_wait: float, merge: bool = True) -> tuple[RunRecord, ...]:
    """Create or migrate the warehouse and merge spooled batches (unless `merge` is off, as in
    a dry run); return the runs merged.

    When another process holds the lock the spool waits for a later run; the run goes on
    (its reads need only a shared lock) as long as the schema is current.
    """
    try:
        with connect(db, lock_wait_seconds=lock_wait) as con:
            return tuple(merge_spool(con, db)) if merge else ()
    except WarehouseLocked:
        if not db.exists():
            raise
        with connect(db, read_only=True, lock_wait_seconds=0) as con:
            rows = con.execute("SELECT version FROM schema_migrations").fetchall()
        # Every version, not the highest: 4 shipped after 5 and may still be missing.
        if {m.version for m in MIGRATIONS} - {version for (version,) in rows}:
            raise
        return ()


@task(name="load-feed-states", cache_policy=NO_CACHE, persist_result=False)
def load_feed_states_task(db: Path, lock_wait: float = 30.0) -> dict[str, FeedState]:
    with connect(db, read_only=True, lock_wait_seconds=lock_wait) as con:
        return load_feed_states(con)


@task(name="find-known-articles", cache_policy=NO_CACHE, persist_result=False)
def find_known_task(
    db: Path,
    feed_urls: list[tuple[str, str]],
    feed_guids: list[tuple[str, str]] | None = None,
    lock_wait: float = 30.0,
) -> KnownUrls:
    with connect(db, read_only=True, lock_wait_seconds=lock_wait) as con:
        return find_known(con, feed_urls, feed_guids or ())


@task(name="load-recent-stories", cache_policy=NO_CACHE, persist_result=False)
def load_recent_sketches_task(
    db: Path, since: datetime, lock_wait: float = 30.0
) -> list[StorySketch]:
    with connect(db, read_only=True, lock_wait_seconds=lock_wait) as con:
        return load_recent_sketches(con, since)


@task(name="write-batch", cache_policy=NO_CACHE, persist_result=False)
def append_batch_task(
    db: Path,
    articles: Sequence[Article],
    sightings: Sequence[Sighting],
    feed_states: Sequence[FeedState],
    run: RunRecord,
    sketches: Sequence[StorySketch] = (),
    lock_wait: float = 30.0,
) -> WriteOutcome:
    """Write the batch, after any spooled ones; spool it if the lock stays taken."""
    try:
        with connect(db, lock_wait_seconds=lock_wait) as con:
            merged = tuple(merge_spool(con, db))
            result = append_batch(
                con,
                articles=articles,
                sightings=sightings,
                feed_states=feed_states,
                run=run,
                sketches=sketches,
            )
            return WriteOutcome(result, merged=merged, index_error=_update_search(con, result))
    except WarehouseLocked as exc:
        path = spool_batch(db, articles, sightings, feed_states, run)
        return WriteOutcome(BatchResult(set(), set()), spooled_to=path, lock_error=str(exc))


def _update_search(con: duckdb.DuckDBPyConnection, result: BatchResult) -> str | None:
    """Add the batch's articles to the search index after it committed; a failure here costs
    search freshness only, never the batch."""
    try:
        search.index_articles(con, result.new_ids | result.updated_ids)
    except (duckdb.Error, ExtensionMissing) as exc:
        return str(exc)
    return None


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the write-ahead log into the database file."""
    con.execute("CHECKPOINT")


def export_day(con: duckdb.DuckDBPyConnection, day: date, export_dir: Path) -> tuple[Path, int]:
    """Write the articles first seen on `day` (UTC) to Parquet under
    `export_dir/articles/first_seen_date=YYYY-MM-DD/`, replacing that day's partition.

    Returns the partition directory and the number of rows written. Running it again for the
    same day gives the same files, so a retried or repeated export never duplicates rows. The
    lookup keys stay behind: they are the pipeline's, not the analysts'.
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
                SELECT * EXCLUDE ({_ARTICLE_KEY_COLUMNS}),
                       CAST(timezone('UTC', first_seen_at) AS DATE) AS first_seen_date
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
    """Checkpoint, export `day`, and list feeds failing since `failing_since`, in one open.
    First the search index takes in any article a run's index step left out."""
    with connect(db) as con:
        search.index_articles(con, set(), thorough=True)
        checkpoint(con)
        partition, rows = export_day(con, day, export_dir)
        return partition, rows, failing_feeds(con, failing_since)
