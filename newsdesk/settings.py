"""Runtime settings, read once from `NEWSDESK_*` environment variables at the edge (CLI or flow)."""

from __future__ import annotations

import os
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasks.fetch.config import DEFAULT_USER_AGENT, FetchConfig
from tasks.fetch.pool import PoolConfig
from tasks.run.feedstate import Backoff, PollPolicy
from tasks.run.health import HealthPolicy
from tasks.run.retries import DEFAULT_SCHEDULE, RetryPolicy, parse_schedule

if TYPE_CHECKING:
    from storage import Warehouse


DEFAULT_LAKE = "ducklake:sqlite:data/lake/catalog.sqlite"
"""Where a new install writes: a lake, which analysts read while runs write."""
LEGACY_FILE = Path("data/news.duckdb")
"""The default before the lake: kept where it exists and no default lake does."""


def default_db() -> str:
    """The default lake, or the DuckDB file an earlier version wrote by default."""
    if LEGACY_FILE.exists() and not Path(DEFAULT_LAKE.split(":", 2)[2]).exists():
        return str(LEGACY_FILE)
    return DEFAULT_LAKE


class Settings(BaseSettings):
    """Every knob an operator can turn without touching code."""

    # An empty value (`NEWSDESK_X=` as Compose files and systemd units write it) means the default.
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore", env_ignore_empty=True)

    db: str = Field(
        default_factory=lambda: default_db(),
        description=(
            "The warehouse: a DuckLake catalog, `ducklake:sqlite:PATH` (one machine, several "
            "processes; the default, data/lake/catalog.sqlite) or `ducklake:postgres:DSN` (many "
            "machines), or a DuckDB file (data/news.duckdb where one was made before the lake "
            "became the default)."
        ),
    )
    lake_data_path: str | None = Field(
        None,
        description=(
            "Where a new lake keeps its Parquet files: a local path, a shared mount or s3://… "
            "(default: `data/` beside a SQLite catalog; required for a PostgreSQL catalog)."
        ),
    )
    lake_inline_rows: int = Field(
        0,
        ge=0,
        description=(
            "A lake commit of at most this many rows to a table goes into the catalog rather "
            "than a Parquet file of its own (DuckLake's data inlining). Off by default: a "
            "reader attached across maintenance's flush of inlined rows fails every later "
            "query (duckdb/ducklake#1305)."
        ),
    )
    lake_keep_snapshots_hours: float = Field(
        168.0,
        gt=0,
        description=(
            "Maintenance expires lake snapshots older than this: time travel "
            "(`AT (VERSION => …)`) and change feeds reach this far back."
        ),
    )
    lake_file_grace_hours: float = Field(
        1.0,
        ge=0,
        description=(
            "Maintenance deletes a data file no snapshot reads once it has been unused this "
            "long (a reader that opened an older snapshot may still be reading it)."
        ),
    )
    feeds: Path = Field(Path("feeds.toml"), description="Feeds file (TOML).")
    user_agent: str = Field(DEFAULT_USER_AGENT, description="User-Agent sent with every request.")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to open a connection.")
    read_timeout: float = Field(20.0, gt=0, description="Seconds to wait between bytes.")
    total_timeout: float = Field(60.0, gt=0, description="Seconds for one whole response.")
    max_response_bytes: int = Field(
        10 * 1024 * 1024, gt=0, description="Largest body accepted, after decompression."
    )
    max_redirects: int = Field(5, ge=0, description="Redirects followed per request.")
    feed_concurrency: int = Field(16, gt=0, description="Feeds fetched at once.")
    article_concurrency: int = Field(32, gt=0, description="Article pages fetched at once.")
    per_host_concurrency: int = Field(2, gt=0, description="Requests at once to one host.")
    per_host_delay: float = Field(
        0.5, ge=0, description="Seconds between the starts of two requests to one host."
    )
    respect_robots_txt: bool = Field(
        True, description="Fetch an article page only when the site's robots.txt allows it."
    )
    retry_after_max: float = Field(
        30.0,
        ge=0,
        description=(
            "Longest Retry-After (429/503) waited for before one retry; a longer one fails the "
            "request, and a feed is then not polled again before that time."
        ),
    )
    backoff_base: float = Field(
        900.0, gt=0, description="Seconds a feed rests after its first failure; doubles each time."
    )
    backoff_max: float = Field(
        86400.0, gt=0, description="Longest rest of a failing feed, in seconds."
    )
    poll_interval_min: float = Field(
        300.0, gt=0, description="Shortest interval between two polls of a feed, in seconds."
    )
    poll_interval_max: float = Field(
        86400.0,
        gt=0,
        description=(
            "Longest interval between two polls of a feed, in seconds: however quiet it is or "
            "whatever its ttl or Cache-Control says."
        ),
    )
    poll_jitter: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="Each feed's next poll moves by up to this share of its interval.",
    )
    lock_wait: float = Field(
        30.0,
        ge=0,
        description=(
            "Seconds to wait for another process's lock on the warehouse before the batch "
            "goes to the spool."
        ),
    )
    max_articles_per_feed: int = Field(
        100, ge=0, description="New articles taken from one feed per run (0: no limit)."
    )
    batch_size: int = Field(
        500,
        ge=0,
        description=(
            "Articles a run downloads, extracts and writes per batch, each its own commit: "
            "memory holds one batch (0: the whole run in one batch)."
        ),
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        gt=0,
        description="Processes extracting article text (default: the number of cores).",
    )
    extract_timeout: float = Field(
        20.0,
        gt=0,
        description=(
            "Seconds one page may take to extract; past it its worker is stopped and replaced, "
            "and the article is stored from the feed's text."
        ),
    )
    parse_timeout: float = Field(
        60.0,
        gt=0,
        description=(
            "Seconds one feed body may take to parse; past it its worker is stopped and the "
            "poll counts as failed (the feed backs off and is fetched again)."
        ),
    )
    allow_private_network: bool = Field(
        False,
        description=(
            "Fetch article links that resolve to loopback, private or link-local addresses. "
            "Off by default: feeds are untrusted input."
        ),
    )
    max_sitemaps: int = Field(
        10,
        ge=0,
        description=(
            "Sitemaps of a sitemap index fetched with it, most recently modified first "
            "(only those on the index's own host)."
        ),
    )
    ingest_interval_minutes: int = Field(
        15, gt=0, description="How often `newsdesk serve` runs the scheduled ingest deployment."
    )
    ingest_cron: str | None = Field(
        None, description="A cron schedule for ingest instead of the interval, e.g. '*/10 * * * *'."
    )
    shards: int = Field(
        1,
        gt=0,
        description=(
            "Deploy ingest as this many deployments, one per shard of the feeds (by a hash of "
            "the feed name), so that runs of different shards run at once on different workers."
        ),
    )
    maintenance_cron: str = Field(
        "30 3 * * *", description="When `newsdesk serve` runs the daily maintenance (UTC cron)."
    )
    story_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description=(
            "Estimated share of word 3-grams two texts must have in common to be one story "
            "(MinHash Jaccard similarity)."
        ),
    )
    story_window_days: float = Field(
        3.0, gt=0, description="New articles are compared with the stories of this many days."
    )
    prefect_server: Literal["background", "ephemeral"] = Field(
        "background",
        description=(
            "Without PREFECT_API_URL: `background` uses a local Prefect server (newsdesk's own, "
            "started on first use and kept, or one on 127.0.0.1:4200); `ephemeral` lets Prefect "
            "start a temporary one for each run."
        ),
    )
    retry_schedule: str = Field(
        DEFAULT_SCHEDULE,
        description=(
            "Waits before fetching a page that failed in a way that can heal (5xx, 429, timeout, "
            "lost connection, unreachable robots.txt) again, one per further attempt (units s, "
            "m, h, d); once they are used up the page is given up. `none`: no retries."
        ),
    )
    retry_per_run: int = Field(
        50, ge=0, description="Pages of the retry queue fetched again per run, after new articles."
    )

    alert_cooldown_hours: float = Field(
        6.0,
        ge=0,
        description=(
            "After an alert about a feed, no other alert goes out for it for this long; its "
            "status then is announced if it differs from the one last announced."
        ),
    )
    alert_digest: int = Field(
        5,
        ge=0,
        description=(
            "A run that alerts about more feeds than this sends one digest event instead of "
            "one per feed."
        ),
    )
    alert_block: str = Field(
        "custom-webhook/newsdesk-alerts",
        description=(
            "The Prefect notification block (`<block type>/<name>`) that `newsdesk alerts` "
            "points the feed-status automation at."
        ),
    )

    @field_validator("retry_schedule")
    @classmethod
    def _readable_schedule(cls, value: str) -> str:
        parse_schedule(value)  # a ValueError here names the part it cannot read
        return value

    def retry_policy(self) -> RetryPolicy:
        """The part of the settings the retry queue takes."""
        return RetryPolicy(parse_schedule(self.retry_schedule), self.retry_per_run)

    def poll_policy(self) -> PollPolicy:
        """How often healthy feeds are polled and how failing ones rest."""
        return PollPolicy(
            minimum=self.poll_interval_min,
            maximum=max(self.poll_interval_max, self.poll_interval_min),
            jitter=self.poll_jitter,
            backoff=Backoff(self.backoff_base, self.backoff_max),
        )

    def health_policy(self) -> HealthPolicy:
        """How feeds are judged against their own normal and how their alerts go out."""
        return HealthPolicy(
            cool_down=timedelta(hours=self.alert_cooldown_hours), digest_over=self.alert_digest
        )

    def pool_config(self) -> PoolConfig:
        """The workers' part of the settings."""
        return PoolConfig(self.workers, self.extract_timeout, self.parse_timeout)

    def legacy_notice(self) -> str | None:
        """One line for the owner of the DuckDB file earlier versions wrote by default."""
        if self.db != str(LEGACY_FILE) or "NEWSDESK_DB" in os.environ:
            return None
        return (
            f"{LEGACY_FILE}: a DuckDB file, which an open analyst session keeps runs from "
            f"writing; `newsdesk migrate --to {DEFAULT_LAKE}` moves it to a lake"
        )

    def warehouse(self, db: Path | str | None = None) -> Warehouse:
        """The warehouse handle for `db` (default: NEWSDESK_DB), file or lake."""
        # Imported here: DuckDB and Arrow cost every CLI command their start-up otherwise.
        from storage import Warehouse

        return Warehouse(
            db or self.db,
            lock_wait=self.lock_wait,
            data_path=self.lake_data_path,
            inline_rows=self.lake_inline_rows,
        )

    def fetch_config(self) -> FetchConfig:
        """The part of the settings the network edge takes."""
        return FetchConfig(**{f.name: getattr(self, f.name) for f in fields(FetchConfig)})
