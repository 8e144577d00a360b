"""What the pipeline reads from the warehouse: feed states, what is already stored, recent
stories, pages due for another fetch, and the views behind `newsdesk feeds`, `newsdesk pending`
and `newsdesk sql`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import duckdb
import pyarrow as pa

from storage.migrations import GUID_KEY_TEXT
from storage.migrations import lookup_key as _key
from storage.schemas import FEED_COLUMNS, FEED_STATUS_COLUMNS, RETRY_COLUMNS
from tasks.models import (
    NOT_THE_ARTICLE,
    EntryFingerprint,
    FeedEntry,
    FeedHistory,
    FeedState,
    FeedStatus,
    KnownUrls,
    PageRetry,
    StorySketch,
)


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
    """Sketches of the articles stored since `since`: what new articles are compared with.

    Not those of articles waiting for another fetch of their page: their text is the feed's
    stand-in, and once healed they are compared by their page's text, not with themselves.
    """
    rows = con.execute(
        "SELECT article_id, story_id, minhash FROM story_sketches WHERE sketched_at >= ? "
        "AND article_id NOT IN (SELECT article_id FROM page_retries WHERE status = 'waiting') "
        "ORDER BY sketched_at, article_id",
        [since],
    ).fetchall()
    return [
        StorySketch(article_id, story_id, bytes(minhash)) for article_id, story_id, minhash in rows
    ]


def load_due_retries(
    con: duckdb.DuckDBPyConnection, now: datetime
) -> list[tuple[FeedEntry, PageRetry]]:
    """Waiting queue rows due by `now`, soonest first, each with the entry to fetch again, made
    from what the article's row holds of its feed (title, summary, text, date, authors) so that
    a page that fails once more still falls back to the same text."""
    r_columns = ", ".join(f"r.{c}" for c in RETRY_COLUMNS.split(", "))
    rows = con.execute(
        f"""
        WITH due AS (
            SELECT * FROM page_retries WHERE status = 'waiting' AND next_attempt_at <= ?
        )
        SELECT {r_columns}, a.title, a.summary, a.text, a.published_at, a.authors, a.language
        FROM due r JOIN (
            SELECT article_id, title, summary, text, published_at, authors, language, extraction
            FROM articles WHERE rowid IN (
                SELECT rowid FROM articles
                WHERE article_id_key IN (SELECT {_key("article_id")} FROM due)
            )
        ) a USING (article_id)
        WHERE a.extraction = 'feed'
        ORDER BY r.next_attempt_at, r.article_id
        """,
        [now],
    ).fetchall()
    width = len(RETRY_COLUMNS.split(", "))
    due = []
    for row in rows:
        retry = PageRetry(*row[:width])
        title, summary, text, published_at, authors, language = row[width:]
        entry = FeedEntry(
            feed_name=retry.feed_name,
            url=retry.url,
            title=title,
            summary=summary,
            content=text,
            published_at=published_at,
            authors=tuple(authors),
            language=language,
        )
        due.append((entry, retry))
    return due


def feed_health(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """Each known feed with its health (the `feed_health` view), most telling columns first;
    last, how many of its articles wait for another fetch of their page or were given up."""
    cursor = con.execute(
        """
        SELECT feed, status, reason, since, articles_per_day, usual_per_week, last_week,
               consecutive_failures AS failures, last_polled_at, next_poll, resting_until,
               last_error, last_http_status AS http, last_success_at,
               poll_interval AS interval, publish_interval,
               articles_total AS articles, last_new_at, pages_waiting, pages_given_up,
               alerted_status AS alerted, alerted_at
        FROM feed_health
        ORDER BY feed
        """
    )
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


# An entry's instant for a feed's history: its publication date, or when it was first seen if
# that is earlier (a date in the future) or it has none.
_INSTANT = "least(coalesce(entry_published_at, seen_at), seen_at)"


def feed_histories(
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    since: datetime,
    pages_since: datetime,
    pages: int,
) -> dict[str, FeedHistory]:
    """The history of each feed of `names` (`FeedHistory`): its entries per UTC day and its
    longest gap between entries from `since` on, its first and last entry ever, and the
    articles of its latest `pages` entries seen from `pages_since` on, with the pages among
    them that were served in place of the article. `tasks.run.health.history_of` is the same
    in Python."""
    con.register("history_feeds", pa.table({"name": pa.array(sorted(set(names)), pa.string())}))
    try:
        entries = f"""
            SELECT feed_name, {_INSTANT} AS t FROM feed_entries
            WHERE feed_name IN (SELECT name FROM history_feeds)
        """
        ends = con.execute(
            f"SELECT feed_name, min(t), max(t) FROM ({entries}) GROUP BY feed_name"
        ).fetchall()
        days = con.execute(
            f"""
            SELECT feed_name, CAST(timezone('UTC', t) AS DATE) AS day, count(*),
                   max(epoch(gap))
            FROM (
                SELECT feed_name, t, t - lag(t) OVER (PARTITION BY feed_name ORDER BY t) AS gap
                FROM ({entries}) WHERE t >= ?
            )
            GROUP BY ALL ORDER BY ALL
            """,
            [since],
        ).fetchall()
        latest = con.execute(
            f"""
            WITH latest AS (
                SELECT feed_name, article_id FROM feed_entries
                WHERE feed_name IN (SELECT name FROM history_feeds) AND seen_at >= ?
                QUALIFY row_number() OVER (
                    PARTITION BY feed_name ORDER BY seen_at DESC, entry_url
                ) <= ?
            )
            SELECT l.feed_name, a.extraction_error, count(*)
            FROM latest l JOIN (
                SELECT article_id, extraction_error FROM articles WHERE rowid IN (
                    SELECT rowid FROM articles
                    WHERE article_id_key IN (SELECT {_key("article_id")} FROM latest)
                )
            ) a USING (article_id)
            GROUP BY ALL ORDER BY ALL
            """,
            [pages_since, pages],
        ).fetchall()
    finally:
        con.unregister("history_feeds")
    daily: dict[str, list[tuple[date, int]]] = defaultdict(list)
    gaps: dict[str, float] = {}
    for feed, day, count, gap in days:
        daily[feed].append((day, int(count)))
        if gap is not None:
            gaps[feed] = max(gaps.get(feed, 0.0), float(gap))
    read: dict[str, int] = defaultdict(int)
    walls: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for feed, error, count in latest:
        read[feed] += int(count)
        if error is not None and error.startswith(NOT_THE_ARTICLE):
            walls[feed].append((error, int(count)))
    return {
        feed: FeedHistory(
            feed,
            days=tuple(daily[feed]),
            first_at=first,
            last_at=last,
            longest_gap=gaps.get(feed),
            pages=read[feed],
            not_articles=tuple(walls[feed]),
        )
        for feed, first, last in ends
    }


def load_feed_statuses(
    con: duckdb.DuckDBPyConnection, names: Sequence[str]
) -> dict[str, FeedStatus]:
    """The latest `feed_status` row of each feed of `names` that has one."""
    rows = con.execute(
        f"""
        SELECT {FEED_STATUS_COLUMNS} FROM feed_status WHERE feed_name IN (SELECT unnest(?))
        QUALIFY row_number() OVER (PARTITION BY feed_name ORDER BY assessed_at DESC) = 1
        """,
        [sorted(set(names))],
    ).fetchall()
    return {row[0]: FeedStatus(*row) for row in rows}


def status_changes(
    con: duckdb.DuckDBPyConnection, since: datetime
) -> tuple[list[str], list[tuple]]:
    """The feeds whose status changed from `since` on, oldest change first: each change with
    the status before, its reason, since when, the volumes behind it and whether it was
    alerted (`newsdesk feeds --changed`). A new feed found `ok` is no change."""
    cursor = con.execute(
        """
        SELECT feed_name AS feed, previous, status, reason, since, assessed_at AS changed_at,
               alerted_at = assessed_at AS alerted, expected AS usual_per_week,
               seen AS last_week
        FROM (
            SELECT *, lag(status) OVER (PARTITION BY feed_name ORDER BY assessed_at) AS previous
            FROM feed_status
        )
        WHERE assessed_at >= ? AND status IS DISTINCT FROM previous
          AND NOT (previous IS NULL AND status = 'ok')
        ORDER BY assessed_at, feed_name
        """,
        [since],
    )
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def pending_pages(
    con: duckdb.DuckDBPyConnection, given_up: bool = False
) -> tuple[list[str], list[tuple]]:
    """Articles stored from their feed's text whose page waits for another fetch, soonest
    first, with why it failed; with `given_up`, those whose page was given up instead."""
    when = "gave_up_at" if given_up else "next_attempt_at"
    cursor = con.execute(
        f"""
        SELECT r.feed_name AS feed, r.attempts, r.last_error, r.last_attempt_at, r.{when},
               a.title, r.url
        FROM page_retries r LEFT JOIN (
            SELECT article_id, title FROM articles WHERE rowid IN (
                SELECT rowid FROM articles WHERE article_id_key IN (
                    SELECT {_key("article_id")} FROM page_retries WHERE status = ?
                )
            )
        ) a USING (article_id)
        WHERE r.status = ?
        ORDER BY r.{when}, r.feed_name, r.url
        """,
        ["gave_up" if given_up else "waiting"] * 2,
    )
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def rows_of(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    """Run one query; return column names and rows (none for a statement without a result)."""
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
