"""Kill -9 trials on a lake: `newsdesk ingest` processes on a SQLite-catalog and on a
PostgreSQL-catalog lake over overlapping feeds, SIGKILLed at random moments, alone and beside
a writer that is not killed.

The feeds grow between trials, so every run has new articles to be killed in the middle of:
start-up, polling, waiting for the commit lock, the lake commit. After every trial the lake must
open and hold no duplicate; a final clean run must then store every article the feeds list,
once (a killed holder of the commit lock lets the next writer in: the lock dies with it).

Selected with `-m crash`, like the trials on the file. The seed is printed so a failure can be
replayed with NEWSDESK_KILL9_SEED.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest
from lakes import lake_url, postgres  # noqa: F401

from harness.cli import start_ingest
from harness.httpserver import LocalServer
from harness.invariants import check_warehouse
from harness.kills import kill_group
from harness.sites import OverlapSite, write_feeds_file
from storage import Warehouse

pytestmark = pytest.mark.crash

KILLS = 10
"""Trials whose kill landed while the run was alive."""
MAX_TRIALS = 20
FEEDS = 6
START_STORIES = 24
NEW_PER_TRIAL = 8


def test_kill_9_on_a_lake_converges_with_nothing_lost_or_doubled(
    tmp_path,
    prefect_api,
    lake_url,  # noqa: F811
) -> None:
    seed = int(os.environ.get("NEWSDESK_KILL9_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"lake kill -9 trials: seed {seed}")
    db = lake_url
    env = {
        "PREFECT_API_URL": prefect_api,
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        "NEWSDESK_MAX_ARTICLES_PER_FEED": "0",
    }
    if db.startswith("ducklake:postgres:"):  # a SQLite catalog keeps its files beside it
        env["NEWSDESK_LAKE_DATA_PATH"] = f"{tmp_path / 'lake-data'}/"
    landed: list[float] = []
    modes: Counter[str] = Counter()
    with LocalServer() as server:
        site = OverlapSite(server, FEEDS, START_STORIES)
        urls = site.feed_urls()
        names = list(urls)

        def feeds_file(name: str, feeds: list[int]) -> Path:
            return write_feeds_file(
                tmp_path / f"{name}.toml", {names[f]: urls[names[f]] for f in feeds}
            )

        everything = feeds_file("all", list(range(FEEDS)))
        # The killed writer and the one beside it share feeds 2 and 3, and every story is
        # listed by two neighbouring feeds: they race for the same articles and sightings.
        killed_feeds = feeds_file("killed", [0, 1, 2, 3])
        beside_feeds = feeds_file("beside", [2, 3, 4, 5])

        # One undisturbed run first, to learn how long a run lasts on this machine.
        started = time.monotonic()
        first = start_ingest(everything, db, env)
        assert first.wait(timeout=300) == 0, _stderr(first)
        duration = time.monotonic() - started
        check_warehouse(db)

        for trial in range(1, MAX_TRIALS + 1):
            if len(landed) >= KILLS:
                break
            site.stories += NEW_PER_TRIAL
            beside = trial % 2 == 0
            proc = start_ingest(killed_feeds if beside else everything, db, env)
            survivor = start_ingest(beside_feeds, db, env) if beside else None
            moment = rng.uniform(0.2, duration * 1.1)
            time.sleep(moment)
            alive = proc.poll() is None
            kill_group(proc)
            if survivor is not None:
                assert survivor.wait(timeout=300) == 0, _stderr(survivor)
            check_warehouse(db)
            if alive:
                landed.append(round(moment, 2))
                modes["beside a writer" if beside else "alone"] += 1

        assert len(landed) >= KILLS, f"only {len(landed)} kills landed in a live run"
        final = start_ingest(everything, db, env)
        assert final.wait(timeout=300) == 0, _stderr(final)
        counts = check_warehouse(db)
        _, rows = Warehouse(db).query("SELECT url FROM articles")
        assert {url for (url,) in rows} == site.listed()
        assert counts["sightings"] == site.sightings()
        assert counts["feeds"] == FEEDS
    print(
        f"lake kill -9 trials: {len(landed)} kills in live runs (run lasts {duration:.1f} s), "
        f"at {sorted(landed)} s; {dict(modes)}; final: {counts}"
    )


def _stderr(proc) -> str:
    return proc.stderr.read().decode(errors="replace") if proc.stderr else ""
