"""Ordered, named schema migrations, listed in version order; `storage.warehouse.migrate`
applies each one not yet recorded, lowest version first. Never edit one that has shipped."""

from __future__ import annotations

from typing import NamedTuple


def lookup_key(text: str) -> str:
    """SQL for the lookup key of the VARCHAR expression `text`: the first 8 bytes of its
    SHA-256 as a UBIGINT (NULL when `text` is NULL).

    Migration 6 stored keys made by this formula, so it never changes. The writer computes
    keys with it inside its INSERTs and the lookups apply it to their candidates, so Python
    never computes one. Two texts may share a key: a match on the key is always checked
    against the text itself.
    """
    return f"CAST(('0x' || left(sha256({text}), 16)) AS UBIGINT)"


GUID_KEY_TEXT = "feed_name || chr(0) || guid"
"""What `feed_entries.guid_key` is the key of: a guid identifies an entry within its feed."""


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial schema",
        """
        CREATE TABLE feeds (
            name                 VARCHAR PRIMARY KEY,
            url                  VARCHAR NOT NULL,
            etag                 VARCHAR,
            last_modified        VARCHAR,
            body_hash            VARCHAR,
            last_polled_at       TIMESTAMPTZ,
            last_status          VARCHAR,
            last_http_status     INTEGER,
            last_error           VARCHAR,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_success_at      TIMESTAMPTZ
        );

        CREATE TABLE articles (
            article_id             VARCHAR PRIMARY KEY,
            url                    VARCHAR NOT NULL,
            canonical_url          VARCHAR NOT NULL,
            feed_name              VARCHAR NOT NULL,
            site_name              VARCHAR,
            title                  VARCHAR,
            text                   VARCHAR NOT NULL,
            summary                VARCHAR,
            authors                VARCHAR[] NOT NULL,
            published_at           TIMESTAMPTZ,
            published_at_source    VARCHAR,
            published_at_precision VARCHAR,
            language               VARCHAR,
            word_count             INTEGER NOT NULL,
            content_hash           VARCHAR NOT NULL,
            extraction             VARCHAR NOT NULL,
            extraction_error       VARCHAR,
            http_status            INTEGER,
            first_seen_at          TIMESTAMPTZ NOT NULL,
            run_id                 VARCHAR NOT NULL
        );

        CREATE TABLE feed_entries (
            feed_name          VARCHAR NOT NULL,
            entry_url          VARCHAR NOT NULL,
            article_id         VARCHAR NOT NULL,
            guid               VARCHAR,
            entry_title        VARCHAR,
            entry_published_at TIMESTAMPTZ,
            seen_at            TIMESTAMPTZ NOT NULL,
            run_id             VARCHAR NOT NULL,
            PRIMARY KEY (feed_name, entry_url)
        );

        CREATE TABLE ingest_runs (
            run_id           VARCHAR PRIMARY KEY,
            started_at       TIMESTAMPTZ NOT NULL,
            finished_at      TIMESTAMPTZ NOT NULL,
            feeds_total      INTEGER NOT NULL,
            feeds_ok         INTEGER NOT NULL,
            feeds_unchanged  INTEGER NOT NULL,
            feeds_failed     INTEGER NOT NULL,
            entries_seen     INTEGER NOT NULL,
            articles_new     INTEGER NOT NULL,
            articles_fallback INTEGER NOT NULL,
            articles_failed  INTEGER NOT NULL,
            duration_seconds DOUBLE NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "article versions, entry fingerprints, feed backoff",
        """
        ALTER TABLE articles ADD COLUMN version INTEGER DEFAULT 1;
        ALTER TABLE articles ADD COLUMN updated_at TIMESTAMPTZ;

        CREATE TABLE article_versions (
            article_id             VARCHAR NOT NULL,
            version                INTEGER NOT NULL,
            url                    VARCHAR NOT NULL,
            canonical_url          VARCHAR NOT NULL,
            feed_name              VARCHAR NOT NULL,
            site_name              VARCHAR,
            title                  VARCHAR,
            text                   VARCHAR NOT NULL,
            summary                VARCHAR,
            authors                VARCHAR[] NOT NULL,
            published_at           TIMESTAMPTZ,
            published_at_source    VARCHAR,
            published_at_precision VARCHAR,
            language               VARCHAR,
            word_count             INTEGER NOT NULL,
            content_hash           VARCHAR NOT NULL,
            extraction             VARCHAR NOT NULL,
            extraction_error       VARCHAR,
            http_status            INTEGER,
            stored_at              TIMESTAMPTZ NOT NULL,
            superseded_at          TIMESTAMPTZ NOT NULL,
            superseded_by_run_id   VARCHAR NOT NULL,
            PRIMARY KEY (article_id, version)
        );

        ALTER TABLE feed_entries ADD COLUMN entry_updated_at TIMESTAMPTZ;
        ALTER TABLE feed_entries ADD COLUMN entry_hash VARCHAR;

        ALTER TABLE feeds ADD COLUMN next_poll_at TIMESTAMPTZ;

        ALTER TABLE ingest_runs ADD COLUMN feeds_backoff INTEGER DEFAULT 0;
        ALTER TABLE ingest_runs ADD COLUMN articles_updated INTEGER DEFAULT 0;
        ALTER TABLE ingest_runs ADD COLUMN written_at TIMESTAMPTZ;
        UPDATE ingest_runs SET written_at = finished_at;
        """,
    ),
    Migration(
        3,
        "article metadata: page type, wire agency, dateline, story clusters, UTC offset",
        """
        ALTER TABLE articles ADD COLUMN page_type VARCHAR;
        ALTER TABLE articles ADD COLUMN wire_agency VARCHAR;
        ALTER TABLE articles ADD COLUMN dateline VARCHAR;
        ALTER TABLE articles ADD COLUMN story_id VARCHAR;
        ALTER TABLE articles ADD COLUMN published_at_offset_minutes INTEGER;

        CREATE TABLE story_sketches (
            article_id  VARCHAR PRIMARY KEY,
            story_id    VARCHAR NOT NULL,
            sketched_at TIMESTAMPTZ NOT NULL,
            minhash     BLOB NOT NULL
        );
        """,
    ),
    # DuckDB cannot drop a PRIMARY KEY, so the three tables that grow with every run are
    # rebuilt without theirs: each key's ART index was rewritten whole at every checkpoint
    # (every close of a run's write) and probed by every insert, so a run's write cost grew with
    # the warehouse. `storage.warehouse.write_staged` keeps the key columns unique. Columns,
    # types, NOT NULL, DEFAULT and order are as migrations 1-3 left them. Shipped after 5, so a
    # warehouse may get 4 after 5; 5 touches only `feeds`, which this leaves alone.
    Migration(
        4,
        "append-only tables without key indexes",
        """
        CREATE TABLE articles_v4 (
            article_id                  VARCHAR NOT NULL,
            url                         VARCHAR NOT NULL,
            canonical_url               VARCHAR NOT NULL,
            feed_name                   VARCHAR NOT NULL,
            site_name                   VARCHAR,
            title                       VARCHAR,
            text                        VARCHAR NOT NULL,
            summary                     VARCHAR,
            authors                     VARCHAR[] NOT NULL,
            published_at                TIMESTAMPTZ,
            published_at_source         VARCHAR,
            published_at_precision      VARCHAR,
            language                    VARCHAR,
            word_count                  INTEGER NOT NULL,
            content_hash                VARCHAR NOT NULL,
            extraction                  VARCHAR NOT NULL,
            extraction_error            VARCHAR,
            http_status                 INTEGER,
            first_seen_at               TIMESTAMPTZ NOT NULL,
            run_id                      VARCHAR NOT NULL,
            version                     INTEGER DEFAULT 1,
            updated_at                  TIMESTAMPTZ,
            page_type                   VARCHAR,
            wire_agency                 VARCHAR,
            dateline                    VARCHAR,
            story_id                    VARCHAR,
            published_at_offset_minutes INTEGER
        );
        INSERT INTO articles_v4 BY NAME SELECT * FROM articles;
        DROP TABLE articles;
        ALTER TABLE articles_v4 RENAME TO articles;

        CREATE TABLE feed_entries_v4 (
            feed_name          VARCHAR NOT NULL,
            entry_url          VARCHAR NOT NULL,
            article_id         VARCHAR NOT NULL,
            guid               VARCHAR,
            entry_title        VARCHAR,
            entry_published_at TIMESTAMPTZ,
            seen_at            TIMESTAMPTZ NOT NULL,
            run_id             VARCHAR NOT NULL,
            entry_updated_at   TIMESTAMPTZ,
            entry_hash         VARCHAR
        );
        INSERT INTO feed_entries_v4 BY NAME SELECT * FROM feed_entries;
        DROP TABLE feed_entries;
        ALTER TABLE feed_entries_v4 RENAME TO feed_entries;

        CREATE TABLE story_sketches_v4 (
            article_id  VARCHAR NOT NULL,
            story_id    VARCHAR NOT NULL,
            sketched_at TIMESTAMPTZ NOT NULL,
            minhash     BLOB NOT NULL
        );
        INSERT INTO story_sketches_v4 BY NAME SELECT * FROM story_sketches;
        DROP TABLE story_sketches;
        ALTER TABLE story_sketches_v4 RENAME TO story_sketches;
        """,
    ),
    Migration(
        5,
        "feeds.failing_since",
        """
        ALTER TABLE feeds ADD COLUMN failing_since TIMESTAMPTZ;
        UPDATE feeds SET failing_since = last_polled_at WHERE last_status = 'failed';
        """,
    ),
    # Each lookup of the writer and of `find_known` scanned a long VARCHAR column of a table
    # that grows with every run (15-30 ms a column at 1M rows); an integer key of the same
    # text scans in about a third of that. Added and backfilled in place (1.6 s at 1M
    # articles; rebuilding the tables as 4 did took 12 s and doubled the file).
    Migration(
        6,
        "integer lookup keys",
        f"""
        ALTER TABLE articles ADD COLUMN article_id_key UBIGINT;
        ALTER TABLE articles ADD COLUMN url_key UBIGINT;
        ALTER TABLE articles ADD COLUMN canonical_url_key UBIGINT;
        UPDATE articles SET article_id_key = {lookup_key("article_id")},
                            url_key = {lookup_key("url")},
                            canonical_url_key = {lookup_key("canonical_url")};

        ALTER TABLE feed_entries ADD COLUMN entry_url_key UBIGINT;
        ALTER TABLE feed_entries ADD COLUMN guid_key UBIGINT;
        UPDATE feed_entries SET entry_url_key = {lookup_key("entry_url")},
                                guid_key = {lookup_key(GUID_KEY_TEXT)};

        ALTER TABLE story_sketches ADD COLUMN article_id_key UBIGINT;
        UPDATE story_sketches SET article_id_key = {lookup_key("article_id")};
        """,
    ),
    # A row stored without its key would be invisible to every lookup, and so stored twice.
    # DuckDB adds the constraint only in a transaction of its own, after the backfill's.
    Migration(
        7,
        "lookup keys NOT NULL",
        """
        ALTER TABLE articles ALTER COLUMN article_id_key SET NOT NULL;
        ALTER TABLE articles ALTER COLUMN url_key SET NOT NULL;
        ALTER TABLE articles ALTER COLUMN canonical_url_key SET NOT NULL;
        ALTER TABLE feed_entries ALTER COLUMN entry_url_key SET NOT NULL;
        ALTER TABLE story_sketches ALTER COLUMN article_id_key SET NOT NULL;
        """,
    ),
    # Healthy feeds get their own interval (tasks.run.feedstate.poll_interval); `next_poll_at`
    # stays the backoff of failing feeds, so scheduled runs and failures never share a column.
    Migration(
        8,
        "feeds.poll_interval_seconds, feeds.due_at",
        """
        ALTER TABLE feeds ADD COLUMN poll_interval_seconds INTEGER;
        ALTER TABLE feeds ADD COLUMN due_at TIMESTAMPTZ;
        """,
    ),
    # The retry queue: small (only articles whose page failed in a way that can heal), so no
    # lookup keys; `article_id` is kept unique by the writer, as in the tables of migration 4.
    Migration(
        9,
        "page retry queue",
        """
        CREATE TABLE page_retries (
            article_id      VARCHAR NOT NULL,
            feed_name       VARCHAR NOT NULL,
            url             VARCHAR NOT NULL,
            attempts        INTEGER NOT NULL,
            last_error      VARCHAR NOT NULL,
            first_failed_at TIMESTAMPTZ NOT NULL,
            last_attempt_at TIMESTAMPTZ NOT NULL,
            next_attempt_at TIMESTAMPTZ,
            status          VARCHAR NOT NULL,
            gave_up_at      TIMESTAMPTZ,
            healed_at       TIMESTAMPTZ
        );
        ALTER TABLE ingest_runs ADD COLUMN pages_retried INTEGER DEFAULT 0;
        ALTER TABLE ingest_runs ADD COLUMN articles_healed INTEGER DEFAULT 0;
        """,
    ),
    # The questions analysts ask first, answered once: each view reads the tables at query
    # time, so it costs nothing to keep and is always current. "Today" and "the last 7 days"
    # are UTC.
    Migration(
        10,
        "analyst views: latest_articles, stories, feed_health, daily_counts",
        """
        CREATE VIEW latest_articles AS
        SELECT coalesce(published_at, first_seen_at) AS published, feed_name, site_name,
               language, title, wire_agency, story_id, url, word_count, article_id,
               first_seen_at
        FROM articles
        WHERE first_seen_at >= now() - INTERVAL 7 DAY
          AND coalesce(page_type, 'article') = 'article'
        ORDER BY published DESC, article_id;

        CREATE VIEW stories AS
        SELECT story_id,
               min(first_seen_at) AS first_seen_at,
               max(first_seen_at) AS last_seen_at,
               count(*) AS articles,
               count(DISTINCT coalesce(site_name, feed_name)) AS outlets,
               list(DISTINCT coalesce(site_name, feed_name) ORDER BY coalesce(site_name, feed_name))
                   AS outlet_names,
               mode(wire_agency) AS wire_agency,
               arg_min(title, (first_seen_at, coalesce(published_at, first_seen_at), article_id))
                   AS headline,
               list(DISTINCT language ORDER BY language) FILTER (WHERE language IS NOT NULL)
                   AS languages
        FROM articles
        WHERE story_id IS NOT NULL
        GROUP BY story_id;

        CREATE VIEW feed_health AS
        WITH seen AS (
            SELECT feed_name,
                   count(*) FILTER (WHERE seen_at >= now() - INTERVAL 7 DAY) AS seen_7d,
                   count(*) AS seen_total,
                   max(seen_at) AS last_new_at
            FROM feed_entries
            GROUP BY feed_name
        ), dated AS (
            SELECT feed_name, entry_published_at,
                   row_number() OVER (PARTITION BY feed_name ORDER BY entry_published_at DESC)
                       AS newest
            FROM feed_entries
            WHERE entry_published_at IS NOT NULL
        ), cadence AS (
            SELECT feed_name,
                   CASE WHEN count(*) > 1
                        THEN (max(entry_published_at) - min(entry_published_at)) / (count(*) - 1)
                   END AS publish_interval
            FROM dated WHERE newest <= 20
            GROUP BY feed_name
        )
        SELECT f.name AS feed,
               CASE WHEN f.last_polled_at IS NULL THEN 'never polled'
                    WHEN f.next_poll_at > now() THEN 'resting'
                    WHEN f.last_status = 'failed' THEN 'failing'
                    WHEN coalesce(s.seen_7d, 0) = 0 THEN 'quiet'
                    ELSE 'ok' END AS status,
               f.last_status, f.last_http_status, f.last_polled_at, f.last_success_at,
               f.consecutive_failures, f.failing_since, f.next_poll_at AS resting_until,
               to_seconds(f.poll_interval_seconds) AS poll_interval,
               coalesce(f.next_poll_at, f.due_at) AS next_poll,
               c.publish_interval,
               round(coalesce(s.seen_7d, 0) / 7.0, 1) AS articles_per_day,
               coalesce(s.seen_total, 0) AS articles_total,
               s.last_new_at,
               coalesce(r.waiting, 0) AS pages_waiting,
               coalesce(r.gave_up, 0) AS pages_given_up,
               f.last_error
        FROM feeds f
        LEFT JOIN seen s ON s.feed_name = f.name
        LEFT JOIN cadence c ON c.feed_name = f.name
        LEFT JOIN (
            SELECT feed_name, count(*) FILTER (status = 'waiting') AS waiting,
                   count(*) FILTER (status = 'gave_up') AS gave_up
            FROM page_retries GROUP BY feed_name
        ) r ON r.feed_name = f.name;

        CREATE VIEW daily_counts AS
        SELECT CAST(timezone('UTC', coalesce(published_at, first_seen_at)) AS DATE) AS day,
               feed_name, language, wire_agency, count(*) AS articles,
               CAST(sum(word_count) AS BIGINT) AS words
        FROM articles
        GROUP BY ALL;
        """,
    ),
    # NULL on the rows stored before: their pages were not checked for a paywall.
    Migration(
        11,
        "articles.text_partial",
        """
        ALTER TABLE articles ADD COLUMN text_partial BOOLEAN;

        CREATE OR REPLACE VIEW latest_articles AS
        SELECT coalesce(published_at, first_seen_at) AS published, feed_name, site_name,
               language, title, wire_agency, story_id, url, word_count, text_partial,
               article_id, first_seen_at
        FROM articles
        WHERE first_seen_at >= now() - INTERVAL 7 DAY
          AND coalesce(page_type, 'article') = 'article'
        ORDER BY published DESC, article_id;
        """,
    ),
    # A run judges each feed it polled against the feed's own normal (`tasks.run.health`) and
    # appends a row here when the feed's status, or the alert sent for it, changes: a feed's
    # current status is its latest row. Append-only, so DuckLake takes it as it is; small (a
    # row per change), so no lookup keys.
    Migration(
        12,
        "feed_status, and feed_health with the status's reason and since when",
        """
        CREATE TABLE feed_status (
            feed_name      VARCHAR NOT NULL,
            status         VARCHAR NOT NULL,
            reason         VARCHAR NOT NULL,
            since          TIMESTAMPTZ NOT NULL,
            expected       DOUBLE,
            seen           INTEGER,
            alerted_status VARCHAR,
            alerted_at     TIMESTAMPTZ,
            assessed_at    TIMESTAMPTZ NOT NULL,
            run_id         VARCHAR NOT NULL
        );

        CREATE OR REPLACE VIEW feed_health AS
        WITH seen AS (
            SELECT feed_name,
                   count(*) FILTER (WHERE seen_at >= now() - INTERVAL 7 DAY) AS seen_7d,
                   count(*) AS seen_total,
                   max(seen_at) AS last_new_at
            FROM feed_entries
            GROUP BY feed_name
        ), dated AS (
            SELECT feed_name, entry_published_at,
                   row_number() OVER (PARTITION BY feed_name ORDER BY entry_published_at DESC)
                       AS newest
            FROM feed_entries
            WHERE entry_published_at IS NOT NULL
        ), cadence AS (
            SELECT feed_name,
                   CASE WHEN count(*) > 1
                        THEN (max(entry_published_at) - min(entry_published_at)) / (count(*) - 1)
                   END AS publish_interval
            FROM dated WHERE newest <= 20
            GROUP BY feed_name
        ), judged AS (
            SELECT * FROM feed_status
            QUALIFY row_number() OVER (PARTITION BY feed_name ORDER BY assessed_at DESC) = 1
        ), health AS (
            SELECT f.*, s.seen_7d, s.seen_total, s.last_new_at, c.publish_interval,
                   j.status AS judged, j.reason AS judged_reason, j.since AS judged_since,
                   j.expected, j.seen, j.alerted_status, j.alerted_at,
                   CASE WHEN f.last_polled_at IS NULL THEN 'never polled'
                        WHEN f.next_poll_at > now() THEN 'resting'
                        WHEN f.last_status = 'failed' THEN 'failing'
                        WHEN j.status IN ('silent', 'low', 'junk') THEN j.status
                        WHEN coalesce(s.seen_7d, 0) = 0 THEN 'quiet'
                        ELSE 'ok' END AS status
            FROM feeds f
            LEFT JOIN seen s ON s.feed_name = f.name
            LEFT JOIN cadence c ON c.feed_name = f.name
            LEFT JOIN judged j ON j.feed_name = f.name
        )
        SELECT h.name AS feed, h.status,
               CASE WHEN h.status IN ('resting', 'failing')
                    THEN CASE WHEN h.judged = 'failing' THEN h.judged_reason
                              ELSE h.consecutive_failures || ' failed polls: ' || h.last_error END
                    WHEN h.status IN ('silent', 'low', 'junk') THEN h.judged_reason
                    WHEN h.status = 'quiet' THEN 'nothing new for 7 days'
                    WHEN h.status = 'ok' AND h.judged = 'ok' THEN nullif(h.judged_reason, '')
               END AS reason,
               CASE WHEN h.status IN ('resting', 'failing') THEN h.failing_since
                    WHEN h.status IN ('silent', 'low', 'junk') THEN h.judged_since
                    WHEN h.status = 'quiet' THEN h.last_new_at
                    WHEN h.status = 'ok' AND h.judged = 'ok' THEN h.judged_since
               END AS since,
               h.last_status, h.last_http_status, h.last_polled_at, h.last_success_at,
               h.consecutive_failures, h.failing_since, h.next_poll_at AS resting_until,
               to_seconds(h.poll_interval_seconds) AS poll_interval,
               coalesce(h.next_poll_at, h.due_at) AS next_poll,
               h.publish_interval,
               round(coalesce(h.seen_7d, 0) / 7.0, 1) AS articles_per_day,
               h.expected AS usual_per_week, h.seen AS last_week,
               coalesce(h.seen_total, 0) AS articles_total,
               h.last_new_at,
               coalesce(r.waiting, 0) AS pages_waiting,
               coalesce(r.gave_up, 0) AS pages_given_up,
               h.alerted_status, h.alerted_at,
               h.last_error
        FROM health h
        LEFT JOIN (
            SELECT feed_name, count(*) FILTER (status = 'waiting') AS waiting,
                   count(*) FILTER (status = 'gave_up') AS gave_up
            FROM page_retries GROUP BY feed_name
        ) r ON r.feed_name = h.name;
        """,
    ),
)
