"""The file and the lake on the same work: is a SQLite-catalog DuckLake within 1.5× of the
DuckDB file?

    .venv/bin/python -m bench.lake [--rows N] [--pages P] [--corpus DIR] [--json FILE]

Four measures, each on a DuckDB file and on a lake (`ducklake:sqlite:…/catalog.sqlite`, data
files beside it), alternated so that a drift of the machine lands on both:

1. cold ingest: `newsdesk ingest` (the real CLI, a running Prefect server) over the benchmark
   web of `bench.site` (the first `pages` corpus pages on each of its 8 loopback hosts), into
   a fresh warehouse;
2. idle re-poll: the same command again, nothing changed, three times each (the median);
3. append 1,000 articles into a warehouse of `rows`: the file is `bench.warehouse_scale`'s
   pre-fill, the lake is that file copied by `storage.lake.migrate_into` (what `newsdesk
   migrate --to` runs; its time and counts are reported too); then, through the `Warehouse`
   handle a run uses, `find_known` for the batch's entries and `write` of the batch, three
   times each after one untimed append (the median);
4. an analyst query, articles and feeds per day over the whole warehouse, through
   `Warehouse.query` (what `newsdesk sql` runs, opening included) and on a connection already
   open (a notebook), five times each (the median); and the opening alone, both as a process
   opens again a warehouse it has opened before (median of 5) and as a new process opens it
   the first time (median of 3 processes, imports left out).

`python -m bench` runs this at a reduced size (its own cold and idle runs on a quarter of the
feeds, 100,000 rows) and prints the table after its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import warehouse_scale
from bench.procs import run_measured
from bench.server import BenchServer
from bench.site import corpus_pages, plan_feeds
from bench.throughput import ROOT, bench_env
from harness.cli import BIN
from harness.corpus import CORPUS
from harness.prefect import PrefectServer
from harness.sites import write_feeds_file
from storage import Warehouse
from storage.lake import LakeWarehouse, migrate_into
from tasks.models import Batch

TARGET = 1.5
BATCH = 1000
QUERY = (
    "SELECT CAST(published_at AS DATE) AS day, count(*) AS articles, "
    "count(DISTINCT feed_name) AS feeds FROM articles GROUP BY day ORDER BY day"
)


def lake_url(root: Path) -> str:
    return f"ducklake:sqlite:{root / 'catalog.sqlite'}"


def _ingest(feeds_file: Path, db: str, env: dict[str, str]) -> float:
    args = [str(BIN / "newsdesk"), "ingest", "--feeds", str(feeds_file), "--db", db]
    measured = run_measured([*args, "--max-articles-per-feed", "0"], env)
    if measured.returncode != 0:
        raise RuntimeError(f"`newsdesk ingest` exited {measured.returncode}:\n{measured.output}")
    return measured.seconds


def _count(db: str) -> int:
    return int(Warehouse(db).query("SELECT count(*) FROM articles")[1][0][0])


def compare_ingest(
    site: BenchServer, feeds_file: Path, env: dict[str, str], workdir: Path
) -> dict[str, dict]:
    """Cold ingest and idle re-polls of `feeds_file` into a new file and a new lake."""
    dbs = {"file": str(workdir / "cmp-file.duckdb"), "lake": lake_url(workdir / "cmp-lake")}
    cold, idle = {}, {name: [] for name in dbs}
    for name, db in dbs.items():
        site.reset()
        cold[name] = _ingest(feeds_file, db, env)
    for _ in range(3):
        for name, db in dbs.items():
            idle[name].append(_ingest(feeds_file, db, env))
    articles = {name: _count(db) for name, db in dbs.items()}
    if articles["file"] != articles["lake"]:
        raise RuntimeError(f"the file and the lake stored different articles: {articles}")
    return {
        "cold": {**cold, "articles": articles["file"]},
        "idle": {name: statistics.median(times) for name, times in idle.items()},
    }


def append_timed(wh: Warehouse, batch: warehouse_scale.PrebuiltBatch) -> float:
    """Milliseconds to commit `batch` as a run does (`find_known`, then `write`); it must be
    all new."""
    started = time.perf_counter()
    known = wh.find_known(
        [(e.feed_name, e.url) for e in batch.entries],
        [(e.feed_name, e.guid) for e in batch.entries if e.guid],
    )
    outcome = wh.write(
        Batch(tuple(batch.articles), tuple(batch.sightings), tuple(batch.feed_states), batch.run)
    )
    elapsed = (time.perf_counter() - started) * 1000
    if known.article_ids or len(outcome.result.new_ids) != len(batch.articles):
        raise RuntimeError(f"{wh}: the batch was not all new ({len(outcome.result.new_ids)})")
    return elapsed


def median_ms(action: Callable[[], object], repeats: int = 3) -> float:
    """The median of `repeats` timings of `action`, in milliseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def open_read_only(wh: Warehouse) -> None:
    """Open a read-only connection to `wh` and close it."""
    with wh.connect(read_only=True):
        pass


