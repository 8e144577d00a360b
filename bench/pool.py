"""The extraction pool: what the time limit and the dead-worker guard cost, and what they buy.

    .venv/bin/python -m bench.pool [--corpus DIR] [--rounds N]

Both pools run `extract_article` over every corpus page (bytes, as the run hands them over),
forkserver workers with the same preload, one worker per core, warmed before the clock starts:

1. `ProcessPoolExecutor` (what runs used before) against `tasks.fetch.pool.WorkerPool`, in
   alternating rounds so that a busy machine slows both alike; the median round of each;
2. a page that would hold a worker for minutes: how long after the limit its task ends;
3. worker replacement: pages with a worker SIGKILLed every 0.05–0.4 s; every page must come
   back, as an article or as a lost worker, and the run must end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from harness.corpus import CORPUS
from tasks.fetch.pool import WorkerLost, WorkerPool
from tasks.models import FeedEntry, Page
from tasks.page.extract import extract_article

PRELOAD = ["tasks.page.worker_preload"]
Job = tuple[FeedEntry, Page]


def jobs_from(corpus: Path) -> list[Job]:
    pages = sorted((corpus / "articles").glob("*.html"))
    return [
        (
            FeedEntry("bench", f"http://h{i % 8}.test/{p.stem}", title=p.stem, summary="text"),
            Page(
                f"http://h{i % 8}.test/{p.stem}",
                http_status=200,
                body=p.read_bytes(),
                content_type="text/html",
            ),
        )
        for i, p in enumerate(pages)
    ]


def _noop() -> None:
    return None


async def _executor_round(pool: ProcessPoolExecutor, jobs: Sequence[Job]) -> float:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    await asyncio.gather(*(loop.run_in_executor(pool, extract_article, e, p) for e, p in jobs))
    return time.perf_counter() - started


async def _pool_round(pool: WorkerPool, jobs: Sequence[Job]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(pool.run(extract_article, e, p) for e, p in jobs))
    return time.perf_counter() - started


def compare(jobs: Sequence[Job], workers: int, rounds: int) -> dict[str, float]:
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    executor_times: list[float] = []
    pool_times: list[float] = []
    with (
        ProcessPoolExecutor(max_workers=workers, mp_context=context) as executor,
        WorkerPool(workers, preload=PRELOAD) as pool,
    ):

        async def warm() -> None:
            loop = asyncio.get_running_loop()
            await asyncio.gather(
                *(loop.run_in_executor(executor, _noop) for _ in range(workers * 2)),
                *(pool.run(_noop) for _ in range(workers * 2)),
            )

        asyncio.run(warm())
        for _ in range(rounds):
            executor_times.append(asyncio.run(_executor_round(executor, jobs)))
            pool_times.append(asyncio.run(_pool_round(pool, jobs)))
    return {
        "executor_s": statistics.median(executor_times),
        "pool_s": statistics.median(pool_times),
    }


def _stalling_page() -> Job:
    body = (
        "<html><body><article>"
        + "".join(f"<p>line {i}</p>" for i in range(150_000))
        + "</article></body></html>"
    ).encode()
    url = "http://stall.test/endless"
    page = Page(url, http_status=200, body=body, content_type="text/html")
    return FeedEntry("bench", url, summary="text"), page


def time_limit(limit: float) -> float:
    """Seconds from the limit to the end of the stalled task."""
    entry, page = _stalling_page()

    async def go(pool: WorkerPool) -> float:
        await pool.run(_noop)
        started = time.perf_counter()
        try:
            await pool.run(extract_article, entry, page)
        except WorkerLost:
            return time.perf_counter() - started - limit
        raise AssertionError("the stalling page finished within the limit")

    with WorkerPool(1, timeout=limit, preload=PRELOAD) as pool:
        return asyncio.run(go(pool))


def under_kills(jobs: Sequence[Job], workers: int) -> dict[str, float]:
    """Every page comes back while workers are SIGKILLed at random."""
    outcomes: list[str] = []
    kills = 0

    async def go(pool: WorkerPool) -> float:
        nonlocal kills
        stop = threading.Event()
        rng = random.Random(1)

        def killer() -> None:
            nonlocal kills
            while not stop.wait(rng.uniform(0.05, 0.4)):
                pids = [w.process.pid for w in [*pool._busy, *pool._idle] if w.process.pid]
                if pids:
                    try:
                        os.kill(rng.choice(pids), signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass

        async def one(job: Job) -> None:
            try:
                await pool.run(extract_article, *job)
                outcomes.append("article")
            except WorkerLost:
                outcomes.append("lost")

        await pool.run(_noop)
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        started = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.gather(*(one(j) for j in jobs)), 600)
        finally:
            stop.set()
            thread.join()
        return time.perf_counter() - started

    with WorkerPool(workers, preload=PRELOAD) as pool:
        seconds = asyncio.run(go(pool))
    return {
        "seconds": seconds,
        "kills": kills,
        "articles": outcomes.count("article"),
        "lost": outcomes.count("lost"),
        "pages": len(jobs),
    }


def _row(cells: Sequence[Any], widths: Sequence[int]) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    jobs = jobs_from(args.corpus)
    if not jobs:
        parser.error(f"no pages in {args.corpus}/articles")

    speed = compare(jobs, args.workers, args.rounds)
    late = time_limit(2.0)
    kills = under_kills(jobs, args.workers)
    widths = (44, 24)
    lines = [
        _row(("measure", "value"), widths),
        _row(
            (
                f"{len(jobs)} pages, ProcessPoolExecutor (median of {args.rounds})",
                f"{speed['executor_s']:.2f} s",
            ),
            widths,
        ),
        _row((f"{len(jobs)} pages, WorkerPool", f"{speed['pool_s']:.2f} s"), widths),
        _row(
            ("WorkerPool / ProcessPoolExecutor", f"{speed['pool_s'] / speed['executor_s']:.2f}"),
            widths,
        ),
        _row(("stalled page ends after the 2 s limit by", f"{late:.2f} s"), widths),
        _row(
            (
                f"{kills['kills']} SIGKILLs during {kills['pages']} pages",
                f"{kills['articles']} articles, {kills['lost']} lost, {kills['seconds']:.1f} s",
            ),
            widths,
        ),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
