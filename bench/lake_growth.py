"""How a DuckLake grows over a day of commits, and what compaction gives back.

    .venv/bin/python -m bench.lake_growth [--commits N] [--rows R] [--polls P]
        [--every K] [--compact-every M] [--catalog sqlite|postgres] [--json FILE]

A lake (`ducklake:sqlite:…/catalog.sqlite`, data files beside it, DuckLake's default data
inlining, as `newsdesk` makes one; or a PostgreSQL catalog on a server of Debian's package
started for the run) takes `commits` commits, each a whole run's batch: `rows` new articles
and their sightings (`bench.warehouse_scale`'s batches), `polls` feed polls (feed states of
18,000 feeds in turn) and the run's `ingest_runs` row. At Media Cloud's volume a day is 5,000
commits of 100 articles (500,000 articles); a tenth of it (18,000 feeds, 50,000 articles) is
the same 5,000 commits at 10 articles, or 500 at 100: the commit count is what grows the
catalog.

A commit through the `Warehouse` handle (`find_known` and `write`, opening the lake twice)
takes about a second on this machine, so a day of them would take longer than this benchmark
may. The day is therefore written on ONE open writable connection by `lean_commit`: the
lake's commit lock, then the writer's transaction (`storage.writer.write_staged`), as
`LakeWarehouse.write` makes it. Each commit is one snapshot and a Parquet file (or inlined
rows) per table written, as a run's is.

Every `every` commits, and after compaction, it records:

- the lake: snapshots, catalog bytes (the SQLite file and its WAL; `pg_database_size` for
  PostgreSQL), data files the current snapshot reads (count, bytes), Parquet files on
  disk under the data path (count, bytes), inlined rows (in the catalog, live and all);
- the times: the mean of the last `every` lean commits; one commit of 100 articles through
  the `Warehouse` handle as a run makes it (`bench.lake.append_timed`: `find_known` and `write`,
  opens included; median of 3; these commits count towards the day); the analyst query of
  `bench.lake` (articles and feeds per day over the whole lake) through `Warehouse.query`
  (opening included) and on the open connection, median of 3 each; opening read-only, median
  of 3; `feed_states()`, what every run reads first (the `feeds` view: each feed's latest
  poll), once.

Then the project's compaction, `LakeWarehouse.compact` as the `maintenance` flow calls it: first
with the flow's default settings (snapshots kept 168 hours, files deleted after 1 hour
unused: in a day compressed into minutes it expires and deletes nothing), then with both at 0,
which is what the same settings do once a day's snapshots are older than the window. Its time,
its report (`Compaction`) and the figures after each.

With `--compact-every M` the writer compacts with the default settings every M commits, in
the same process between commits (a maintenance run beside the ingests, serialised here).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import duckdb

from bench import lake as lake_bench
from bench import warehouse_scale
from bench.throughput import ROOT
from storage.lake import CATALOG_ALIAS, METADATA, LakeWarehouse, attach_catalog, commit_lock
from storage.schemas import (
    stage_batch,
)
from storage.writer import write_staged
from tasks.models import Batch, FeedState

FEEDS = 18_000
"""Feeds whose polls the commits record in turn (a tenth of Media Cloud)."""
KEEP_SNAPSHOTS = timedelta(hours=168)
FILE_GRACE = timedelta(hours=1)
"""The maintenance flow's defaults (`NEWSDESK_LAKE_KEEP_SNAPSHOTS_HOURS`, `…_FILE_GRACE_HOURS`)."""
HANDLE_ROWS = 100
"""Articles in each commit through the `Warehouse` handle, whatever `rows` is."""


def make_batch(first: int, rows: int, polls: int, poll_first: int, run_id: str) -> Batch:
    """A run's batch: `rows` new articles from number `first` with their sightings, `polls`
    feed polls from feed number `poll_first`, and the run's record."""
    built = warehouse_scale.PrebuiltBatch(first, rows, run_id)
    finished = built.run.finished_at
    states = tuple(
        FeedState(
            name=f"feed-{(poll_first + k) % FEEDS:05d}",
            url=f"https://site{(poll_first + k) % FEEDS}.example/feed.xml",
            etag=f'"etag-{run_id}-{k}"',
            body_hash=f"{run_id}-{k}",
            last_polled_at=finished,
            last_status="ok",
            last_http_status=200,
            last_success_at=finished,
        )
        for k in range(polls)
    )
    return Batch(tuple(built.articles), tuple(built.sightings), states, built.run)


def lean_commit(con: duckdb.DuckDBPyConnection, wh: LakeWarehouse, batch: Batch) -> float:
    """`batch` committed as `LakeWarehouse.write` commits it, on the open connection `con`;
    returns the milliseconds taken."""
    started = time.perf_counter()
    staged_articles, staged_sightings = stage_batch(batch.articles, batch.sightings, batch.run)
    with commit_lock(con, wh.spec, wait=wh.commit_wait):
        write_staged(
            con,
            staged_articles,
            staged_sightings,
            batch.feed_states,
            batch.run,
            feed_polls=True,
        )
    return (time.perf_counter() - started) * 1000


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    # fetchall, not fetchone: a result left unread keeps its transaction open, and with it a
    # read of the SQLite catalog that blocks every other writer's attach.
    rows = con.execute(sql).fetchall()
    return int(rows[0][0] or 0) if rows else 0