# A process's first read-only open, imports left out: what a one-shot `newsdesk sql` pays on
# top of its query (later opens of a lake in the same process reuse its DuckDB instance).
FIRST_OPEN = """
import sys, time
from storage import Warehouse
wh = Warehouse(sys.argv[1])
started = time.perf_counter()
with wh.connect(read_only=True):
    pass
print((time.perf_counter() - started) * 1000)
"""


def _first_open_ms(db: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_OPEN, db], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def compare_scale(rows: int, workdir: Path, repeats: int = 3) -> dict[str, object]:
    """Migrate a `rows`-article file into a lake, then append and query both."""
    path = workdir / "scale.duckdb"
    fill_s = warehouse_scale.prefill(path, rows, BATCH)
    lake = Warehouse(lake_url(workdir / "scale-lake"))
    assert isinstance(lake, LakeWarehouse)
    started = time.perf_counter()
    copies = migrate_into(lake, path)
    migrate_s = time.perf_counter() - started
    if any(c.source_rows != c.lake_rows for c in copies):
        raise RuntimeError(f"migrate: counts differ: {copies}")
    whs = {"file": Warehouse(path), "lake": lake}
    numbers = iter(range(rows, rows + (2 * repeats + 2) * BATCH, BATCH))
    for name, wh in whs.items():  # one-time costs: first plans, the lake's first commit
        append_timed(wh, warehouse_scale.PrebuiltBatch(next(numbers), BATCH, f"warmup-{name}"))
    append: dict[str, list[float]] = {name: [] for name in whs}
    for r in range(repeats):
        for name, wh in whs.items():
            batch = warehouse_scale.PrebuiltBatch(next(numbers), BATCH, f"{name}-{r}")
            append[name].append(append_timed(wh, batch))
    query = {name: median_ms(lambda wh=wh: wh.query(QUERY), 5) for name, wh in whs.items()}
    opening, open_query = {}, {}
    first: dict[str, list[float]] = {name: [] for name in whs}
    for _ in range(3):
        for name, wh in whs.items():
            first[name].append(_first_open_ms(str(wh)))
    for name, wh in whs.items():
        opening[name] = median_ms(lambda wh=wh: open_read_only(wh), 5)
        with wh.connect(read_only=True) as con:
            open_query[name] = median_ms(lambda con=con: con.execute(QUERY).fetchall(), 5)
    answers = {name: wh.query(QUERY)[1] for name, wh in whs.items()}
    # The appends differ (each side got its own new articles), their sums may not.
    totals = {name: sum(row[1] for row in rows) for name, rows in answers.items()}
    if totals["file"] != totals["lake"] or totals["file"] != rows + (repeats + 1) * BATCH:
        raise RuntimeError(f"the analyst query counts differ: {totals}")
    return {
        "rows": rows,
        "fill_s": fill_s,
        "migrate_s": migrate_s,
        "migrated": {c.table: c.lake_rows for c in copies},
        "append_ms": {name: statistics.median(times) for name, times in append.items()},
        "query_ms": query,
        "open_query_ms": open_query,
        "open_ms": opening,
        "first_open_ms": {name: statistics.median(times) for name, times in first.items()},
        "query_days": len(answers["file"]),
    }


