"""Prefect tasks for the stages of an ingest run: thin wrappers over the plain functions.

Tasks are sized by stage, not by feed or article: a Prefect task run costs milliseconds in the
flow and an API record, which one task per article would multiply by thousands. Only network
stages would benefit from Prefect retries, and they already retry nothing blindly: a failed feed
is recorded and retried by the next scheduled run. Nothing is cached: inputs are large (feed
bodies, pages), hashing them would cost more than the work, and a rerun wants fresh data anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from newsdesk.settings import Settings
from tasks.feeds.parse import parse_feed
from tasks.fetch import collect
from tasks.fetch.pool import WorkerPool
from tasks.models import (
    Article,
    FeedEntry,
    FeedSpec,
    FeedState,
    FetchedFeed,
    ParsedFeed,
    StorySketch,
)


@task(name="poll-feeds", cache_policy=NO_CACHE, persist_result=False)
def poll_feeds(
    specs: Sequence[FeedSpec], states: Mapping[str, FeedState], settings: Settings
) -> list[FetchedFeed]:
    return asyncio.run(collect.fetch_feeds(specs, states, settings))


@task(name="parse-feeds", cache_policy=NO_CACHE, persist_result=False)
def parse_feeds(fetched: Sequence[FetchedFeed]) -> list[ParsedFeed]:
    """Parse every feed body that changed since the last poll; unchanged feeds cost nothing."""
    return [
        parse_feed(
            f.feed.name,
            f.body,
            base_url=f.final_url or f.feed.url,
            content_type=f.content_type,
            default_language=f.feed.language,
        )
        for f in fetched
        if f.outcome == "ok" and f.body is not None
    ]


@task(name="download-and-extract", cache_policy=NO_CACHE, persist_result=False)
def download_and_extract(entries: Sequence[FeedEntry], settings: Settings) -> list[Article]:
    if not entries:
        return []
    workers = min(settings.workers, len(entries))
    # The fork server imports trafilatura and loads the language model once for all workers.
    preload = ["tasks.page.worker_preload"]
    with WorkerPool(workers, timeout=settings.extract_timeout, preload=preload) as pool:
        return asyncio.run(collect.collect_articles(entries, settings, pool))


@task(name="cluster-stories", cache_policy=NO_CACHE, persist_result=False)
def cluster_stories(
    articles: Sequence[Article], recent: Sequence[StorySketch], threshold: float
) -> tuple[list[Article], list[StorySketch]]:
    """Give each new article the story of a recent near-duplicate, or a story of its own."""
    if not articles:
        return [], []
    from tasks.run.stories import cluster_articles  # datasketch loads scipy: only when needed

    return cluster_articles(articles, recent, threshold)
