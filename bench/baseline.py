"""The limit: a bare pool of worker processes running trafilatura on pages read from disk.

No HTTP, no Prefect, no normalization, no warehouse: each worker reads a page file and calls
`trafilatura.extract` with trafilatura's defaults, one pass a page, as anyone would run it
without newsdesk. The pool is started and warmed before the clock starts, so the figure is
extraction alone, as fast as the cores allow.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import trafilatura


def _extract(job: tuple[Path, str]) -> int:
    path, url = job
    return len(trafilatura.extract(path.read_bytes(), url=url) or "")


def _warm(_: int) -> None:
    return None


def run(jobs: list[tuple[Path, str]], workers: int | None = None) -> dict[str, float]:
    """Extract every (page file, URL) job; pages per second over `workers` processes."""
    workers = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        list(pool.map(_warm, range(workers * 2)))
        started = time.perf_counter()
        extracted = sum(1 for chars in pool.map(_extract, jobs, chunksize=8) if chars)
        seconds = time.perf_counter() - started
    return {
        "pages": len(jobs),
        "extracted": extracted,
        "workers": workers,
        "seconds": seconds,
        "pages_per_s": len(jobs) / seconds,
    }
