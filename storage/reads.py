"""What the pipeline reads from the warehouse: feed states, what is already stored, recent
stories, and the views behind `newsdesk feeds` and `newsdesk sql`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from storage.connection import connect
from storage.migrations import GUID_KEY_TEXT
from storage.migrations import lookup_key as _key
from storage.schemas import FEED_COLUMNS
from tasks.models import EntryFingerprint, FeedState, KnownUrls, StorySketch


def load_feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    """Every feed's stored state, by feed name."""
    rows = con.execute(f"SELECT {FEED_COLUMNS} FROM feeds").fetchall()
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
               last_polled_at, next_poll, resting_until, last_error,
               last_http_status AS http, last_success_at, poll_interval AS interval,
               publish_interval,
               articles_total AS articles, last_new_at
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


def failing_feeds(con: duckdb.DuckDBPyConnection, since: datetime) -> list[FeedState]:
    """Feeds that have failed on every poll since `since` or earlier."""
    rows = con.execute(
        f"SELECT {FEED_COLUMNS} FROM feeds WHERE failing_since <= ? ORDER BY name", [since]
    ).fetchall()
    return [FeedState(*row) for row in rows]
