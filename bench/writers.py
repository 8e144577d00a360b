"""Concurrent writers on one lake: commit wait, articles/s and kill -9 trials (issue 19, item 2).

    .venv/bin/python -m bench.writers [--writers 4 8] [--catalog sqlite postgres]
        [--batches N] [--rows R] [--overlap F] [--kills K] [--think S] [--plain] [--seed S]
        [--json FILE]

A lake commits one writer at a time, under its commit lock (`storage.lake.commit_lock`: a file
lock beside a SQLite catalog, a transaction-level advisory lock in a PostgreSQL catalog's
database); fetching and extracting stay parallel. This measures what that costs when several
runs write at once.

For each catalog and each number of writers (and 1 writer first, the baseline, in the same
run), on a fresh lake (created and migrated before the clock starts, untimed):

- N writer processes (multiprocessing, spawn) each build `batches` batches of `rows` articles
  with their sightings, feed polls and run record (`bench.lake_growth.make_batch`, with
  `bench.warehouse_scale.PrebuiltBatch`'s articles; no network), load the lake once (imports,
  extensions), then wait for one signal and all start together;
- each batch goes through the `Warehouse` handle as a run's does: `find_known` for its
  entries, the entries already recorded dropped, then `write`. A fraction `overlap` of every
  batch's articles is the same in every writer's batch of that number (same URL, feed and
  article id): it must end stored once;
- `think` seconds between batches stand for a run's fetching and extraction (0 by default:
  every writer does nothing but commit, the worst case for the lock).

The writers use `TimedLake`, a `LakeWarehouse` whose `write` is `LakeWarehouse.write`'s steps
(the same calls, in the same order) with the moments between them recorded: opening the lake
(attach, the migrations check and, for PostgreSQL, attaching the catalog's database, which
`commit_lock` would otherwise do while "waiting"), waiting for the commit lock, holding it
(`LakeWarehouse._commit`: the look-before-insert and the commit, the search index's update,
then the lock's release), closing. A write that loses a race is redone by `_retrying`, as in a
run: each attempt is recorded, so redone commits and their errors are counted (DuckLake's own
retries inside one commit are not visible).

Per configuration: articles stored, wall time from the start signal to the last commit's end,
articles/s (stored / wall), each commit's `write` (median, 95th percentile), split into opening,
waiting for the lock and holding it, `find_known`, commits redone, how busy the lock was (the
sum of holds over the wall time: near 100 % the lock is the bottleneck) and how a writer's time
divides between looking, opening, waiting and holding. The holds of all writers are checked not
to overlap (the lock excludes), and the invariants below are checked on every lake.

Kill -9 trials (per catalog, `kills` > 0): 4 writers on a fresh lake; `kills` times, a writer
is SIGKILLed, alternately a random live one at a random moment and the one holding the commit
lock, a moment after it took it; a replacement starts at once on the same slot (the same
articles: what the killed run had committed it finds recorded). When every writer is done, a
later writer must commit a batch within a minute (the lock died with its holder), and the
invariants must hold: those every warehouse keeps (`harness.invariants`: no duplicate
article_id, url, canonical_url or sighting, batches whole, versions complete), every article any
writer reported committed is stored, and every article of every slot is stored once.

With `--plain` the writers write through `LakeWarehouse` itself and only `find_known` and
`write` are timed (no lock split, no check of the holds): this runs on a tree from before
`commit_lock` (12779b1), the claims design, for a comparison on the same machine (copy this file
as it was at 8cd4903, before the harness package, into a worktree of that commit's parent and
run it there with `--plain --kills 0`).

The machine's load average is printed with the figures: on a shared 2-core machine the times
move with it, the invariants do not.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import pairwise
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from bench import lake_growth, warehouse_scale
from harness.invariants import violations
from storage.lake import LakeWarehouse
from storage.schemas import stage_batch, writable
from tasks.models import Batch, BatchResult, WriteOutcome
from tasks.urls import article_id

SHARED_BASE = 10_000_000
"""Article numbers every writer shares (batch b of every writer holds the same ones)."""
UNIQUE_BASE = 20_000_000
"""Article numbers of one slot's own articles."""
POLLS = 20
"""Feed polls per batch."""
LATER_SLOT = 999
"""The slot of the writer that must commit after the kill trials."""

