"""A tenth of Media Cloud on loopback: 18,000 feeds, a process work pool of 4 workers, one lake.

    .venv/bin/python -m bench.fleet [--feeds N] [--workers W] [--hosts H] [--period S]
                                    [--corpus DIR] [--json FILE]

Everything is real and on this machine:

- Debian's PostgreSQL, holding the Prefect server's database and the lake's catalog
  (`ducklake:postgres:…`, data files in a local directory): the README's set-up for many
  workers.
- `prefect server start` on it, a process work pool and `workers` × `prefect worker start
  --limit 1`; one deployment per shard (`workers` shards), as `make deploy` makes them with
  NEWSDESK_SHARDS, whose code the workers clone from git: a bare clone of this checkout's
  HEAD, so commit before measuring a change.
- The fleet site, a child process: `feeds` RSS feeds spread over `hosts` loopback addresses,
  publishing in real time at the rates of `bench.scale` (log-normal, mean 2.8 entries a day,
  Poisson arrivals; 10 % announce a `ttl` of an hour). A body lists the latest 20 entries;
  each entry links a corpus page served under its own URL with a canonical link to it. Half
  the feeds send an ETag and answer a matching conditional GET with 304; the rest send the
  body again, which the run recognises by its hash.
- History: before the first run the lake is given, through the `Warehouse` handle, every
  entry the first bodies list that was published more than `period` seconds earlier, as if
  earlier runs had stored them; no feed states, so the first run polls every feed and
  downloads about one period's new entries.

Three rounds, each triggering every shard's deployment at once:

1. cold: `due_only` (as scheduled): every feed is due, since none has been polled;
2. scheduled, `period` seconds after round 1 began (15 minutes, the default schedule):
   `due_only`, so only the feeds whose adaptive interval has passed;
3. at once after round 2, `due_only=False`: every feed polled, the cost of a run that polls
   at a fixed rate.

Per round: wall time from the trigger to the last run's end; feed requests (200 and 304) and
page downloads, from the site's own counts; articles stored; articles/s. Per run: the pickup
(trigger → Running: the worker's poll, its process start, the git clone), the run time
(Running → Completed), and the flow body's own time (`ingest_runs.duration_seconds`), whose
difference is the Prefect API and start-up per run; the peak RSS of each worker's process
tree (worker, flow run, extraction workers), sampled every 0.25 s, and the worker's own RSS
before any run.
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx

from bench import warehouse_scale
from bench.procs import rss_bytes, tree_rss_bytes
from bench.scale import BODY_ENTRIES, DAY, SimFeed, simulated_feeds
from bench.server import BenchServer, Stats, listening_sockets, serve_host
from bench.site import ROBOTS, Page, Resource, corpus_pages, page_body
from bench.throughput import PER_HOST_DELAY
from deployments.definitions import ingest_name
from harness.corpus import CORPUS
from harness.postgres import PostgresServer
from harness.prefect import PrefectServer, work_pool
from harness.sites import write_feeds_file
from storage.lake import LakeWarehouse
from tasks.feeds.parse import parse_feed
from tasks.models import Batch, RunRecord
from tasks.run.settle import sighting_of

ROOT = Path(__file__).resolve().parents[1]
POOL = "newsdesk-fleet"
T0 = DAY
"""The simulated time (seconds after `bench.scale.EPOCH`) at which the benchmark starts."""
MIB = 2**20
TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")

# ---------------------------------------------------------------- the site


@dataclass(frozen=True, slots=True)
class Clock:
    """Simulated time runs with the wall clock: `wall0` is simulated time `T0`."""

    wall0: float

    def sim_now(self) -> float:
        return T0 + (time.time() - self.wall0)

    def wall(self, sim: float) -> datetime:
        return datetime.fromtimestamp(self.wall0 + (sim - T0), UTC)


def host_of(feed: int, hosts: Sequence[str]) -> str:
    return hosts[feed % len(hosts)]


def feed_url(feed: int, hosts: Sequence[str], ports: dict[str, int]) -> str:
    host = host_of(feed, hosts)
    return f"http://{host}:{ports[host]}/feeds/{feed}.xml"


def entry_url(feed: int, k: int, hosts: Sequence[str], ports: dict[str, int]) -> str:
    host = host_of(feed, hosts)
    return f"http://{host}:{ports[host]}/news/{feed}-{k}.html"


def body_window(feed: SimFeed, sim: float) -> range:
    """Indices of the arrivals a body lists at simulated time `sim`: the latest 20."""
    upto = bisect.bisect_right(feed.arrivals, sim)
    return range(max(0, upto - BODY_ENTRIES), upto)


class FleetHost:
    """What one loopback host serves, built on request (`bench.server.serve_host` calls `get`)."""

    def __init__(
        self,
        host: str,
        hosts: tuple[str, ...],
        ports: dict[str, int],
        feeds: list[SimFeed],
        pages: list[tuple[Page, bytes]],
        clock: Clock,
    ) -> None:
        self.index, self.hosts, self.ports = hosts.index(host), hosts, ports
        self.feeds, self.pages, self.clock = feeds, pages, clock

    def _mine(self, feed: int) -> bool:
        return 0 <= feed < len(self.feeds) and feed % len(self.hosts) == self.index

    def get(self, path: str) -> Resource | None:
        try:
            if path == "/robots.txt":
                return Resource(ROBOTS, "text/plain")
            if path.startswith("/feeds/") and path.endswith(".xml"):
                feed = int(path[len("/feeds/") : -len(".xml")])
                return self._feed(feed) if self._mine(feed) else None
            if path.startswith("/news/") and path.endswith(".html"):
                feed, k = map(int, path[len("/news/") : -len(".html")].split("-"))
                return self._page(feed, k) if self._mine(feed) else None
        except ValueError:
            return None
        return None

    def _corpus_page(self, feed: int, k: int) -> tuple[Page, bytes]:
        return self.pages[(feed * 7919 + k * 104729) % len(self.pages)]

    def _feed(self, feed: int) -> Resource:
        sim = self.feeds[feed]
        items = []
        for k in reversed(body_window(sim, self.clock.sim_now())):
            page, _ = self._corpus_page(feed, k)
            link = escape(entry_url(feed, k, self.hosts, self.ports))
            items.append(
                f"<item><title>{escape(page.title)}</title><link>{link}</link>"
                f"<pubDate>{format_datetime(self.clock.wall(sim.arrivals[k]))}</pubDate>"
                f"<description>{escape(page.summary)}</description></item>"
            )
        ttl = f"<ttl>{int(sim.ttl // 60)}</ttl>" if sim.ttl else ""
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{sim.spec.name}</title><link>http://{self.hosts[self.index]}/</link>"
            f"<description>fleet</description>{ttl}{''.join(items)}</channel></rss>"
        ).encode()
        return Resource(body, "application/rss+xml", validators=feed % 2 == 0)

    def _page(self, feed: int, k: int) -> Resource | None:
        if k >= len(self.feeds[feed].arrivals):
            return None
        _, html = self._corpus_page(feed, k)
        return Resource(page_body(html, entry_url(feed, k, self.hosts, self.ports)), "text/html")


def _site_main(
    sockets: dict[str, socket.socket],
    feeds: list[SimFeed],
    pages: list[tuple[Page, bytes]],
    clock: Clock,
    ready: Any,
) -> None:
    import asyncio

    hosts = tuple(sockets)
    ports = {host: sock.getsockname()[1] for host, sock in sockets.items()}
    stats = Stats()
    ready.send(ports)

    async def all_hosts() -> None:
        await asyncio.gather(
            *(
                serve_host(FleetHost(h, hosts, ports, feeds, pages, clock), h, stats, s)  # type: ignore[arg-type]
                for h, s in sockets.items()
            )
        )

    asyncio.run(all_hosts())


class FleetSite(BenchServer):
    """The fleet's feeds and pages in a child process; `ports` maps host → port. `pages` are
    the corpus pages with their bytes, which the forked process inherits."""

    def __init__(
        self,
        feeds: list[SimFeed],
        hosts: tuple[str, ...],
        pages: list[tuple[Page, bytes]],
        clock: Clock,
    ) -> None:
        self.sockets = listening_sockets(hosts, backlog=1024)
        self.ports = {host: sock.getsockname()[1] for host, sock in self.sockets.items()}
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_site_main, args=(self.sockets, feeds, pages, clock, child), daemon=True
        )
        self._ready = parent


# ---------------------------------------------------------------- the history


def prefill(
    lake: LakeWarehouse,
    site: dict[str, FleetHost],
    feeds: list[SimFeed],
    clock: Clock,
    period: float,
    chunk: int = 2000,
) -> int:
    """Store the entries the first bodies list that were published `period` or more before
    them, as earlier runs would have; return how many. The entries are read from the bodies
    the site serves, by the feeds stage's own parser, so that a run sees them unchanged (a
    sighting whose title or date differs would be taken for an edit and fetched again)."""
    cutoff = clock.wall(clock.sim_now() - period)
    hosts = tuple(site)
    entries = []
    for i, sim in enumerate(feeds):
        host = site[host_of(i, hosts)]
        url = feed_url(i, hosts, host.ports)
        parsed = parse_feed(sim.spec.name, host._feed(i).body, url)
        entries += [e for e in parsed.entries if e.published_at and e.published_at <= cutoff]
    lake.prepare()
    for start in range(0, len(entries), chunk):
        part = entries[start : start + chunk]
        articles = [warehouse_scale.make_article(e, start + n) for n, e in enumerate(part)]
        sightings = [sighting_of(e, a.article_id) for e, a in zip(part, articles, strict=True)]
        now = datetime.now(UTC)
        run = RunRecord(
            run_id=f"history-{start // chunk}",
            started_at=now,
            finished_at=now,
            feeds_total=0,
            feeds_ok=0,
            feeds_unchanged=0,
            feeds_failed=0,
            entries_seen=len(part),
            articles_new=len(part),
            articles_fallback=0,
            articles_failed=0,
            duration_seconds=0.0,
        )
        lake.write(Batch(tuple(articles), tuple(sightings), (), run))
    return len(entries)


# ---------------------------------------------------------------- the pool


class PeakSampler:
    """The peak RSS of each process tree, sampled in a thread."""

    def __init__(self, roots: dict[str, int], every: float = 0.25) -> None:
        self.roots, self.every = roots, every
        self.peaks = dict.fromkeys(roots, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.roots.items():
                self.peaks[name] = max(self.peaks[name], tree_rss_bytes(pid))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def trigger_round(
    client: httpx.Client, workers: int, parameters: dict[str, object], timeout: float = 3600
) -> list[dict[str, Any]]:
    """Create a flow run of every shard's deployment at once; wait for all to end."""
    triggered = datetime.now(UTC)
    runs = []
    for shard in range(1, workers + 1):
        deployment = client.get(f"/deployments/name/ingest/{ingest_name(shard, workers)}").json()
        created = client.post(
            f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": parameters}
        )
        created.raise_for_status()
        runs.append(created.json()["id"])
    deadline = time.monotonic() + timeout
    while True:
        states = [client.get(f"/flow_runs/{run}").json() for run in runs]
        if all(s["state"]["type"] in TERMINAL for s in states):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the round's runs did not end within {timeout:.0f} s")
        time.sleep(1)
    failed = [s for s in states if s["state"]["type"] != "COMPLETED"]
    if failed:
        raise RuntimeError(f"runs did not complete: {[s['state'] for s in failed]}")
    out = []
    for s in states:
        start, end = _parse_time(s["start_time"]), _parse_time(s["end_time"])
        assert start is not None and end is not None
        out.append(
            {
                "id": s["id"],
                "shard": s["parameters"].get("shard"),
                "pickup_s": (start - triggered).total_seconds(),
                "run_s": (end - start).total_seconds(),
            }
        )
    return out


