"""Prefect tasks for the steps of a run: thin wrappers over the stages and the warehouse handle.

Tasks are sized by stage, not by feed or article: a Prefect task run costs milliseconds in the
flow and an API record, which one task per article would multiply by thousands. Only network
stages would benefit from Prefect retries, and they already retry nothing blindly: a failed feed
is recorded and retried by the next scheduled run. Nothing is cached: inputs are large (feed
bodies, pages), hashing them would cost more than the work, and a rerun wants fresh data anyway.

This module is where the stages meet: the fetch stage is handed the page stage's extraction and
the warehouse its batch; the stages themselves never import each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import Compaction, Warehouse
from tasks.feeds.parse import parse_feed
from tasks.feeds.sitemap import sitemap_children
from tasks.fetch import collect
from tasks.fetch.config import FetchConfig
from tasks.fetch.pool import PoolConfig, WorkerLost, WorkerPool
from tasks.models import (
    Article,
    Batch,
    FeedEntry,
    FeedSpec,
    FeedState,
    FetchedFeed,
    KnownUrls,
    ParsedFeed,
    RunRecord,
    StatusChange,
    StoredState,
    StorySketch,
    WriteOutcome,
)
from tasks.page.extract import extract_article
from tasks.run import health
from tasks.run.health import HealthPolicy

# Imported once by the workers' fork server, for every worker forked from it.
WORKER_PRELOAD = ("tasks.page.worker_preload", "tasks.feeds.parse")


@task(name="poll-feeds", cache_policy=NO_CACHE, persist_result=False)
def poll_feeds(
    specs: Sequence[FeedSpec], states: Mapping[str, FeedState], config: FetchConfig
) -> list[FetchedFeed]:
    return asyncio.run(collect.fetch_feeds(specs, states, config, sitemap_children))


@task(name="parse-feeds", cache_policy=NO_CACHE, persist_result=False)
def parse_feeds(fetched: Sequence[FetchedFeed], pool: PoolConfig) -> list[ParsedFeed]:
    """Parse every feed body that changed since the last poll; unchanged feeds cost nothing.

    Bodies are parsed in worker processes with `pool.parse_timeout` each: a valid body can cost
    feedparser hours (one element with 300,000 attributes: its attribute lookup is quadratic),
    in pure Python that no signal or timeout in this process would stop.
    """
    bodies = [f for f in fetched if f.outcome == "ok" and f.body is not None]
    if not bodies:
        return []

    async def parse_all(workers: WorkerPool) -> list[ParsedFeed]:
        return list(await asyncio.gather(*(_parse_in(workers, f) for f in bodies)))

    size = max(1, min(pool.workers, len(bodies)))
    with WorkerPool(
        size, timeout=pool.parse_timeout, preload=WORKER_PRELOAD, doing="feed parsing"
    ) as workers:
        return asyncio.run(parse_all(workers))


async def _parse_in(workers: WorkerPool, fetched: FetchedFeed) -> ParsedFeed:
    try:
        return await workers.run(
            parse_feed,
            fetched.feed.name,
            fetched.body,
            fetched.final_url or fetched.feed.url,
            fetched.content_type,
            fetched.feed.language,
            fetched.parts,
        )
    except WorkerLost as exc:  # past the time limit, or its worker died
        return ParsedFeed(fetched.feed.name, usable=False, problem=str(exc))
    except Exception as exc:  # an answer that does not pickle
        return ParsedFeed(fetched.feed.name, usable=False, problem=f"not parsed: {exc!r}")


@contextmanager
def extraction_pool(pool: PoolConfig, pages: int) -> Iterator[WorkerPool]:
    """The extraction workers of a run that reads `pages` pages, kept across its batches."""
    size = max(1, min(pool.workers, pages))
    with WorkerPool(size, timeout=pool.timeout, preload=WORKER_PRELOAD) as workers:
        yield workers


@task(name="download-and-extract", cache_policy=NO_CACHE, persist_result=False)
def download_and_extract(
    entries: Sequence[FeedEntry],
    config: FetchConfig,
    workers: WorkerPool,
    spacing: dict[str, float] | None = None,
) -> list[Article]:
    """A batch's pages; `spacing`, shared by a run's batches, keeps requests to one host
    `per_host_delay` apart across batches too."""
    if not entries:
        return []
    return asyncio.run(
        collect.collect_articles(
            entries, config, workers, extract_article, announce=False, spacing=spacing
        )
    )


@task(name="cluster-stories", cache_policy=NO_CACHE, persist_result=False)
def cluster_stories(
    articles: Sequence[Article], recent: Sequence[StorySketch], threshold: float
) -> tuple[list[Article], list[StorySketch]]:
    """Give each new article the story of a recent near-duplicate, or a story of its own."""
    if not articles:
        return [], []
    from tasks.run.stories import cluster_articles  # datasketch loads scipy: only when needed

    return cluster_articles(articles, recent, threshold)


# --- The warehouse: one task per open, so a run never holds the file between its steps. ---


@task(name="prepare-warehouse", cache_policy=NO_CACHE, persist_result=False)
def prepare_warehouse(warehouse: Warehouse, merge: bool = True) -> tuple[RunRecord, ...]:
    """Create or migrate the warehouse and merge spooled batches (see `Warehouse.prepare`)."""
    return warehouse.prepare(merge=merge)


@task(name="load-state", cache_policy=NO_CACHE, persist_result=False)
def load_state(warehouse: Warehouse, stories_since: datetime, now: datetime) -> StoredState:
    """Feed states, recent story sketches and the pages due again (see `Warehouse.load_state`)."""
    return warehouse.load_state(stories_since=stories_since, now=now)


@task(name="find-known-articles", cache_policy=NO_CACHE, persist_result=False)
def find_known(warehouse: Warehouse, entries: Sequence[FeedEntry]) -> KnownUrls:
    """What the warehouse holds for these entries' URLs and guids."""
    return warehouse.find_known(
        [(e.feed_name, e.url) for e in entries],
        [(e.feed_name, e.guid) for e in entries if e.guid],
    )