# What a writer is doing, as the parent sees it (a shared integer per writer).
STARTING, READY, LOOKING, OPENING, WAITING, HOLDING, CLOSING, THINKING, DONE = range(9)
PHASES = (
    "starting",
    "ready",
    "find_known",
    "opening",
    "waiting for the lock",
    "holding the lock",
    "closing",
    "thinking",
    "done",
)


@dataclass(frozen=True)
class Plan:
    """What each writer commits: `batches` batches of `rows` articles, `overlap` of them shared."""

    batches: int
    rows: int
    overlap: float
    think: float = 0.0
    plain: bool = False
    """Write through `LakeWarehouse` itself, timing `find_known` and `write` only: what runs on
    a tree without `commit_lock` (the claims design before 12779b1), for comparison."""

    @property
    def shared(self) -> int:
        return round(self.rows * self.overlap)

    def numbers(self, slot: int, batch: int) -> tuple[range, range]:
        """The article numbers of `slot`'s batch `batch`: the shared ones, then its own."""
        k, own = self.shared, self.rows - self.shared
        first = UNIQUE_BASE + (slot * self.batches + batch) * own
        return (
            range(SHARED_BASE + batch * k, SHARED_BASE + (batch + 1) * k),
            range(first, first + own),
        )

    def expected(self, slots: Sequence[int], batches: int | None = None) -> set[str]:
        """The article ids that `slots`, each having committed its first `batches` batches
        (all of them by default), leave stored."""
        return {
            article_id(warehouse_scale.make_entry(i).url)
            for slot in slots
            for b in range(self.batches if batches is None else batches)
            for part in self.numbers(slot, b)
            for i in part
        }


def build_batch(plan: Plan, slot: int, batch: int, run_id: str) -> Batch:
    """`slot`'s batch `batch`, as a run's: articles, sightings, `POLLS` feed polls, run record."""
    shared, own = plan.numbers(slot, batch)
    mine = lake_growth.make_batch(
        own.start, len(own), POLLS, (slot * plan.batches + batch) * POLLS, run_id
    )
    common = warehouse_scale.PrebuiltBatch(shared.start, len(shared), run_id)
    return Batch(
        tuple(common.articles) + mine.articles,
        tuple(common.sightings) + mine.sightings,
        mine.feed_states,
        replace(mine.run, entries_seen=plan.rows),
    )


