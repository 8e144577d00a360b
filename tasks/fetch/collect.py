"""The two network stages of a run: poll every feed, then download new articles and hand each
page to an extraction worker as it arrives (the extraction itself is the page stage's, passed in).

Downloads are asyncio (bounded globally and per host); extraction is CPU-bound and runs in a
process pool sized to the cores (`pool.WorkerPool`: a time limit per page, and a worker that dies
costs only its page). The two overlap: a page is handed to a worker as soon as it
arrives, and its HTML is dropped once the article is built, so memory holds at most
`article_concurrency` pages whatever the size of the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from tasks import progress
from tasks.fetch.config import FetchConfig
from tasks.fetch.http import HostLimiter, fetch_feed, fetch_page, make_client
from tasks.fetch.pool import WorkerLost, WorkerPool
from tasks.fetch.robots import RobotsRules
from tasks.models import Article, FeedEntry, FeedSpec, FeedState, FetchedFeed, Page

Extract = Callable[[FeedEntry, Page], Article]
"""Page to article, run in a worker process: a module-level function, so that it pickles."""


async def fetch_feeds(
    specs: Sequence[FeedSpec],
    states: Mapping[str, FeedState],
    config: FetchConfig,
    children: Callable[[bytes], Sequence[str]] | None = None,
) -> list[FetchedFeed]:
    """Poll every feed concurrently; failures come back as `outcome == "failed"`, never raise.
    `children` finds the documents fetched with a body (see `fetch_feed`)."""
    limiter = HostLimiter(
        config.per_host_concurrency,
        total=config.feed_concurrency,
        delay=config.per_host_delay,
    )
    progress.report("feeds", 0, len(specs))

    async with make_client(config) as client:

        async def one(spec: FeedSpec) -> FetchedFeed:
            fetched = await fetch_feed(
                client, limiter, spec, states.get(spec.name), config, children
            )
            progress.report("feeds", 1)
            return fetched

        return list(await asyncio.gather(*(one(spec) for spec in specs)))


async def collect_articles(
    entries: Sequence[FeedEntry],
    config: FetchConfig,
    pool: WorkerPool,
    extract: Extract,
    *,
    announce: bool = True,
    spacing: dict[str, float] | None = None,
) -> list[Article]:
    """Download each entry's page and turn it into an `Article` with `extract` in `pool`, in
    entry order. Without `announce` the caller has told `progress` the total (a run of
    several batches); `spacing` carries the per-host spacing from one batch to the next
    (see `HostLimiter`)."""
    # A gate slot is held from download until extraction ends: it bounds the pages in memory.
    gate = asyncio.Semaphore(config.article_concurrency)
    limiter = HostLimiter(
        config.per_host_concurrency,
        total=config.article_concurrency,
        delay=config.per_host_delay,
        not_before=spacing,
    )
    if announce:
        progress.report("articles", 0, len(entries))
    articles: list[Article | None] = [None] * len(entries)

    # Article links come from feeds: untrusted, so only public addresses unless allowed.
    public_only = not config.allow_private_network
    async with make_client(config, public_only=public_only) as client:
        robots = RobotsRules(client, config) if config.respect_robots_txt else None

        async def one(index: int) -> None:
            entry = entries[index]
            async with gate:
                # The worker decodes: it runs in parallel, and bytes pickle faster than text.
                page = await fetch_page(client, limiter, entry.url, config, robots)
                try:
                    articles[index] = await pool.run(extract, entry, page)
                except WorkerLost as lost:
                    articles[index] = await _from_feed(pool, extract, entry, page, lost)
            progress.report("articles", 1)

        # Gate slots are granted in order; interleaving hosts keeps one busy host from holding
        # them all while it is limited to `per_host_concurrency` requests.
        await asyncio.gather(*(one(i) for i in _interleave_hosts(entries)))
    return [a for a in articles if a is not None]


async def _from_feed(
    pool: WorkerPool,
    extract: Extract,
    entry: FeedEntry,
    page: Page,
    lost: WorkerLost,
) -> Article:
    """The entry from its feed's text, as after a failed fetch: its page ran past the time
    limit or killed its worker, so it is not read again."""
    page = replace(page, body=None, error=str(lost), retryable=False)
    try:
        return await pool.run(extract, entry, page)  # a fresh worker: fast, and off the loop
    except WorkerLost:  # twice is not the page's doing; here it costs the language model's load
        return extract(entry, page)


def _interleave_hosts(entries: Sequence[FeedEntry]) -> list[int]:
    """Entry indexes in round-robin order over their hosts."""
    by_host: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        by_host.setdefault(urlsplit(entry.url).hostname or "", []).append(index)
    queues = list(by_host.values())
    order: list[int] = []
    for rank in range(max((len(q) for q in queues), default=0)):
        order.extend(q[rank] for q in queues if rank < len(q))
    return order