@task(name="write-batch", cache_policy=NO_CACHE, persist_result=False)
def write_batch(warehouse: Warehouse, batch: Batch) -> WriteOutcome:
    """Write the batch, after any spooled ones; spool it if the lock stays taken."""
    return warehouse.write(batch)


@task(name="maintain-warehouse", cache_policy=NO_CACHE, persist_result=False)
def maintain(
    warehouse: Warehouse, day: date, export_dir: Path, failing_since: datetime
) -> tuple[Path, int, list[FeedState]]:
    """Checkpoint, export `day`, and list feeds failing since `failing_since`, in one open."""
    return warehouse.maintain(day, export_dir, failing_since)


@task(name="compact-lake", cache_policy=NO_CACHE, persist_result=False)
def compact_lake(
    warehouse: Warehouse, keep_snapshots: timedelta, file_grace: timedelta
) -> Compaction | None:
    """Merge a lake's small files and remove the ones no snapshot needs (see
    `Warehouse.compact`)."""
    return warehouse.compact(keep_snapshots=keep_snapshots, file_grace=file_grace)


@task(name="judge-feeds", cache_policy=NO_CACHE, persist_result=False)
def judge_feeds(
    warehouse: Warehouse,
    states: Sequence[FeedState],
    now: datetime,
    run_id: str,
    policy: HealthPolicy,
) -> list[StatusChange]:
    """Judge the feeds this run polled against their own normal (`tasks.run.health`), record
    the statuses and alerts that moved, and return the changes."""
    names = [s.name for s in states]
    histories, statuses = warehouse.feed_judgement_inputs(
        names,
        since=health.history_since(now, policy),
        pages_since=now - health.JUNK_WINDOW,
        pages=health.JUNK_PAGES,
    )
    rows, changes = health.judge_feeds(
        histories, {s.name: s for s in states}, statuses, names, now, run_id, policy
    )
    warehouse.record_feed_status(rows)
    return changes
