"""Scale: what adaptive polling saves at a tenth of Media Cloud, and what a measured run costs.

    .venv/bin/python -m bench.scale [--feeds N] [--corpus DIR] [--pages P] [--json FILE]

1. Polling, simulated (pure, seconds): `feeds` feeds (18,000 by default, a tenth of Media
   Cloud's 180,000) publish on their own; a simulated clock runs a scheduled ingest every 15
   minutes for four days and drives the real `tasks.run.feedstate` (`feeds_to_poll(...,
   due_only=True)`, then `next_feed_state` for every polled feed), no network. Compared with
   polling every feed at every run: polls, new-entry downloads, the share of new entries
   caught, their mean delay, and how many feeds each run finds due.
2. End to end at a reduced size, measured: the benchmark web of `bench.site` on loopback, its
   feeds split as 2 shards run at once (`newsdesk ingest --shard i/2`, two processes) into one
   SQLite-catalog lake, against one running Prefect server: articles/s, peak RSS of each run's
   process tree, an empty run's time (the Prefect API and start-up per run), and the lake's
   time per commit.

Publishing rates: a feed's mean entries per day is log-normal, with the mean set to Media
Cloud's ratio (about 500,000 stories a day from 180,000 feeds, issue 13: 2.8 a day) and a
spread (sigma = 2, an assumption, not a measured figure) that leaves most feeds quiet (the
median feed publishes one entry every 2.6 days) and a few busy (the top 1 % over 40 a day).
Log-normal rather than Zipf because it has a median and a tail both set by two numbers, and a
Zipf law over 18,000 ranks would hand the first feed a quarter of all entries. Entries arrive
as a Poisson process; a body lists the latest 20. 10 % of feeds announce an RSS `ttl` of an
hour, 20 % send `Cache-Control: max-age` of 5 to 30 minutes; the rest nothing.

Prints one table and writes the figures as JSON (default `bench/scale.json`).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import lake, warehouse_scale
from bench.procs import Measured, run_measured
from bench.server import BenchServer
from bench.site import corpus_pages, plan_feeds
from bench.throughput import bench_env
from harness.cli import BIN
from harness.corpus import CORPUS
from harness.prefect import PrefectServer
from harness.sites import write_feeds_file
from storage import Warehouse
from tasks.models import FeedEntry, FeedSpec, FeedState, FetchedFeed, ParsedFeed
from tasks.run.feedstate import PollPolicy, feeds_to_poll, next_feed_state

ROOT = Path(__file__).resolve().parents[1]
RUN_EVERY = 900.0
"""Seconds between scheduled ingests (the deployment's schedule), and the fixed-rate baseline."""
BODY_ENTRIES = 20
MEAN_PER_DAY = 500_000 / 180_000
SIGMA = 2.0
DAY = 86400.0
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
SIMULATED_DAYS = 4


@dataclass(frozen=True, slots=True)
class SimFeed:
    spec: FeedSpec
    arrivals: tuple[float, ...]
    """Seconds after EPOCH at which entries are published, sorted (history included)."""
    ttl: float | None
    max_age: float | None


def simulated_feeds(count: int, days: float, seed: int = 13) -> list[SimFeed]:
    """`count` feeds with log-normal rates, publishing from two weeks before EPOCH to `days`
    after it (the history fills the first bodies as a real feed's would)."""
    rng = random.Random(seed)
    mu = math.log(MEAN_PER_DAY) - SIGMA**2 / 2
    start = -14 * DAY
    feeds = []
    for i in range(count):
        per_day = rng.lognormvariate(mu, SIGMA)
        arrivals, t = [], start
        while True:
            t += rng.expovariate(per_day / DAY)
            if t >= days * DAY:
                break
            arrivals.append(t)
        hint = rng.random()
        ttl = 3600.0 if hint < 0.1 else None
        max_age = rng.choice((300.0, 600.0, 1800.0)) if 0.1 <= hint < 0.3 else None
        spec = FeedSpec(name=f"feed-{i:05d}", url=f"http://feeds.test/{i}.xml")
        feeds.append(SimFeed(spec, tuple(arrivals), ttl, max_age))
    return feeds


def _poll(
    feed: SimFeed, state: FeedState | None, seen_until: float, now: float, policy: PollPolicy
) -> tuple[FeedState, list[float]]:
    """One poll at `now`: the new state and the arrival times of the entries it found new."""
    when = EPOCH + timedelta(seconds=now)
    upto = bisect.bisect_right(feed.arrivals, now)
    body = feed.arrivals[max(0, upto - BODY_ENTRIES) : upto]
    new = [t for t in body if t > seen_until]
    if state is not None and not new:
        fetched = FetchedFeed(feed.spec, "not_modified", 304, max_age=feed.max_age)
        return next_feed_state(state, fetched, None, when, policy=policy), []
    entries = tuple(
        FeedEntry(feed.spec.name, f"{feed.spec.url}#{t}", published_at=EPOCH + timedelta(seconds=t))
        for t in body
    )
    parsed = ParsedFeed(feed.spec.name, entries, update_hint=feed.ttl)
    fetched = FetchedFeed(feed.spec, "ok", 200, max_age=feed.max_age)
    # The first poll of a feed takes its body as known (a warehouse that already holds it).
    found = new if state is not None else []
    return next_feed_state(state, fetched, parsed, when, policy=policy), found


def simulate(feeds: list[SimFeed], policy: PollPolicy | None = None) -> dict[str, object]:
    """Four simulated days of scheduled runs: day 1 settles the intervals, day 2 is counted,
    days 3 and 4 let the entries of day 2 be caught (the longest wait is 24 hours plus its
    jitter). Adaptive polling against every feed every run."""
    policy = policy or PollPolicy()
    specs = [f.spec for f in feeds]
    by_name = {f.spec.name: f for f in feeds}
    states: dict[str, FeedState] = {}
    seen_until: dict[str, float] = {}
    caught: dict[str, list[tuple[float, float]]] = {}
    polls_day2, due_per_run = 0, []
    runs = int(SIMULATED_DAYS * DAY / RUN_EVERY)
    for run in range(runs):
        now = run * RUN_EVERY
        when = EPOCH + timedelta(seconds=now)
        due, _ = feeds_to_poll(specs, states, when, set(), due_only=True)
        if DAY <= now < 2 * DAY:
            polls_day2 += len(due)
            due_per_run.append(len(due))
        for spec in due:
            feed = by_name[spec.name]
            state, found = _poll(
                feed, states.get(spec.name), seen_until.get(spec.name, -1e18), now, policy
            )
            states[spec.name] = state
            seen_until[spec.name] = now
            caught.setdefault(spec.name, []).extend((t, now) for t in found)

    def published_day2(f: SimFeed) -> list[float]:
        return [t for t in f.arrivals if DAY <= t < 2 * DAY]

    published = sum(len(published_day2(f)) for f in feeds)
    delays = [
        seen - t for f in feeds for t, seen in caught.get(f.spec.name, ()) if DAY <= t < 2 * DAY
    ]
    fixed_delays, fixed_missed = [], 0
    for f in feeds:
        day2 = published_day2(f)
        by_run = Counter(math.ceil(t / RUN_EVERY) for t in day2)
        fixed_missed += sum(max(0, n - BODY_ENTRIES) for n in by_run.values())
        fixed_delays += [math.ceil(t / RUN_EVERY) * RUN_EVERY - t for t in day2]
    intervals = [s.poll_interval_seconds or 0 for s in states.values()]
    quantiles = statistics.quantiles(due_per_run, n=20)
    return {
        "feeds": len(feeds),
        "published_per_day": published,
        "busy_feeds_over_40_a_day": sum(len(published_day2(f)) > 40 for f in feeds),
        "quiet_feeds_under_1_a_day": sum(len(published_day2(f)) < 1 for f in feeds),
        "adaptive": {
            "polls_per_day": polls_day2,
            "downloads_per_day": len(delays),
            "caught_share": len(delays) / published if published else 1.0,
            "mean_delay_min": statistics.fmean(delays) / 60 if delays else 0.0,
            "median_delay_min": statistics.median(delays) / 60 if delays else 0.0,
            "p95_delay_min": statistics.quantiles(delays, n=20)[-1] / 60 if delays else 0.0,
            "due_per_run": {
                "min": min(due_per_run),
                "median": statistics.median(due_per_run),
                "p95": quantiles[-1],
                "max": max(due_per_run),
            },
            "median_interval_min": statistics.median(intervals) / 60,
        },
        "every_run": {
            "polls_per_day": len(feeds) * int(DAY / RUN_EVERY),
            "downloads_per_day": published - fixed_missed,
            "caught_share": (published - fixed_missed) / published if published else 1.0,
            "mean_delay_min": statistics.fmean(fixed_delays) / 60 if fixed_delays else 0.0,
            "due_per_run": len(feeds),
        },
    }


def _ingest(args: list[str], env: dict[str, str]) -> Measured:
    measured = run_measured([str(BIN / "newsdesk"), "ingest", *args], env)
    if measured.returncode != 0:
        raise RuntimeError(f"`newsdesk ingest` exited {measured.returncode}:\n{measured.output}")
    return measured


def end_to_end(corpus: Path, pages: int, workdir: Path, shards: int = 2) -> dict[str, object]:
    """`shards` shards of the benchmark web ingested at once into one lake; then the cost of an
    empty run and of one lake commit."""
    feeds = plan_feeds(corpus_pages(corpus, pages))
    db = lake.lake_url(workdir / "lake")
    with (
        BenchServer(corpus, limit=pages) as site,
        PrefectServer(workdir / "prefect") as prefect,
    ):
        env = bench_env(PREFECT_API_URL=prefect.api, PREFECT_HOME=str(workdir / "prefect"))
        every = write_feeds_file(
            workdir / "feeds.toml",
            [(f.name, f"http://{f.host}:{site.ports[f.host]}{f.path}") for f in feeds],
        )
        none = write_feeds_file(workdir / "none.toml", [])
        # The first run registers the flow with the server and creates the lake.
        _ingest(["--feeds", str(none), "--db", db], env)
        runs: dict[int, Measured] = {}

        def shard(i: int) -> None:
            args = ["--feeds", str(every), "--db", db, "--shard", f"{i}/{shards}"]
            runs[i] = _ingest([*args, "--max-articles-per-feed", "0"], env)

        started = time.perf_counter()
        threads = [threading.Thread(target=shard, args=(i,)) for i in range(1, shards + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        if len(runs) != shards:
            raise RuntimeError("a shard's run failed (see above)")
        empty = statistics.median(
            _ingest(["--feeds", str(none), "--db", db], env).seconds for _ in range(3)
        )
    articles = int(Warehouse(db).query("SELECT count(*) FROM articles")[1][0][0])
    wh = Warehouse(db)
    commits = [
        lake.append_timed(
            wh, warehouse_scale.PrebuiltBatch(10_000_000 + k * 100, 100, f"commit-{k}")
        )
        for k in range(5)
    ]
    return {
        "feeds": len(feeds),
        "shards": shards,
        "articles": articles,
        "wall_s": wall,
        "articles_per_s": articles / wall,
        "runs": {
            str(i): {"seconds": m.seconds, "peak_rss_mb": m.peak_rss_bytes / 2**20}
            for i, m in sorted(runs.items())
        },
        "empty_run_s": empty,
        "commit_100_ms": statistics.median(commits),
    }


def table(sim: dict[str, Any], e2e: dict[str, Any] | None) -> str:
    a, f = sim["adaptive"], sim["every_run"]
    rows: list[tuple[str, ...]] = [
        ("measure", "adaptive", "every 15 min"),
        ("polls per day", f"{a['polls_per_day']:,}", f"{f['polls_per_day']:,}"),
        (
            "new-entry downloads per day",
            f"{a['downloads_per_day']:,}",
            f"{f['downloads_per_day']:,}",
        ),
        ("new entries caught", f"{a['caught_share']:.2%}", f"{f['caught_share']:.2%}"),
        ("mean delay (min)", f"{a['mean_delay_min']:.0f}", f"{f['mean_delay_min']:.1f}"),
        (
            "median / p95 delay (min)",
            f"{a['median_delay_min']:.0f} / {a['p95_delay_min']:.0f}",
            "-",
        ),
        (
            "feeds due per run (median / p95 / max)",
            "{median:.0f} / {p95:.0f} / {max}".format(**a["due_per_run"]),
            f"{f['due_per_run']:,}",
        ),
    ]
    head = (
        f"polling, simulated: {sim['feeds']:,} feeds, {sim['published_per_day']:,} entries a day "
        f"({sim['busy_feeds_over_40_a_day']} feeds over 40 a day, "
        f"{sim['quiet_feeds_under_1_a_day']:,} with none that day)"
    )
    lines = [head, *_columns(rows)]
    if e2e is None:
        lines.append("\nend to end: skipped (no corpus)")
        return "\n".join(lines)
    rows = [("measure", "value")]
    rows.append(("feeds / articles", f"{e2e['feeds']} / {e2e['articles']}"))
    rows.append((f"{e2e['shards']} shards at once, wall (s)", f"{e2e['wall_s']:.1f}"))
    rows.append(("articles/s end to end", f"{e2e['articles_per_s']:.1f}"))
    for i, r in e2e["runs"].items():
        rows.append(
            (f"shard {i}: run (s) / peak RSS (MiB)", f"{r['seconds']:.1f} / {r['peak_rss_mb']:.0f}")
        )
    rows.append(("empty run (s)", f"{e2e['empty_run_s']:.2f}"))
    rows.append(("lake commit of 100 articles (ms)", f"{e2e['commit_100_ms']:.0f}"))
    lines += ["", "end to end, measured (loopback, one Prefect server, one SQLite-catalog lake)"]
    lines += _columns(rows)
    return "\n".join(lines)


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--feeds", type=int, default=18_000, help="feeds in the simulation")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--pages", type=int, default=100, help="corpus pages per host for the end-to-end runs"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "scale.json")
    args = parser.parse_args(argv)
    sim = simulate(simulated_feeds(args.feeds, SIMULATED_DAYS))
    e2e = None
    if (args.corpus / "articles" / "ground_truth.jsonl").exists():
        workdir = Path(tempfile.mkdtemp(prefix="newsdesk-bench-scale-"))
        try:
            e2e = end_to_end(args.corpus, args.pages, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"corpus not found at {args.corpus}: end to end skipped", file=sys.stderr)
    print(table(sim, e2e))
    args.json.write_text(
        json.dumps({"polling": sim, "end_to_end": e2e}, indent=2) + "\n", encoding="utf-8"
    )
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
