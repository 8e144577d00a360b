"""Kill -9 trials: the real `newsdesk ingest` process, SIGKILLed at random moments.

Feeds on a local server grow between trials (and some entries are edited), so every run has new
work to be killed in the middle of: start-up, polling, downloading, extracting, writing, and,
in some trials, spooling behind another process's lock or merging the spool. After every kill
the warehouse must open and hold no duplicate and no half-written batch; a final clean run must
then store every article the feeds list.

Selected with `-m crash` (deselect with `-m "not crash"`); it runs in CI. The seed is printed so
a failure can be replayed with NEWSDESK_KILL9_SEED.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from harness.analyst import AnalystSession
from harness.cli import start_ingest
from harness.httpserver import LocalServer, Reply, Seen
from harness.invariants import check_warehouse
from harness.kills import kill_group
from harness.pages import T0, article_page, atom, atom_entry
from harness.sites import slow_page, write_feeds_file
from tasks.urls import normalize_url

pytestmark = pytest.mark.crash

KILLS = 20
"""Trials whose kill landed while the run was alive; the issue asks for at least 20."""
MAX_TRIALS = 40
FEEDS = 3
START_ENTRIES = 10
NEW_PER_TRIAL = 2


class GrowingSite:
    """Feeds whose entries grow with `trial`; entry k of each feed is edited every 7 trials."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.trial = 0
        for feed in range(FEEDS):
            server.routes[f"/feed-{feed}.xml"] = self._feed_route(feed)
        server.routes["/robots.txt"] = Reply(status=404)

    def entries(self, feed: int) -> int:
        return START_ENTRIES + NEW_PER_TRIAL * self.trial

    def edition(self, feed: int, n: int) -> int:
        return (self.trial + n) // 7 if n % 5 == 0 else 0

    def link(self, feed: int, n: int) -> str:
        return self.server.url(f"/f{feed}/story-{n}.html")

    def listed(self) -> set[str]:
        return {
            normalize_url(self.link(f, n)) or ""
            for f in range(FEEDS)
            for n in range(self.entries(f))
        }

    def _feed_route(self, feed: int):
        def route(seen: Seen) -> Reply:
            entries = []
            for n in reversed(range(self.entries(feed))):
                edition = self.edition(feed, n)
                entries.append(
                    atom_entry(
                        f"Story {feed}-{n} edition {edition}",
                        self.link(feed, n),
                        f"urn:s:{feed}:{n}",
                        T0 + timedelta(hours=n, days=edition),
                        f"Summary {feed}-{n}",
                    )
                )
                page = article_page(
                    f"Story {feed}-{n}",
                    f"{feed}-{n}-{edition}",
                    paragraphs=5,
                    heading=f"Story {feed}-{n} edition {edition}",
                )
                # A page takes a moment, so runs last long enough to be hit.
                self.server.routes[f"/f{feed}/story-{n}.html"] = slow_page(page, 0.05)
            body = atom(f"feed {feed}", f"urn:f:{feed}", entries)
            return Reply(headers={"Content-Type": "application/atom+xml"}, body=body)

        return route


def test_kill_9_at_random_moments_loses_and_duplicates_nothing(tmp_path, prefect_api) -> None:
    seed = int(os.environ.get("NEWSDESK_KILL9_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"kill -9 trials: seed {seed}")
    db = tmp_path / "news.duckdb"
    env = {
        "PREFECT_API_URL": prefect_api,
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        "NEWSDESK_MAX_ARTICLES_PER_FEED": "0",
        "NEWSDESK_LOCK_WAIT": "1",
        # Runs of several batches, so kills land between batches too.
        "NEWSDESK_BATCH_SIZE": "8",
    }
    landed: list[float] = []
    phases: Counter[str] = Counter()
    with LocalServer() as server:
        site = GrowingSite(server)
        feeds_file = write_feeds_file(
            tmp_path / "feeds.toml",
            {f"feed-{f}": server.url(f"/feed-{f}.xml") for f in range(FEEDS)},
        )
        # One undisturbed run first, to learn how long a run lasts on this machine.
        started = time.monotonic()
        first = start_ingest(feeds_file, db, env)
        assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
        duration = time.monotonic() - started
        check_warehouse(db, batched_runs=True)

        for trial in range(1, MAX_TRIALS + 1):
            if len(landed) >= KILLS:
                break
            site.trial = trial
            # Every fourth trial a reader holds the file all along: the batch goes to the
            # spool, and the kill may land while it is written, or while the next run merges.
            reader = AnalystSession(db) if trial % 4 == 0 and db.exists() else None
            runs_before = _runs(db, tmp_path)
            requests_before = len(server.requests)
            proc = start_ingest(feeds_file, db, env)
            moment = rng.uniform(0.2, duration * 1.1)
            time.sleep(moment)
            alive = proc.poll() is None
            seen = server.requests[requests_before:]
            kill_group(proc)
            if reader is not None:
                reader.close()
            check_warehouse(db, batched_runs=True)
            if alive:
                landed.append(round(moment, 2))
                phases[_phase(seen, _runs(db, tmp_path) > runs_before)] += 1

        assert len(landed) >= KILLS, f"only {len(landed)} kills landed in a live run"
        final = start_ingest(feeds_file, db, env)
        assert final.wait(timeout=300) == 0, final.stderr.read() if final.stderr else ""
        counts = check_warehouse(db, batched_runs=True)
        with duckdb.connect(str(db), read_only=True) as con:
            stored = {url for (url,) in con.execute("SELECT url FROM articles").fetchall()}
            leftovers = (
                list((tmp_path / "spool").glob("*/*")) if (tmp_path / "spool").exists() else []
            )
        assert stored == site.listed()
        assert [p for p in leftovers if not p.name.startswith(".")] == []
    print(
        f"kill -9 trials: {len(landed)} kills in live runs (run lasts {duration:.1f} s), "
        f"at {sorted(landed)} s; by phase {dict(phases)}; final: {counts['articles']} "
        f"articles, {counts['versions']} earlier versions kept"
    )


def _runs(db: Path, root: Path) -> int:
    """Runs whose batch is written or spooled."""
    spooled = len([p for p in (root / "spool").glob("*/*") if not p.name.startswith(".")])
    if not db.exists():
        return spooled
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM ingest_runs").fetchone()
    return (row[0] if row else 0) + spooled


def _phase(seen: list[Seen], batch_done: bool) -> str:
    """Where a kill landed, from what the server had seen by then."""
    if batch_done:
        return "after its batch was written or spooled"
    if not seen:
        return "start-up"
    if not any("/story-" in s.path for s in seen):
        return "polling feeds"
    return "downloading, extracting or writing"