class TimedLake(LakeWarehouse):
    """A `LakeWarehouse` whose `write` records when it opened the lake, got the commit lock and
    let it go: `LakeWarehouse.write`'s open and lock, with clock readings between them, around
    the same `_commit`."""

    def __init__(self, *args: Any, phase: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.phase = phase
        self.attempts: list[dict[str, Any]] = []

    def write(self, batch: Batch) -> WriteOutcome:
        # Not on trees before 12779b1, which `Plan.plain` runs on.
        from storage.lake import attach_catalog, commit_lock

        batch, rejected = writable(batch)
        staged_articles, staged_sightings = stage_batch(batch.articles, batch.sightings, batch.run)
        self.attempts = []

        def attempt() -> BatchResult:
            times: dict[str, Any] = {"start": time.monotonic()}
            self.attempts.append(times)
            try:
                _set(self.phase, OPENING)
                with self.connect() as con:
                    if self.spec.catalog == "postgres":
                        attach_catalog(con, self.spec)  # commit_lock's first step, once per DuckDB
                    times["opened"] = time.monotonic()
                    _set(self.phase, WAITING)
                    with commit_lock(con, self.spec, wait=self.commit_wait):
                        times["locked"] = time.monotonic()
                        _set(self.phase, HOLDING)
                        result, _ = self._commit(con, staged_articles, staged_sightings, batch)
                        times["written"] = time.monotonic()
                    times["released"] = time.monotonic()
                    _set(self.phase, CLOSING)
                times["closed"] = time.monotonic()
                return result
            except Exception as exc:
                times["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                raise

        return WriteOutcome(self._retrying(attempt), rejected=rejected)


def commit(wh: LakeWarehouse, batch: Batch, phase: Any = None) -> dict[str, Any]:
    """`batch` looked up and written as a run's is; what it took and what it stored (the
    split of `write` when `wh` is a `TimedLake`)."""
    _set(phase, LOOKING)
    started = time.monotonic()
    known = wh.find_known(
        [(s.feed_name, s.entry_url) for s in batch.sightings],
        [(s.feed_name, s.guid) for s in batch.sightings if s.guid],
    )
    looked = time.monotonic()
    fresh = [
        (a, s)
        for a, s in zip(batch.articles, batch.sightings, strict=True)
        if (s.feed_name, s.entry_url) not in known.sightings
    ]
    _set(phase, OPENING)
    outcome = wh.write(
        replace(
            batch,
            articles=tuple(a for a, _ in fresh),
            sightings=tuple(s for _, s in fresh),
        )
    )
    ended = time.monotonic()
    record: dict[str, Any] = {
        "run_id": batch.run.run_id,
        "start": started,
        "end": ended,
        "find_ms": (looked - started) * 1000,
        "write_ms": (ended - looked) * 1000,
        "known": len(batch.articles) - len(fresh),
        "new": len(outcome.result.new_ids),
        "rejected": len(outcome.rejected),
        # Every article of the batch is stored now: the new ones and those found recorded.
        "ids": sorted({a.article_id for a in batch.articles}),
        "attempts": None,  # not seen through LakeWarehouse itself (`Plan.plain`)
        "errors": [],
    }
    if isinstance(wh, TimedLake):
        done = wh.attempts[-1]
        record |= {
            "open_ms": (done["opened"] - done["start"]) * 1000,
            "wait_ms": (done["locked"] - done["opened"]) * 1000,
            "hold_ms": (done["released"] - done["locked"]) * 1000,
            "close_ms": (done["closed"] - done["released"]) * 1000,
            "release_ms": (done["released"] - done["written"]) * 1000,
            "opening": done["start"],
            "locked": done["locked"],
            "written": done["written"],
            "released": done["released"],
            "attempts": len(wh.attempts),
            "errors": [a["error"] for a in wh.attempts if "error" in a],
        }
    return record


def _set(phase: Any, value: int) -> None:
    if phase is not None:
        phase.value = value


def worker(
    url: str,
    data_path: str | None,
    plan: Plan,
    slot: int,
    generation: int,
    log: str,
    phase: Any,
    go: Any,
    batches: int | None = None,
) -> None:
    """One writer: build its batches, open the lake once, wait for `go`, commit them, logging
    one JSON line per commit to `log` as soon as `write` returns."""
    wh = (
        LakeWarehouse(url, data_path=data_path)
        if plan.plain
        else TimedLake(url, data_path=data_path, phase=phase)
    )
    built = [
        build_batch(plan, slot, b, f"s{slot}-g{generation}-b{b}")
        for b in range(plan.batches if batches is None else batches)
    ]
    wh.feed_states()  # the imports and the extensions' first load, before the clock
    _set(phase, READY)
    go.wait()
    with open(log, "a", encoding="utf-8") as out:
        for n, batch in enumerate(built):
            if n and plan.think:
                _set(phase, THINKING)
                time.sleep(plan.think)
            record = commit(wh, batch, phase)
            record |= {"slot": slot, "generation": generation, "batch": n}
            out.write(json.dumps(record) + "\n")
            out.flush()
    _set(phase, DONE)


@dataclass
class Writer:
    slot: int
    generation: int
    process: BaseProcess
    phase: Any


class Writers:
    """Writer processes on one lake, their logs under `logs`, one start signal."""

    def __init__(self, url: str, data_path: str | None, plan: Plan, logs: Path) -> None:
        self.url, self.data_path, self.plan, self.logs = url, data_path, plan, logs
        self.context = multiprocessing.get_context("spawn")
        self.go = self.context.Event()
        self.writers: list[Writer] = []
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, slot: int, generation: int = 0, batches: int | None = None) -> Writer:
        phase = self.context.RawValue("i", STARTING)
        process = self.context.Process(
            target=worker,
            args=(
                self.url,
                self.data_path,
                self.plan,
                slot,
                generation,
                str(self.logs / f"slot-{slot}-{generation}.jsonl"),
                phase,
                self.go,
                batches,
            ),
            daemon=True,
        )
        process.start()
        started = Writer(slot, generation, process, phase)
        self.writers.append(started)
        return started

    def wait_ready(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while any(w.phase.value < READY for w in self.writers):
            dead = [w for w in self.writers if w.phase.value < READY and not w.process.is_alive()]
            if dead:
                raise RuntimeError(f"writer {dead[0].slot} died starting ({dead[0].process})")
            if time.monotonic() > deadline:
                raise RuntimeError("writers not ready in time")
            time.sleep(0.05)

    def join(self, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        for w in self.writers:
            w.process.join(max(1.0, deadline - time.monotonic()))
            if w.process.is_alive():
                self.kill_all()
                raise RuntimeError(f"writer {w.slot} still running after {timeout:.0f} s")

    def alive(self) -> list[Writer]:
        return [w for w in self.writers if w.process.is_alive() and w.phase.value != DONE]

    def kill_all(self) -> None:
        for w in self.writers:
            if w.process.is_alive():
                w.process.kill()
                w.process.join(10)

    def records(self) -> list[dict[str, Any]]:
        found = []
        for path in sorted(self.logs.glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.endswith("}"):  # a line cut by a kill is not a report
                    found.append(json.loads(line))
        return found


def check(url: str, expected: set[str] | None, committed: set[str]) -> dict[str, Any]:
    """The invariants of a lake after concurrent (and killed) writers (`harness.invariants`,
    and that what was reported committed, or `expected`, is stored); `failures` lists any that
    do not hold."""
    broken, counts = violations(url)
    failures = [f"{name}: {found}" for name, found in broken.items()]
    wh = LakeWarehouse(url)
    stored = {row[0] for row in wh.query("SELECT article_id FROM articles")[1]}
    if missing := committed - stored:
        failures.append(f"{len(missing)} articles reported committed are not stored")
    if expected is not None and stored != expected:
        failures.append(
            f"stored {len(stored)} articles, expected {len(expected)} "
            f"({len(expected - stored)} missing, {len(stored - expected)} unexpected)"
        )
    return {
        "articles": len(stored),
        "sightings": counts["sightings"],
        "runs": counts["runs"],
        "failures": failures,
    }


def overlapping_holds(records: Sequence[dict[str, Any]]) -> int:
    """Commits that had the lock before the previous holder's write had returned (should be
    none). The previous holder's release is left out of its interval: a waiter may take the
    lock as soon as the release reaches the lock (PostgreSQL's ROLLBACK), before the holder
    reads its clock again, most of all on a loaded machine."""
    holds = sorted((r["locked"], r["written"]) for r in records)
    return sum(1 for a, b in pairwise(holds) if b[0] < a[1])


def blocked_opens(records: Sequence[dict[str, Any]]) -> list[float]:
    """Per commit, the milliseconds of its opening during which another writer held the commit
    lock. A writable open of a SQLite-catalog lake takes the lock's file too (`_opening`, while
    it attaches), so there this is time spent waiting for the holder inside "opening"; a
    PostgreSQL catalog's open takes no lock, and the overlap means nothing there."""
    holds = sorted((r["locked"], r["released"]) for r in records)
    blocked = []
    for r in records:
        start, end = r["opening"], r["locked"] - r["wait_ms"] / 1000
        blocked.append(
            1000 * sum(max(0.0, min(end, b) - max(start, a)) for a, b in holds if a < end)
        )
    return blocked


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(
    records: list[dict[str, Any]], wall: float, stored: int, catalog: str
) -> dict[str, Any]:
    """The figures of one configuration from its commits' records. On a SQLite catalog the
    lock wait counts the part of opening spent waiting for a holder (`blocked_opens`), and
    opening is the rest. Records of `Plan.plain` writers give `find_known` and `write` only."""

    def series(key: str) -> list[float]:
        return [r[key] for r in records]

    summary: dict[str, Any] = {
        "commits": len(records),
        "articles": stored,
        "wall_s": wall,
        "articles_per_s": stored / wall if wall else 0.0,
        "redone": None
        if any(r["attempts"] is None for r in records)
        else sum(r["attempts"] - 1 for r in records),
        "errors": sorted({e[:120] for r in records for e in r["errors"]}),
        "write_ms": _spread(series("write_ms")),
        "find_ms": _spread(series("find_ms")),
    }
    if not records or any("hold_ms" not in r for r in records):
        return summary
    blocked = blocked_opens(records) if catalog == "sqlite" else [0.0] * len(records)
    for r, ms in zip(records, blocked, strict=True):
        r["open_blocked_ms"] = ms
        r["lock_wait_ms"] = r["wait_ms"] + ms
        r["open_own_ms"] = r["open_ms"] - ms
    parts = ("find_ms", "open_own_ms", "lock_wait_ms", "hold_ms", "close_ms")
    spent = {key: sum(series(key)) for key in parts}
    total = sum(spent.values()) or 1.0
    summary |= {
        "lock_busy": spent["hold_ms"] / 1000 / wall if wall else 0.0,
        "share": {key.removesuffix("_ms"): ms / total for key, ms in spent.items()},
        "overlapping_holds": overlapping_holds(records),
    }
    for key in ("open_ms", "open_own_ms", "open_blocked_ms", "wait_ms", "lock_wait_ms"):
        summary[key] = _spread(series(key))
    holds = sorted((r["locked"], r["released"]) for r in records)
    summary["taken_during_release"] = sum(1 for a, b in pairwise(holds) if b[0] < a[1])
    for key in ("hold_ms", "release_ms", "close_ms"):
        summary[key] = _spread(series(key))
    return summary


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values) if values else float("nan"),
        "p95": _pct(values, 0.95),
        "max": max(values, default=float("nan")),
    }


@dataclass
class Lakes:
    """Fresh lakes on one catalog: `new(name)` gives a lake's URL and data path."""

    catalog: str
    workdir: Path
    new: Callable[[str], tuple[str, str | None]]


@contextmanager
def lakes(catalog: str, workdir: Path) -> Iterator[Lakes]:
    """Fresh lakes on `catalog`: SQLite catalogs under `workdir`, or databases of one
    PostgreSQL server (Debian's package, on loopback, data in `workdir`), stopped afterwards."""
    if catalog == "sqlite":
        yield Lakes(
            catalog,
            workdir,
            lambda name: (f"ducklake:sqlite:{workdir / name / 'catalog.sqlite'}", None),
        )
        return
    from harness.postgres import PostgresServer

    root = workdir / "postgres"
    root.mkdir(parents=True)
    root.chmod(0o755)
    workdir.chmod(0o755)
    server = PostgresServer(root)
    try:

        def new(name: str) -> tuple[str, str | None]:
            dsn = server.create_database(name.replace("-", "_"))
            return f"ducklake:postgres:{dsn}", f"{workdir / name / 'data'}/"

        yield Lakes(catalog, workdir, new)
    finally:
        server.stop()


def _fresh(lakes_: Lakes, name: str) -> tuple[str, str | None]:
    url, data_path = lakes_.new(name)
    LakeWarehouse(url, data_path=data_path).prepare()  # created and migrated, untimed
    return url, data_path


def measure(lakes_: Lakes, writers: int, plan: Plan) -> dict[str, Any]:
    """`writers` writers at once on a fresh lake: their figures and the invariants."""
    name = f"w{writers}"
    url, data_path = _fresh(lakes_, name)
    group = Writers(url, data_path, plan, lakes_.workdir / name / "logs")
    try:
        for slot in range(writers):
            group.start(slot)
        group.wait_ready()
        load = os.getloadavg()[0]
        started = time.monotonic()
        group.go.set()
        group.join()
    finally:
        group.kill_all()
    failed = [w.slot for w in group.writers if w.process.exitcode != 0]
    records = group.records()
    wall = max((r["end"] for r in records), default=started) - started
    checked = check(url, plan.expected(range(writers)), {i for r in records for i in r["ids"]})
    if failed:
        checked["failures"].append(f"writers {failed} exited non-zero")
    figures = summarise(records, wall, checked["articles"], lakes_.catalog)
    if figures.get("overlapping_holds"):
        checked["failures"].append(f"{figures['overlapping_holds']} commits held the lock at once")
    return {
        "catalog": lakes_.catalog,
        "writers": writers,
        "load": load,
        **figures,
        "invariants": checked,
    }


def kill_trials(
    lakes_: Lakes, plan: Plan, kills: int, rng: random.Random, writers: int = 4
) -> dict[str, Any]:
    """`kills` SIGKILLs among `writers` writers on a fresh lake (see the module docstring)."""
    url, data_path = _fresh(lakes_, "kills")
    group = Writers(url, data_path, plan, lakes_.workdir / "kills" / "logs")
    slots = list(range(writers))
    killed: list[dict[str, Any]] = []
    load = os.getloadavg()[0]
    started = time.monotonic()
    try:
        for slot in slots:
            group.start(slot)
        group.wait_ready()
        group.go.set()
        generation = 0
        for trial in range(kills):
            if not group.alive():  # every writer done: a new wave on new slots
                wave = range(len(slots), len(slots) + writers)
                slots.extend(wave)
                for slot in wave:
                    group.start(slot)
            victim = _holder(group, 30.0) if trial % 2 else None
            if victim is None:
                time.sleep(rng.uniform(0.1, 3.0))
                alive = group.alive()
                # A writer past its start-up, if any: a kill there is a kill in a run.
                alive = [w for w in alive if w.phase.value > READY] or alive
                if alive:
                    victim = rng.choice(alive)
                else:
                    # Every writer finished within the pause (small plans, a quick machine): a
                    # new wave, whose first lock holder is the victim.
                    wave = range(len(slots), len(slots) + writers)
                    slots.extend(wave)
                    for slot in wave:
                        group.start(slot)
                    victim = _holder(group, 60.0)
                    if victim is None:
                        continue
            else:
                time.sleep(rng.uniform(0.0, 0.05))
            phase = victim.phase.value
            victim.process.kill()
            victim.process.join(10)
            killed.append({"slot": victim.slot, "phase": PHASES[phase], "aimed": trial % 2 == 1})
            generation += 1
            group.start(victim.slot, generation)
        group.join()
        # A later writer, after every kill: the lock must not be held by anyone.
        later_started = time.monotonic()
        later = group.start(LATER_SLOT, batches=1)
        group.join(timeout=60)
        later_s = time.monotonic() - later_started
    finally:
        group.kill_all()
    records = group.records()
    survivors = [w for w in group.writers if w.process.exitcode not in (0, -signal.SIGKILL)]
    expected = plan.expected(slots) | plan.expected([LATER_SLOT], batches=1)
    checked = check(url, expected, {i for r in records for i in r["ids"]})
    later_committed = any(r["slot"] == LATER_SLOT for r in records)
    if not later_committed:
        checked["failures"].append("the later writer did not commit")
    if survivors:
        checked["failures"].append(f"writers {[w.slot for w in survivors]} failed")
    if not plan.plain and (n := overlapping_holds(records)):
        checked["failures"].append(f"{n} commits held the lock at once")
    landed = [k for k in killed if k["phase"] not in ("starting", "ready", "done")]
    return {
        "catalog": lakes_.catalog,
        "writers": writers,
        "load": load,
        "trials": len(killed),
        "landed": len(landed),
        "holding": sum(1 for k in killed if k["phase"] == PHASES[HOLDING]),
        "killed": killed,
        "later_writer_s": later_s if later_committed else None,
        "later_writer_ok": later.process.exitcode == 0 and later_committed,
        "wall_s": time.monotonic() - started,
        "redone": sum(r["attempts"] - 1 for r in records if r["attempts"] is not None),
        "invariants": checked,
    }


def _holder(group: Writers, timeout: float) -> Writer | None:
    """The writer holding the commit lock, as soon as one does (None after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for w in group.alive():
            if w.phase.value == HOLDING:
                return w
        time.sleep(0.002)
    return None


def run(
    writer_counts: Sequence[int],
    catalogs: Sequence[str],
    plan: Plan,
    kills: int,
    seed: int,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Every configuration on every catalog, with the 1-writer baseline first, then the kill
    trials; see the module docstring."""
    rng = random.Random(seed)
    result: dict[str, Any] = {
        "plan": plan.__dict__,
        "seed": seed,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "configs": [],
        "kills": [],
    }
    started = time.monotonic()
    for catalog in catalogs:
        workdir = Path(tempfile.mkdtemp(prefix=f"newsdesk-bench-writers-{catalog}-"))
        try:
            with lakes(catalog, workdir) as lakes_:
                for n in sorted({1, *writer_counts}):
                    figures = measure(lakes_, n, plan)
                    result["configs"].append(figures)
                    progress(_line(figures))
                if kills:
                    trials = kill_trials(lakes_, plan, kills, rng)
                    result["kills"].append(trials)
                    progress(_kill_line(trials))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    result["load_after"] = os.getloadavg()
    result["wall_s"] = time.monotonic() - started
    return result


def _line(f: dict[str, Any]) -> str:
    held = "held" if not f["invariants"]["failures"] else f"FAILED {f['invariants']['failures']}"
    return (
        f"{f['catalog']}, {f['writers']} writers: {f['articles']} articles in {f['wall_s']:.1f} s "
        f"({f['articles_per_s']:.0f}/s), write {_ms(f, 'write_ms')} ms, "
        f"wait {_ms(f, 'lock_wait_ms')} ms, hold {_ms(f, 'hold_ms')} ms, load {f['load']:.1f}; "
        f"invariants {held}"
    )


def _kill_line(k: dict[str, Any]) -> str:
    held = "held" if not k["invariants"]["failures"] else f"FAILED {k['invariants']['failures']}"
    return (
        f"{k['catalog']}, kill -9: {k['trials']} kills ({k['landed']} in a live write, "
        f"{k['holding']} holding the lock), later writer "
        f"{'ok' if k['later_writer_ok'] else 'FAILED'}; invariants {held}"
    )


def table(result: dict[str, Any]) -> str:
    header = (
        "catalog",
        "writers",
        "commits",
        "articles",
        "wall s",
        "articles/s",
        "write ms (med / p95)",
        "lock wait ms (med / p95)",
        "lock held ms (med / p95)",
        "open ms (med, less waiting)",
        "find_known ms (med)",
        "lock busy",
        "writer time waiting",
        "redone",
        "load",
        "invariants",
    )
    rows = [header]
    for f in result["configs"]:
        rows.append(
            (
                f["catalog"],
                str(f["writers"]),
                str(f["commits"]),
                f"{f['articles']:,}",
                f"{f['wall_s']:.1f}",
                f"{f['articles_per_s']:.0f}",
                _ms(f, "write_ms", p95=True),
                _ms(f, "lock_wait_ms", p95=True),
                _ms(f, "hold_ms", p95=True),
                _ms(f, "open_own_ms"),
                _ms(f, "find_ms"),
                f"{f['lock_busy']:.0%}" if "lock_busy" in f else "—",
                f"{f['share']['lock_wait']:.0%}" if "share" in f else "—",
                "—" if f["redone"] is None else str(f["redone"]),
                f"{f['load']:.1f}",
                "held" if not f["invariants"]["failures"] else "FAILED",
            )
        )
    lines = _markdown(rows)
    if result["kills"]:
        lines.append("")
        lines.extend(
            _markdown(
                [
                    (
                        "catalog",
                        "writers",
                        "kills",
                        "in a live write",
                        "holding the lock",
                        "later writer",
                        "articles",
                        "redone",
                        "load",
                        "invariants",
                    ),
                    *(
                        (
                            k["catalog"],
                            str(k["writers"]),
                            str(k["trials"]),
                            str(k["landed"]),
                            str(k["holding"]),
                            f"committed in {k['later_writer_s']:.1f} s"
                            if k["later_writer_ok"]
                            else "FAILED",
                            f"{k['invariants']['articles']:,}",
                            str(k["redone"]),
                            f"{k['load']:.1f}",
                            "all held" if not k["invariants"]["failures"] else "FAILED",
                        )
                        for k in result["kills"]
                    ),
                ]
            )
        )
    problems = [
        f"{f['catalog']} {f.get('writers')}: {failure}"
        for f in result["configs"] + result["kills"]
        for failure in f["invariants"]["failures"]
    ]
    errors = sorted({e for f in result["configs"] for e in f["errors"]})
    lines.append("")
    lines.append(
        f"{result['plan']['batches']} batches × {result['plan']['rows']} articles per writer, "
        f"{result['plan']['overlap']:.0%} shared, think {result['plan']['think']} s"
        f"{', plain LakeWarehouse (write not split)' if result['plan']['plain'] else ''}; "
        f"{result['cpus']} CPUs, load average {_loads(result['load_before'])} before, "
        f"{_loads(result['load_after'])} after; seed {result['seed']}; "
        f"{result['wall_s']:.0f} s in all"
    )
    lines.extend(f"redone after: {e}" for e in errors)
    lines.extend(f"INVARIANT FAILED: {p}" for p in problems)
    return "\n".join(lines)


def _ms(figures: dict[str, Any], key: str, *, p95: bool = False) -> str:
    if key not in figures:
        return "—"
    spread = figures[key]
    return f"{spread['median']:,.0f}" + (f" / {spread['p95']:,.0f}" if p95 else "")


def _loads(loads: Sequence[float]) -> str:
    return " / ".join(f"{x:.1f}" for x in loads)


def _markdown(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.writers", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--writers", type=int, nargs="+", default=[4, 8])
    parser.add_argument(
        "--catalog", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"]
    )
    parser.add_argument("--batches", type=int, default=4, help="batches per writer")
    parser.add_argument("--rows", type=int, default=100, help="articles per batch")
    parser.add_argument(
        "--overlap", type=float, default=0.2, help="fraction of a batch every writer shares"
    )
    parser.add_argument("--kills", type=int, default=6, help="kill -9 trials per catalog")
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds between a writer's batches"
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="time find_known and write only, through LakeWarehouse itself (older trees)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    plan = Plan(args.batches, args.rows, args.overlap, args.think, args.plain)
    result = run(
        args.writers,
        args.catalog,
        plan,
        args.kills,
        seed,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    failed = any(f["invariants"]["failures"] for f in result["configs"] + result["kills"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