def lake_size(wh: LakeWarehouse, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The lake's size: catalog, data files and inlined rows."""
    size: dict[str, int] = {
        "snapshots": _one(con, f"SELECT count(*) FROM {METADATA}.ducklake_snapshot"),
        "live_files": _one(
            con, f"SELECT count(*) FROM {METADATA}.ducklake_data_file WHERE end_snapshot IS NULL"
        ),
        "live_file_bytes": _one(
            con,
            f"SELECT sum(file_size_bytes) FROM {METADATA}.ducklake_data_file "
            "WHERE end_snapshot IS NULL",
        ),
        "catalog_files": _one(con, f"SELECT count(*) FROM {METADATA}.ducklake_data_file"),
    }
    inlined = [
        name
        for (name,) in con.execute(
            f"SELECT table_name FROM {METADATA}.ducklake_inlined_data_tables"
        ).fetchall()
    ]
    size["inlined_rows_live"] = sum(
        _one(con, f"SELECT count(*) FROM {METADATA}.{name} WHERE end_snapshot IS NULL")
        for name in inlined
    )
    size["inlined_rows_all"] = sum(
        _one(con, f"SELECT count(*) FROM {METADATA}.{name}") for name in inlined
    )
    parquet = [p.stat().st_size for p in Path(wh.spec.data_path or ".").rglob("*.parquet")]
    size["disk_files"], size["disk_file_bytes"] = len(parquet), sum(parquet)
    path = wh.spec.catalog_path
    if path is not None:
        size["catalog_bytes"] = sum(
            p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
    else:
        attach_catalog(con, wh.spec)
        size["catalog_bytes"] = _one(
            con,
            f"SELECT * FROM postgres_query('{CATALOG_ALIAS}', "
            "'SELECT pg_database_size(current_database())')",
        )
    return size


class Day:
    """The lake under test, its open writer, and the article and poll numbers used so far."""

    def __init__(self, wh: LakeWarehouse, rows: int, polls: int, repeats: int = 3) -> None:
        self.wh, self.rows, self.polls, self.repeats = wh, rows, polls, repeats
        self.next_article = 0
        self.next_poll = 0
        self.commits = 0

    def batch(self, rows: int, prefix: str) -> Batch:
        batch = make_batch(
            self.next_article, rows, self.polls, self.next_poll, f"{prefix}-{self.commits}"
        )
        self.next_article += rows
        self.next_poll += self.polls
        self.commits += 1
        return batch

    def handle_commit(self) -> float:
        built = warehouse_scale.PrebuiltBatch(
            self.next_article, HANDLE_ROWS, f"handle-{self.commits}"
        )
        self.next_article += HANDLE_ROWS
        self.commits += 1
        return lake_bench.append_timed(self.wh, built)

    def figures(self, con: duckdb.DuckDBPyConnection, lean_ms: list[float]) -> dict[str, object]:
        """The lake's size and the times of its readers and writers now."""
        size = lake_size(self.wh, con)
        started = time.perf_counter()
        self.wh.feed_states()
        feed_states_ms = (time.perf_counter() - started) * 1000
        return {
            "commits": self.commits,
            "articles": _one(con, "SELECT count(*) FROM articles"),
            **size,
            "lean_commit_ms": statistics.fmean(lean_ms) if lean_ms else None,
            "handle_commit_ms": statistics.median(
                self.handle_commit() for _ in range(self.repeats)
            ),
            "query_ms": lake_bench.median_ms(lambda: self.wh.query(lake_bench.QUERY), self.repeats),
            "open_query_ms": lake_bench.median_ms(
                lambda: con.execute(lake_bench.QUERY).fetchall(), self.repeats
            ),
            "open_ms": lake_bench.median_ms(
                lambda: lake_bench.open_read_only(self.wh), self.repeats
            ),
            "feed_states_ms": feed_states_ms,
        }


def grow(
    wh: LakeWarehouse,
    commits: int,
    rows: int,
    polls: int,
    every: int,
    compact_every: int | None = None,
    repeats: int = 3,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, object]:
    """Write a day of `commits` commits into `wh`, recording its figures every `every`, then
    compact it; see the module docstring."""
    wh.prepare()
    day = Day(wh, rows, polls, repeats)
    points: list[dict[str, object]] = []
    periodic: list[dict[str, object]] = []
    compactions = []
    with ExitStack() as stack:

        def writer() -> duckdb.DuckDBPyConnection:
            # A connection open across a compaction that flushed inlined rows fails every
            # later read and commit (its catalog names the dropped inlined tables), so the
            # writer, like a run, opens the lake afresh after each compaction.
            stack.close()
            return stack.enter_context(wh.connect())

        con = writer()
        points.append({"stage": "empty", **day.figures(con, [])})
        lean: list[float] = []
        last_compacted = 0
        while day.commits < commits:
            lean.append(lean_commit(con, wh, day.batch(rows, "lean")))
            if compact_every and day.commits - last_compacted >= compact_every:
                last_compacted = day.commits
                started = time.perf_counter()
                report = wh.compact(keep_snapshots=KEEP_SNAPSHOTS, file_grace=FILE_GRACE)
                periodic.append(
                    {"commits": day.commits, "seconds": time.perf_counter() - started}
                    | asdict(report)
                )
                con = writer()
            if len(lean) >= every or day.commits >= commits:
                point = {"stage": "growing", **day.figures(con, lean)}
                points.append(point)
                progress(
                    f"{day.commits:>6} commits: {point['snapshots']} snapshots, "
                    f"{point['live_files']} live files, {_mib(point['catalog_bytes'])} MiB "
                    f"catalog, lean {point['lean_commit_ms']:.0f} ms, "
                    f"handle {point['handle_commit_ms']:.0f} ms"
                )
                lean = []
        for stage, keep, grace in (
            ("compacted (defaults: 168 h, 1 h)", KEEP_SNAPSHOTS, FILE_GRACE),
            ("compacted (0 h, 0 h: a week on)", timedelta(0), timedelta(0)),
        ):
            started = time.perf_counter()
            report = wh.compact(keep_snapshots=keep, file_grace=grace)
            seconds = time.perf_counter() - started
            compactions.append({"stage": stage, "seconds": seconds} | asdict(report))
            con = writer()
            points.append({"stage": stage, **day.figures(con, [])})
            progress(f"{stage}: {seconds:.1f} s, {report}")
    return {
        "commits": commits,
        "rows": rows,
        "polls": polls,
        "catalog": wh.spec.catalog,
        "points": points,
        "compactions": compactions,
        "periodic": periodic,
    }


def _mib(n: object) -> str:
    return f"{int(n) / 2**20:.1f}"  # type: ignore[call-overload]


def table(result: dict) -> str:
    header = (
        "stage",
        "commits",
        "snapshots",
        "catalog MiB",
        "live files",
        "live MiB",
        "files on disk",
        "disk MiB",
        "inlined rows",
        "lean commit ms",
        "handle commit ms",
        "query ms",
        "open-con query ms",
        "open ms",
        "feed_states ms",
    )
    rows = [header]
    for p in result["points"]:
        lean = p["lean_commit_ms"]
        rows.append(
            (
                p["stage"],
                f"{p['commits']:,}",
                f"{p['snapshots']:,}",
                _mib(p["catalog_bytes"]),
                f"{p['live_files']:,}",
                _mib(p["live_file_bytes"]),
                f"{p['disk_files']:,}",
                _mib(p["disk_file_bytes"]),
                f"{p['inlined_rows_live']:,}",
                "—" if lean is None else f"{lean:.0f}",
                f"{p['handle_commit_ms']:.0f}",
                f"{p['query_ms']:.0f}",
                f"{p['open_query_ms']:.0f}",
                f"{p['open_ms']:.0f}",
                f"{p['feed_states_ms']:.0f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.append("")
    for c in result["compactions"] + result["periodic"]:
        stage = c.get("stage") or f"periodic, at {c['commits']:,} commits"
        lines.append(
            f"{stage}: {c['seconds']:.1f} s, "
            f"flushed {c['rows_flushed']:,} inlined rows, merged {c['files_merged']:,} files "
            f"into {c['files_created']:,}, expired {c['snapshots_expired']:,} snapshots, "
            f"removed {c['files_removed']:,} files; {c['live_files']:,} live files"
        )
    return "\n".join(lines)


@contextmanager
def _lake(catalog: str, workdir: Path) -> Iterator[LakeWarehouse]:
    if catalog == "sqlite":
        yield LakeWarehouse(lake_bench.lake_url(workdir / "lake"))
        return
    # Debian's PostgreSQL on a free loopback port, as the tests start it, stopped afterwards.
    from harness.postgres import PostgresServer

    server = PostgresServer(workdir / "postgres")
    try:
        dsn = server.create_database("growth")
        yield LakeWarehouse(f"ducklake:postgres:{dsn}", data_path=f"{workdir / 'data'}/")
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.lake_growth", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--commits", type=int, default=5000, help="commits in the day")
    parser.add_argument("--rows", type=int, default=100, help="new articles per commit")
    parser.add_argument("--polls", type=int, default=100, help="feed polls per commit")
    parser.add_argument("--every", type=int, default=500, help="commits between figures")
    parser.add_argument(
        "--compact-every", type=int, default=None, help="compact every M commits as well"
    )
    parser.add_argument("--catalog", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "lake_growth.json")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="newsdesk-bench-growth-"))
    if args.catalog == "postgres" and os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    started = time.perf_counter()
    try:
        with _lake(args.catalog, workdir) as wh:
            result = grow(
                wh,
                args.commits,
                args.rows,
                args.polls,
                args.every,
                args.compact_every,
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["wall_s"] = time.perf_counter() - started
    print(table(result))
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nfigures written to {args.json} ({result['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
