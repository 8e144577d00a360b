"""Peak memory of a run against its size: `newsdesk ingest` (the real CLI, a running Prefect
server, a fresh warehouse each time) over the benchmark web (`bench.site`), for 200 and for
2,000 articles in batches of 100 (NEWSDESK_BATCH_SIZE), and for 2,000 in one batch.

    .venv/bin/python -m bench.batch_memory [--corpus DIR]

Peak RSS is summed over the CLI and every process below it (the extraction workers), sampled
every 50 ms (`bench.procs`), and also given for the CLI's own process, where the run's pages,
articles and batches live. Prints one table.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.server import BenchServer
from bench.site import ENTRIES_PER_FEED, corpus_pages, plan_feeds
from bench.throughput import MIB, bench_env, last_run, measured_ingest
from harness.corpus import CORPUS
from harness.prefect import PrefectServer
from harness.sites import write_feeds_file

RUNS = ((200, 100), (2000, 100), (2000, 0))
"""(articles, batch size); 0 is one batch for the whole run."""


def measure(corpus: Path, workdir: Path) -> list[dict[str, float]]:
    feeds = plan_feeds(corpus_pages(corpus))
    rows = []
    with BenchServer(corpus) as site, PrefectServer(workdir / "prefect") as prefect:
        listed = [(f.name, f"http://{f.host}:{site.ports[f.host]}{f.path}") for f in feeds]
        for articles, size in RUNS:
            name = f"{articles}-{size}"
            feeds_file = write_feeds_file(
                workdir / f"feeds-{name}.toml", listed[: articles // ENTRIES_PER_FEED]
            )
            env = bench_env(
                PREFECT_API_URL=prefect.api,
                PREFECT_HOME=str(workdir / "prefect"),
                NEWSDESK_BATCH_SIZE=str(size),
            )
            db = workdir / f"{name}.duckdb"
            run = measured_ingest(feeds_file, db, env)
            rows.append(
                {
                    "articles": float(last_run(db)["articles_total"]),
                    "batch_size": float(size),
                    "seconds": run.seconds,
                    "peak_rss_mib": run.peak_rss_bytes / MIB,
                    "peak_main_rss_mib": run.peak_main_rss_bytes / MIB,
                }
            )
            print(f"{rows[-1]}", flush=True)
    return rows


def table(rows: list[dict[str, float]]) -> str:
    lines = [
        "| articles | batch size | seconds | peak RSS, process tree | of which the run's process |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        size = f"{r['batch_size']:.0f}" if r["batch_size"] else "one batch"
        lines.append(
            f"| {r['articles']:,.0f} | {size} | {r['seconds']:.1f} | {r['peak_rss_mib']:.0f} MiB "
            f"| {r['peak_main_rss_mib']:.0f} MiB |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsdesk-batch-memory-") as tmp:
        print(table(measure(args.corpus.resolve(), Path(tmp))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
