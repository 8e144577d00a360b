"""The batch writer: a run's articles, sightings, feed states, story sketches and run record in
one transaction.

A crash leaves either all of a batch or none of it, so a stored ETag always has its articles
stored with it, and the retry queue (`page_retries`) never loses or doubles an article. An
article that is already stored and comes back with another text is updated in that transaction,
its previous version moved to `article_versions`; one stored from its feed's text that comes
back with its page's text is healed in place instead. A batch that could not get the lock waits
in the spool (`storage.spool`) and is merged, oldest first, by the next writer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from storage import spool
from storage.migrations import lookup_key as _key
from storage.schemas import (
    ARTICLE_COLUMNS,
    ARTICLE_KEY_COLUMNS,
    ARTICLE_KEYS,
    CONTENT_COLUMNS,
    FEED_COLUMNS,
    FEED_STATUS_COLUMNS,
    RETRY_COLUMNS,
    SIGHTING_COLUMNS,
    SIGHTING_KEY_COLUMNS,
    SIGHTING_KEYS,
    SKETCH_SCHEMA,
    VERSIONED_COLUMNS,
    conform_articles,
    feed_state_table,
    feed_status_table,
    retry_table,
    run_table,
    stage_batch,
)
from tasks.models import (
    Article,
    Batch,
    BatchResult,
    FeedState,
    FeedStatus,
    PageRetry,
    RunRecord,
    Sighting,
    StorySketch,
)

# What a heal replaces besides the content: the page's date and story beat the feed's.
_HEALED_COLUMNS = (
    f"{CONTENT_COLUMNS}, published_at, published_at_source, published_at_precision, "
    "published_at_offset_minutes, story_id"
)


def append_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    articles: Sequence[Article],
    sightings: Sequence[Sighting],
    feed_states: Sequence[FeedState],
    run: RunRecord,
    sketches: Sequence[StorySketch] = (),
    retries: Sequence[PageRetry] = (),
    last: bool = True,
) -> BatchResult:
    """Store a run's results atomically; return the articles that were new, updated and healed.

    What the write did is added to `run.articles_new`, `run.articles_updated` and
    `run.articles_healed` (which hold what the run's earlier batches did); the run is recorded
    only by its `last` batch.

    An article stored from its feed's text (`extraction = 'feed'`) that comes with its page's
    text is healed: its content, date and story are replaced in place, with no new version (the
    feed's text stood in for a page that could not be read; it was never the article's text),
    and its retry queue row is marked healed.

    An article already stored (same `article_id`) is updated only when its text or title
    changed, the new reading is not a step down (feed text never replaces page text), and it
    is newer than the stored version (a batch replayed from the spool never rolls one back);
    the stored version is copied to `article_versions` first. Sightings already recorded keep
    their first run and time and take the new fingerprint. A feed's state is replaced only by
    a later poll. A retry queue row is added only for an article this batch inserted, and
    replaced only by a later attempt. So replaying a batch changes nothing.
    """
    staged_articles, staged_sightings = stage_batch(articles, sightings, run)
    return write_staged(
        con, staged_articles, staged_sightings, feed_states, run, sketches, retries, last
    )


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> BatchResult:
    """`append_batch` for a `Batch`."""
    return append_batch(
        con,
        articles=batch.articles,
        sightings=batch.sightings,
        feed_states=batch.feed_states,
        run=batch.run,
        sketches=batch.sketches,
        retries=batch.retries,
        last=batch.last,
    )


def write_staged(
    con: duckdb.DuckDBPyConnection,
    staged_articles: pa.Table,
    staged_sightings: pa.Table,
    feed_states: Sequence[FeedState],
    run: RunRecord,
    sketches: Sequence[StorySketch] = (),
    retries: Sequence[PageRetry] = (),
    last: bool = True,
    *,
    feed_polls: bool = False,
) -> BatchResult:
    """`append_batch` for rows already staged: one transaction, idempotent.

    The caller is the warehouse's only writer while this runs (the file's lock, or a lake's
    commit lock: `storage.lake.commit_lock`), so looking before inserting keeps every key
    unique. The statements are the ones DuckLake takes too (no RETURNING, no ON CONFLICT but
    for the file's `feeds`): with `feed_polls`, a lake's feed states are appended as polls
    instead (see `storage.lake`).

    Story sketches are not spooled: a spooled batch's articles get their story but are not
    offered as candidates to later batches.
    """
    seen_at = run.finished_at
    con.register("staged_articles", staged_articles)
    con.register("staged_sightings", staged_sightings)
    con.execute("BEGIN TRANSACTION")
    try:
        inserted: list[tuple[str]] = []
        healed: list[tuple[str]] = []
        updated: list[tuple[str]] = []
        # An idle poll's batch has no article and no sighting: its statements are skipped
        # (on a lake each one reads the catalog, whatever it has to do).
        if staged_articles.num_rows:
            # `articles`, `feed_entries` and `story_sketches` have no key index (migration 4): the
            # statements below keep their keys unique by looking before they insert, which is safe
            # because this transaction is the only writer (see above).
            # Within one batch the same article can arrive twice (two feeds, two entry links);
            # keep the first so neither statement below writes it twice.
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE batch_articles AS
                SELECT *, {ARTICLE_KEYS} FROM staged_articles
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
            healed = _heal(con)
            updated = update_edited(con, seen_at, run.run_id)
            # The rows are chosen first, then inserted (DuckLake has no INSERT … RETURNING).
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE inserting AS
                SELECT * FROM batch_articles b
                WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.article_id = b.article_id)
                """
            )
            con.execute(
                f"""
                INSERT INTO articles ({ARTICLE_COLUMNS}, {ARTICLE_KEY_COLUMNS})
                SELECT {ARTICLE_COLUMNS}, {ARTICLE_KEY_COLUMNS} FROM inserting
                """
            )
            inserted = con.execute("SELECT article_id FROM inserting").fetchall()
        if staged_sightings.num_rows:
            _record_sightings(con)
        if feed_states and feed_polls:
            con.register("staged_feeds", feed_state_table(feed_states))
            con.execute(
                f"INSERT INTO feed_polls ({FEED_COLUMNS}) SELECT {FEED_COLUMNS} FROM staged_feeds"
            )
            con.unregister("staged_feeds")
        elif feed_states:
            # One statement for all feeds: executemany costs a round trip per row (2 s for
            # 600 feeds), which an idle poll of many feeds would mostly spend here.
            con.register(
                "staged_feeds",
                feed_state_table(feed_states),
            )
            con.execute(
                f"""
                INSERT INTO feeds ({FEED_COLUMNS}) SELECT {FEED_COLUMNS} FROM staged_feeds
                ON CONFLICT (name) DO UPDATE SET
                    url = excluded.url, etag = excluded.etag,
                    last_modified = excluded.last_modified, body_hash = excluded.body_hash,
                    last_polled_at = excluded.last_polled_at, last_status = excluded.last_status,
                    last_http_status = excluded.last_http_status, last_error = excluded.last_error,
                    consecutive_failures = excluded.consecutive_failures,
                    last_success_at = excluded.last_success_at,
                    failing_since = excluded.failing_since,
                    next_poll_at = excluded.next_poll_at,
                    poll_interval_seconds = excluded.poll_interval_seconds,
                    due_at = excluded.due_at
                WHERE feeds.last_polled_at IS NULL
                   OR excluded.last_polled_at >= feeds.last_polled_at
                """
            )
            con.unregister("staged_feeds")
        new_ids = {row[0] for row in inserted}
        healed_ids = {row[0] for row in healed}
        _record_retries(con, retries, new_ids, healed_ids, seen_at)
        # A healed article's sketch of its feed text gives way to the sketch of its page's.
        _insert_sketches(
            con, [s for s in sketches if s.article_id in new_ids | healed_ids], seen_at, healed_ids
        )
        if last:
            run = replace(
                run,
                articles_new=run.articles_new + len(inserted),
                articles_updated=run.articles_updated + len(updated),
                articles_healed=run.articles_healed + len(healed),
            )
            record = {**asdict(run), "written_at": datetime.now(UTC)}
            con.execute(
                f"""
                INSERT INTO ingest_runs ({", ".join(record)})
                SELECT {", ".join("?" * len(record))}
                WHERE NOT EXISTS (SELECT 1 FROM ingest_runs WHERE run_id = ?)
                """,
                [*record.values(), run.run_id],
            )
        con.execute("COMMIT")
    except BaseException:
        # A lake's COMMIT that lost its race has already ended the transaction.
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("staged_articles")
        con.unregister("staged_sightings")
    return BatchResult(
        new_ids={row[0] for row in inserted},
        updated_ids={row[0] for row in updated},
        healed_ids={row[0] for row in healed},
    )