def table(ingest: dict[str, dict], scale: dict) -> str:
    def ratio_row(what: str, file: float, lake: float, unit: str, fmt: str) -> tuple[str, ...]:
        ratio = lake / file
        verdict = "met" if ratio <= TARGET else "NOT met"
        return (
            what,
            f"{file:{fmt}} {unit}",
            f"{lake:{fmt}} {unit}",
            f"{ratio:.2f}×",
            f"≤ {TARGET}× ({verdict})",
        )

    cold, idle = ingest["cold"], ingest["idle"]
    rows = [
        ("measure", "file", "lake", "lake/file", "target"),
        ratio_row(
            f"cold ingest, {cold['articles']:,} articles (CLI)",
            cold["file"],
            cold["lake"],
            "s",
            ".1f",
        ),
        ratio_row("idle re-poll (CLI, median of 3)", idle["file"], idle["lake"], "s", ".2f"),
        ratio_row(
            f"append {BATCH:,} into {scale['rows']:,} (median of 3)",
            scale["append_ms"]["file"],
            scale["append_ms"]["lake"],
            "ms",
            ".0f",
        ),
        ratio_row(
            f"analyst query (`newsdesk sql`): per day, {scale['query_days']} days",
            scale["query_ms"]["file"],
            scale["query_ms"]["lake"],
            "ms",
            ".0f",
        ),
        ratio_row(
            "… the same query on an open connection",
            scale["open_query_ms"]["file"],
            scale["open_query_ms"]["lake"],
            "ms",
            ".0f",
        ),
        (
            "opening read-only again in a process (part of each above)",
            f"{scale['open_ms']['file']:.0f} ms",
            f"{scale['open_ms']['lake']:.0f} ms",
            f"{scale['open_ms']['lake'] / scale['open_ms']['file']:.2f}×",
            "—",
        ),
        (
            "… the first in a process (median of 3 processes)",
            f"{scale['first_open_ms']['file']:.0f} ms",
            f"{scale['first_open_ms']['lake']:.0f} ms",
            f"{scale['first_open_ms']['lake'] / scale['first_open_ms']['file']:.2f}×",
            "—",
        ),
        (
            f"migrate {scale['rows']:,} articles into a lake",
            f"filled in {scale['fill_s']:.1f} s",
            f"{scale['migrate_s']:.1f} s",
            "—",
            "counts match (met)",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.lake", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "lake.json")
    parser.add_argument("--rows", type=int, default=1_000_000, help="articles in the warehouse")
    parser.add_argument(
        "--pages", type=int, default=75, help="corpus pages per host for the ingest runs"
    )
    args = parser.parse_args(argv)
    if not (args.corpus / "articles" / "ground_truth.jsonl").exists():
        print(f"corpus not found at {args.corpus}: pass --corpus ../shared/corpus", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="newsdesk-bench-lake-"))
    try:
        feeds = plan_feeds(corpus_pages(args.corpus, args.pages))
        with (
            BenchServer(args.corpus, limit=args.pages) as site,
            PrefectServer(workdir / "prefect") as prefect,
        ):
            env = bench_env(PREFECT_API_URL=prefect.api, PREFECT_HOME=str(workdir / "prefect"))
            every = write_feeds_file(
                workdir / "feeds.toml",
                [(f.name, f"http://{f.host}:{site.ports[f.host]}{f.path}") for f in feeds],
            )
            # The first run registers the flow with the server: on neither side.
            _ingest(write_feeds_file(workdir / "none.toml", []), str(workdir / "warm.duckdb"), env)
            ingest = compare_ingest(site, every, env, workdir)
        scale = compare_scale(args.rows, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(ingest, scale))
    args.json.write_text(
        json.dumps({"ingest": ingest, "scale": scale}, indent=2) + "\n", encoding="utf-8"
    )
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