# ---------------------------------------------------------------- the measurement


def _lake_counts(wh: LakeWarehouse) -> tuple[int, dict[str, float]]:
    articles = int(wh.query("SELECT count(*) FROM articles")[1][0][0])
    _, rows = wh.query("SELECT run_id, duration_seconds FROM ingest_runs")
    return articles, {str(r[0]): float(r[1]) for r in rows}


def measure(
    corpus: Path, workdir: Path, feeds_count: int, workers: int, hosts_count: int, period: float
) -> dict[str, Any]:
    hosts = tuple(f"127.0.1.{n}" for n in range(1, hosts_count + 1))
    feeds = simulated_feeds(feeds_count, days=T0 / DAY + 1)
    clock = Clock(wall0=time.time())
    result: dict[str, Any] = {"feeds": feeds_count, "workers": workers, "hosts": hosts_count}
    with ExitStack() as stack:
        pg_root = Path(tempfile.mkdtemp(prefix="newsdesk-fleet-pg-"))
        pg_root.chmod(0o755)
        stack.callback(shutil.rmtree, pg_root, True)
        postgres = PostgresServer(pg_root)
        stack.callback(postgres.stop)
        postgres.create_database("prefect")
        catalog = postgres.create_database("lake")
        db = f"ducklake:postgres:{catalog}"
        pages = [(p, p.path.read_bytes()) for p in corpus_pages(corpus)]
        site = stack.enter_context(FleetSite(feeds, hosts, pages, clock))
        feeds_file = write_feeds_file(
            workdir / "feeds.toml",
            [(f.spec.name, feed_url(i, hosts, site.ports)) for i, f in enumerate(feeds)],
        )
        data_path = workdir / "lake-data"
        data_path.mkdir()
        job_env = {
            "NEWSDESK_DB": db,
            "NEWSDESK_LAKE_DATA_PATH": f"{data_path}/",
            "NEWSDESK_FEEDS": str(feeds_file),
            "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
            "NEWSDESK_PER_HOST_DELAY": str(PER_HOST_DELAY),
            "NEWSDESK_MAX_ARTICLES_PER_FEED": "0",
            "NEWSDESK_WORKERS": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        lake = LakeWarehouse(db, data_path=f"{data_path}/")
        started = time.perf_counter()
        served = {h: FleetHost(h, hosts, site.ports, feeds, pages, clock) for h in hosts}
        result["history"] = prefill(lake, served, feeds, clock, period)
        result["prefill_s"] = time.perf_counter() - started
        print(f"history: {result['history']:,} entries in {result['prefill_s']:.0f} s", flush=True)
        prefect = stack.enter_context(PrefectServer(workdir / "prefect", postgres.url("prefect")))
        names = [f"worker-{n}" for n in range(1, workers + 1)]
        pool = stack.enter_context(work_pool(workdir, prefect.api, POOL, names, job_env))
        client = stack.enter_context(httpx.Client(base_url=prefect.api, timeout=60))
        time.sleep(5)  # the workers' first poll of the pool
        result["worker_idle_mib"] = statistics.median(rss_bytes(p.pid) / MIB for p in pool.values())
        rounds = {}
        plan = [
            ("cold", {"due_only": True}, 0.0),
            ("scheduled", {"due_only": True}, period),
            ("every feed", {"due_only": False}, 0.0),
        ]
        first_trigger = time.monotonic()
        for name, parameters, at in plan:
            wait = first_trigger + at - time.monotonic()
            if wait > 0:
                print(f"waiting {wait:.0f} s for the next scheduled run", flush=True)
                time.sleep(wait)
            site.reset()
            articles_before, _ = _lake_counts(lake)
            began = time.perf_counter()
            with PeakSampler({n: p.pid for n, p in pool.items()}) as sampler:
                runs = trigger_round(client, workers, parameters)
            wall = time.perf_counter() - began
            articles_after, durations = _lake_counts(lake)
            stats = site.stats()
            answers = stats["answers"]
            assert isinstance(answers, dict)
            body = [durations.get(r["id"]) for r in runs]
            rounds[name] = {
                "wall_s": wall,
                "feeds_200": answers.get("feed 200", 0),
                "feeds_304": answers.get("feed 304", 0),
                "pages": answers.get("page 200", 0),
                "articles": articles_after - articles_before,
                "articles_per_s": (articles_after - articles_before) / wall,
                "pickup_s": statistics.median(r["pickup_s"] for r in runs),
                "run_s": [r["run_s"] for r in runs],
                "body_s": body,
                "peak_mib": {n: v / MIB for n, v in sampler.peaks.items()},
            }
            print(f"{name}: {json.dumps(rounds[name], default=str)}", flush=True)
            if name == "cold":
                first_trigger = time.monotonic() - wall  # the schedule counts from the trigger
        result["rounds"] = rounds
    return result


def table(r: dict[str, Any]) -> str:
    rounds = r["rounds"]
    names = list(rounds)
    rows: list[tuple[str, ...]] = [
        ("measure", *names),
        ("---", *("---" for _ in names)),
    ]

    def row(label: str, value) -> None:  # type: ignore[no-untyped-def]
        rows.append((label, *(value(rounds[n]) for n in names)))

    row(
        "feeds polled (200 / 304)",
        lambda x: f"{x['feeds_200'] + x['feeds_304']:,} ({x['feeds_200']:,} / {x['feeds_304']:,})",
    )
    row("pages downloaded", lambda x: f"{x['pages']:,}")
    row("articles stored", lambda x: f"{x['articles']:,}")
    row("wall time, trigger to last run's end", lambda x: f"{x['wall_s']:.1f} s")
    row("articles/s end to end", lambda x: f"{x['articles_per_s']:.1f}")
    row("pickup (trigger → Running), median", lambda x: f"{x['pickup_s']:.1f} s")
    row(
        "run time per shard (Running → Completed)",
        lambda x: " / ".join(f"{v:.0f}" for v in x["run_s"]) + " s",
    )
    row(
        "flow body per shard (`ingest_runs`)",
        lambda x: " / ".join("?" if v is None else f"{v:.0f}" for v in x["body_s"]) + " s",
    )
    row(
        "peak RSS per worker tree",
        lambda x: " / ".join(f"{v:,.0f}" for v in x["peak_mib"].values()) + " MiB",
    )
    head = (
        f"{r['feeds']:,} feeds on {r['hosts']} loopback hosts, {r['workers']} workers; "
        f"history {r['history']:,} entries (pre-filled in {r['prefill_s']:.0f} s); "
        f"idle worker {r['worker_idle_mib']:.0f} MiB"
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join([head, "", *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=18_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--period", type=float, default=900.0, help="seconds between schedules")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "fleet.json")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    if not (args.corpus / "articles").is_dir():
        print(f"skipped: no corpus at {args.corpus}", file=sys.stderr)
        return 0
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newsdesk-fleet-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = measure(args.corpus, workdir, args.feeds, args.workers, args.hosts, args.period)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(result))
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