def _heal(con: duckdb.DuckDBPyConnection) -> list[tuple[str]]:
    """Replace the feed's text of `stored` articles by the page's text of the batch, in place
    (see `append_batch`); return their ids."""
    if con.execute("SELECT count(*) FROM stored").fetchone() == (0,):
        return []
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE healing AS
        SELECT a.row_id, b.* FROM batch_articles b JOIN (
            SELECT rowid AS row_id, article_id FROM articles
            WHERE rowid IN (SELECT row_id FROM stored) AND extraction = 'feed'
        ) a USING (article_id)
        WHERE b.extraction = 'page'
        """
    )
    healed = con.execute("SELECT article_id FROM healing").fetchall()
    if healed:
        con.execute(
            f"""
            UPDATE articles SET
                {", ".join(f"{c} = h.{c}" for c in _HEALED_COLUMNS.split(", "))}
            FROM healing h WHERE articles.rowid = h.row_id
            """
        )
    return healed


def _record_retries(
    con: duckdb.DuckDBPyConnection,
    retries: Sequence[PageRetry],
    new_ids: set[str],
    healed_ids: set[str],
    seen_at: datetime,
) -> None:
    """Move the queue rows the batch attempted again, add the first failures of the articles it
    inserted, and mark healed whatever was healed (also by an edit of its feed entry)."""
    if retries:
        con.register("staged_retries", retry_table(retries))
        try:
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE batch_retries AS
                SELECT {RETRY_COLUMNS} FROM staged_retries
                QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY last_attempt_at) = 1
                """
            )
        finally:
            con.unregister("staged_retries")
        columns = RETRY_COLUMNS.split(", ")
        con.execute(
            f"""
            UPDATE page_retries SET {", ".join(f"{c} = s.{c}" for c in columns[1:])}
            FROM batch_retries s
            WHERE page_retries.article_id = s.article_id
              AND s.last_attempt_at > page_retries.last_attempt_at
            """
        )
        con.execute(
            f"""
            INSERT INTO page_retries ({RETRY_COLUMNS})
            SELECT {RETRY_COLUMNS} FROM batch_retries s
            WHERE list_contains(?::VARCHAR[], s.article_id)
              AND NOT EXISTS (SELECT 1 FROM page_retries p WHERE p.article_id = s.article_id)
            """,
            [sorted(new_ids)],
        )
    if healed_ids:
        con.execute(
            """
            UPDATE page_retries SET status = 'healed', healed_at = ?, next_attempt_at = NULL
            WHERE list_contains(?::VARCHAR[], article_id) AND status <> 'healed'
            """,
            [seen_at, sorted(healed_ids)],
        )


