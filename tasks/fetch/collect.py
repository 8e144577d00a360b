"""The two network stages of a run: poll every feed, then download new articles and hand each
page to an extraction worker as it arrives (the extraction itself is the page stage's, passed in).

Downloads are asyncio (bounded globally and per host); extraction is CPU-bound and runs in a
process pool sized to the cores. The two overlap: a page is handed to a worker as soon as it
arrives, and its HTML is dropped once the article is built, so memory holds at most
`article_concurrency` pages whatever the size of the run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from urllib.parse import urlsplit

from tasks import progress
from tasks.fetch.config import FetchConfig
from tasks.fetch.http import HostLimiter, fetch_feed, fetch_page, make_client
from tasks.fetch.robots import RobotsRules
from tasks.models import Article, FeedEntry, FeedSpec, FeedState, FetchedFeed, Page


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


Extract = Callable[[FeedEntry, Page], Article]
"""Page to article, run in a worker process: a module-level function, so that it pickles."""


def process_pool(workers: int, preload: Sequence[str] = ()) -> ProcessPoolExecutor:
    """Extraction workers. forkserver keeps them clear of the threads Prefect runs in this
    process (fork could copy a held lock); the server imports the `preload` modules once for
    all of them (trafilatura and the language model take seconds)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


async def collect_articles(
    entries: Sequence[FeedEntry], config: FetchConfig, pool: Executor, extract: Extract
) -> list[Article]:
    """Download each entry's page and turn it into an `Article` with `extract` in `pool`, in
    entry order."""
    # A gate slot is held from download until extraction ends: it bounds the pages in memory.
    gate = asyncio.Semaphore(config.article_concurrency)
    limiter = HostLimiter(
        config.per_host_concurrency,
        total=config.article_concurrency,
        delay=config.per_host_delay,
    )
    loop = asyncio.get_running_loop()
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
                articles[index] = await loop.run_in_executor(pool, extract, entry, page)
            progress.report("articles", 1)

        # Gate slots are granted in order; interleaving hosts keeps one busy host from holding
        # them all while it is limited to `per_host_concurrency` requests.
        await asyncio.gather(*(one(i) for i in _interleave_hosts(entries)))
    return [a for a in articles if a is not None]


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