def update_edited(
    con: duckdb.DuckDBPyConnection, seen_at: datetime, run_id: str
) -> list[tuple[str]]:
    """Apply the batch's edits of `stored` articles (see `append_batch`): the stored version
    goes to `article_versions`, the row takes the new reading; return their ids. Only a
    reading of the same kind is an edit: page text over feed text is a heal (`_heal`), and
    feed text never replaces page text. No UPDATE … RETURNING: DuckLake has none, and the ids
    are `edited`'s."""
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
          AND b.extraction = a.extraction
          AND b.first_seen_at > coalesce(a.updated_at, a.first_seen_at)
        """
    )
    edited = con.execute("SELECT article_id FROM edited").fetchall()
    if not edited:
        return []
    con.execute(
        f"""
        INSERT INTO article_versions
        SELECT a.article_id, a.version, {_prefixed("a", VERSIONED_COLUMNS)},
               coalesce(a.updated_at, a.first_seen_at), ?, ?
        FROM articles a WHERE a.rowid IN (SELECT row_id FROM edited)
        """,
        [seen_at, run_id],
    )
    con.execute(
        f"""
        UPDATE articles SET
            {", ".join(f"{c} = e.{c}" for c in CONTENT_COLUMNS.split(", "))},
            published_at = coalesce(articles.published_at, e.published_at),
            published_at_source = CASE WHEN articles.published_at IS NULL
                THEN e.published_at_source ELSE articles.published_at_source END,
            published_at_precision = CASE WHEN articles.published_at IS NULL
                THEN e.published_at_precision ELSE articles.published_at_precision END,
            version = articles.version + 1,
            updated_at = e.first_seen_at
        FROM edited e WHERE articles.rowid = e.row_id
        """
    )
    return edited


def _record_sightings(con: duckdb.DuckDBPyConnection) -> None:
    """Insert the batch's new sightings; a recorded one keeps its first run and time and takes
    the new fingerprint where the new sighting has one."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE batch_sightings AS
        SELECT {SIGHTING_COLUMNS}, {SIGHTING_KEYS} FROM staged_sightings
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
        INSERT INTO feed_entries ({SIGHTING_COLUMNS}, {SIGHTING_KEY_COLUMNS})
        SELECT {SIGHTING_COLUMNS}, {SIGHTING_KEY_COLUMNS} FROM batch_sightings s
        WHERE NOT EXISTS (
            SELECT 1 FROM recorded r
            WHERE r.feed_name = s.feed_name AND r.entry_url = s.entry_url
        )
        """
    )


def _insert_sketches(
    con: duckdb.DuckDBPyConnection,
    sketches: Sequence[StorySketch],
    sketched_at: datetime,
    replacing: set[str] | None = None,
) -> None:
    """Store the sketches of articles that have none; those of `replacing` are dropped first."""
    if replacing:
        con.execute(
            f"""
            DELETE FROM story_sketches WHERE rowid IN (
                SELECT rowid FROM story_sketches WHERE article_id_key IN (
                    SELECT {_key("id")} FROM (SELECT unnest(?::VARCHAR[]) AS id)
                )
            ) AND list_contains(?::VARCHAR[], article_id)
            """,
            [sorted(replacing), sorted(replacing)],
        )
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
        schema=SKETCH_SCHEMA,
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


EARLIER_BATCH = "earlier_batch"
"""The spool table that marks a batch other than its run's last (see `Batch.last`)."""


def record_feed_status(con: duckdb.DuckDBPyConnection, rows: Sequence[FeedStatus]) -> int:
    """Append the feeds' new `feed_status` rows in one transaction; a row already recorded
    (same feed, same judgement time: a replay) is not added twice. Returns the rows added."""
    if not rows:
        return 0
    con.register("staged_status", feed_status_table(rows))
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE adding_status AS
            SELECT * FROM staged_status s WHERE NOT EXISTS (
                SELECT 1 FROM feed_status f
                WHERE f.feed_name = s.feed_name AND f.assessed_at = s.assessed_at
            )
            """
        )
        con.execute(
            f"INSERT INTO feed_status ({FEED_STATUS_COLUMNS}) "
            f"SELECT {FEED_STATUS_COLUMNS} FROM adding_status"
        )
        (added,) = con.execute("SELECT count(*) FROM adding_status").fetchone() or (0,)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("staged_status")
    return int(added)


def spool_batch(db: Path, batch: Batch) -> Path:
    """Keep a batch in the spool, for the next run that gets the lock to merge (without its
    story sketches: see `write_staged`)."""
    staged_articles, staged_sightings = stage_batch(batch.articles, batch.sightings, batch.run)
    tables = {
        "articles": staged_articles,
        "sightings": staged_sightings,
        "feeds": feed_state_table(batch.feed_states),
        "run": run_table(batch.run),
        "retries": retry_table(batch.retries),
    }
    if not batch.last:
        tables[EARLIER_BATCH] = pa.table({"last": pa.array([False])})
    return spool.write_spool(db, batch.run.run_id, batch.run.finished_at, tables)


def merge_spool(con: duckdb.DuckDBPyConnection, db: Path) -> list[RunRecord]:
    """Write every spooled batch of `db`, oldest first, each in its own transaction, and
    delete it once committed; return the merged runs with what they added."""
    merged = []
    for path in spool.pending(db):
        try:
            tables = spool.read_spool(path)
            feed_states = [FeedState(**row) for row in tables["feeds"].to_pylist()]
            run = RunRecord(**tables["run"].to_pylist()[0])
            # Spooled before the retry queue existed: no rows for it.
            queued = tables["retries"].to_pylist() if "retries" in tables else []
            retries = [PageRetry(**row) for row in queued]
        except (OSError, KeyError, IndexError, TypeError, pa.ArrowException):
            # Damaged on disk: set aside (kept for inspection) so it cannot block every run.
            spool.set_aside(path)
            continue
        result = write_staged(
            con,
            conform_articles(tables["articles"]),
            tables["sightings"],
            feed_states,
            run,
            retries=retries,
            last=EARLIER_BATCH not in tables,
        )
        spool.remove(path)
        merged.append(
            replace(
                run,
                articles_new=len(result.new_ids),
                articles_updated=len(result.updated_ids),
                articles_healed=len(result.healed_ids),
            )
        )
    return merged


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c}" for c in columns.split(", "))
