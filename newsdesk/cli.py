"""`newsdesk`: run the ingest flow, the offline demo, and read the warehouse.

Exit codes: 0 the run completed (failed feeds are reported, not fatal); 1 no feed could be
fetched, or the warehouse could not be written or read (a batch that found it locked waits in
the spool for the next run); 2 usage or configuration error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from newsdesk.settings import Settings

if TYPE_CHECKING:
    from tasks.models import FeedReport, RunReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_API_URL = "http://127.0.0.1:4200/api"

READING_WHILE_RUNS_WRITE = (
    "DuckDB lets one process write the file or several read it, not both: a query holds a "
    "read lock for as long as it runs, and a run that needs to write waits for it (then spools "
    "its batch). `newsdesk sql` holds it only for the one query. For a long session, work on a "
    "copy that locks nothing: `newsdesk snapshot /tmp/news.duckdb`."
)

out = Console()
err = Console(stderr=True, soft_wrap=True)  # one message, one line, even when piped


def _prefect_environment(verbose: bool = False) -> None:
    """Defaults for every Prefect process we start: no telemetry, patient start-up on small
    machines, and only errors on the console unless `verbose` (the run's logs still reach the
    Prefect API; the summary table says what happened). Set before Prefect is imported; an
    operator's own values win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "ERROR")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="Poll news feeds, extract articles, and store them in a DuckDB warehouse.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = sub.add_parser(
        "ingest", help="run the ingest flow once", description="Run the ingest flow once."
    )
    ingest.add_argument(
        "--feeds", type=Path, help="feeds file (default: $NEWSDESK_FEEDS or feeds.toml)"
    )
    ingest.add_argument(
        "--db", type=Path, help="warehouse file (default: $NEWSDESK_DB or data/news.duckdb)"
    )
    ingest.add_argument(
        "--feed", action="append", default=[], metavar="NAME", help="only this feed (repeatable)"
    )
    ingest.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="only feeds with this tag (repeatable)",
    )
    ingest.add_argument(
        "--dry-run",
        action="store_true",
        help="fetch, parse and extract, but write nothing to the warehouse",
    )
    ingest.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Prefect's run logs on the console, and every feed in the summary",
    )
    ingest.add_argument(
        "--max-articles-per-feed",
        type=int,
        metavar="N",
        help="new articles per feed this run (0: no limit)",
    )

    demo = sub.add_parser(
        "demo",
        help="ingest the bundled sample offline",
        description="Serve the bundled sample feeds and pages on 127.0.0.1 and ingest them.",
    )
    demo.add_argument(
        "--db",
        type=Path,
        default=Path("data/demo.duckdb"),
        help="warehouse file (default: data/demo.duckdb)",
    )

    sql = sub.add_parser(
        "sql",
        help="run a read-only SQL query",
        description="Run a read-only SQL query on the warehouse.",
        epilog=READING_WHILE_RUNS_WRITE,
    )
    sql.add_argument("query", help='SQL, e.g. "SELECT title FROM articles LIMIT 5"')
    sql.add_argument(
        "--db", type=Path, help="warehouse file (default: $NEWSDESK_DB or data/news.duckdb)"
    )
    sql.add_argument(
        "--max-width", type=int, default=60, help="truncate table cells to this many characters"
    )
    sql.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table for reading; csv or json (one object per line) for other programs",
    )

    sub.add_parser(
        "serve",
        help="serve the scheduled deployments to a Prefect server",
        description=(
            "Serve the ingest and maintenance deployments to the Prefect API in PREFECT_API_URL "
            f"(default {DEFAULT_API_URL}, a local `prefect server start`): schedules fire and "
            "the UI's Run button works while this runs. Ctrl-C stops it."
        ),
    )

    snapshot = sub.add_parser(
        "snapshot",
        help="copy the warehouse for a long analysis session",
        description=(
            "Copy the warehouse consistently to PATH (replacing it), holding the source only "
            "for the copy's few seconds. Open the copy with any tool for as long as you like: "
            "runs are never blocked by it."
        ),
        epilog=READING_WHILE_RUNS_WRITE,
    )
    snapshot.add_argument("path", type=Path, help="where to write the copy, e.g. /tmp/news.duckdb")
    snapshot.add_argument(
        "--db", type=Path, help="warehouse file (default: $NEWSDESK_DB or data/news.duckdb)"
    )

    feeds = sub.add_parser(
        "feeds",
        help="list feeds and their health; import, export or add feeds",
        description=(
            "Without an action: list each feed with its health. "
            "`import`, `export` and `add` edit or write the feeds file."
        ),
    )
    feeds.add_argument(
        "--db", type=Path, help="warehouse file (default: $NEWSDESK_DB or data/news.duckdb)"
    )
    _feeds_actions(feeds)
    return parser


def _feeds_actions(feeds: argparse.ArgumentParser) -> None:
    actions = feeds.add_subparsers(dest="feeds_action", metavar="ACTION")

    def feeds_file(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--feeds", type=Path, help="feeds file (default: $NEWSDESK_FEEDS or feeds.toml)"
        )

    def tag(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--tag", action="append", default=[], metavar="TAG", help="tag to give (repeatable)"
        )

    imported = actions.add_parser(
        "import",
        help="add the feeds of an OPML file",
        description="Add the subscriptions of an OPML file (as feed readers export them) to "
        "the feeds file. Folders become tags; feeds already in the file are skipped.",
    )
    imported.add_argument("opml", type=Path, metavar="FILE.opml")
    feeds_file(imported)
    tag(imported)

    exported = actions.add_parser(
        "export",
        help="write the feeds file as OPML",
        description="Write the feeds file as OPML 2.0 (tags in `category`), for feed readers.",
    )
    feeds_file(exported)
    exported.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here instead of stdout"
    )

    added = actions.add_parser(
        "add",
        help="find a site's feed and add it",
        description='Find the feeds of a site from its home page (<link rel="alternate">, '
        "then common paths such as /feed and /rss.xml) and add the first to the feeds file.",
    )
    added.add_argument("url", help="the site's home page, or a feed URL")
    feeds_file(added)
    added.add_argument("--name", help="name for the feed (default: from its title)")
    tag(added)
    added.add_argument("--all", action="store_true", help="add every feed found, not the first")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        err.print(f"[red]error:[/] invalid NEWSDESK_* setting:\n{exc}")
        return EXIT_USAGE
    handler = {
        "ingest": _ingest,
        "demo": _demo,
        "sql": _sql,
        "feeds": _feeds,
        "serve": _serve,
        "snapshot": _snapshot,
    }[args.command]
    return handler(args, settings)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.feeds.feedlist import FeedsFileError, load_feeds, select_feeds

    feeds_file = args.feeds or settings.feeds
    db = args.db or settings.db
    try:
        # Validate before starting Prefect: a bad file costs nothing and fetches nothing.
        select_feeds(load_feeds(feeds_file), args.feed, args.tag)
    except FeedsFileError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_USAGE
    if args.max_articles_per_feed is not None and args.max_articles_per_feed < 0:
        err.print("[red]error:[/] --max-articles-per-feed must be 0 or more")
        return EXIT_USAGE
    return run_ingest(
        feeds=args.feed,
        tags=args.tag,
        feeds_file=feeds_file,
        db=db,
        max_articles_per_feed=args.max_articles_per_feed,
        dry_run=args.dry_run,
        verbose=args.verbose,
    )


def run_ingest(
    *,
    feeds_file: Path,
    db: Path,
    feeds: Sequence[str] = (),
    tags: Sequence[str] = (),
    max_articles_per_feed: int | None = None,
    dry_run: bool = False,
    verbose: bool = False,
) -> int:
    """Run the flow in this process with a progress display, print the summary, and return
    the exit code."""
    _prefect_environment(verbose)
    from flows.ingest import ingest
    from storage import WarehouseError, WarehouseLocked

    try:
        with _progress():
            report = ingest(
                feeds=list(feeds),
                tags=list(tags),
                dry_run=dry_run,
                max_articles_per_feed=max_articles_per_feed,
                feeds_file=str(feeds_file),
                db=str(db),
            )
    except WarehouseLocked as exc:
        err.print(
            f"[red]error:[/] {exc}. Nothing was stored and nothing is lost: the next run fetches "
            "it again. Close the other session (read with `newsdesk sql` or `newsdesk snapshot` "
            "instead)."
        )
        return EXIT_FAILED
    except WarehouseError as exc:
        err.print(f"[red]error:[/] the warehouse could not be written: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err.print("interrupted: nothing from this run was written")
        return 130
    if report.all_failed and not report.spooled_to:
        if verbose:
            print_report(report, every=True)
        err.print(f"[red]error:[/] {all_failed_message(report)}")
        return EXIT_FAILED
    print_report(report, every=verbose)
    if report.spooled_to:
        err.print(
            f"[yellow]warning:[/] the warehouse stayed locked by another process, so this run's "
            f"batch is kept in {report.spooled_to}; the next run merges it. "
            f"({report.lock_error})"
        )
        return EXIT_FAILED
    return EXIT_OK


def all_failed_message(report: RunReport) -> str:
    """One line for a run where no feed could be fetched, e.g. on a machine with no network."""
    errors = [f.error or "unknown error" for f in report.feeds if f.status != "backoff"]
    example = errors[0] if len(set(errors)) == 1 else f"e.g. {errors[0]}"
    if all(_looks_offline(e) for e in errors):
        return (
            f"none of the {len(errors)} feeds could be reached ({example}): is this machine "
            "offline? `newsdesk demo` ingests a bundled sample without a network."
        )
    return f"none of the {len(errors)} feeds could be fetched ({example}); see `newsdesk feeds`."


def _looks_offline(error: str | None) -> bool:
    text = (error or "").lower()
    return any(
        k in text for k in ("dns", "resolve", "unreachable", "refused", "timed out", "connect")
    )


class _progress:
    """A progress bar per stage while a run goes on in a terminal; nothing otherwise."""

    def __enter__(self) -> _progress:
        from tasks import progress

        self._bar: Any = None
        if err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self._bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            )
            self._tasks: dict[str, Any] = {}
            self._bar.start()
            progress.set_reporter(self._report)
        return self

    def _report(self, stage: str, advance: int, total: int | None) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(stage, total=total)
        elif total is not None:
            self._bar.update(self._tasks[stage], total=total)
        if advance:
            self._bar.advance(self._tasks[stage], advance)

    def __exit__(self, *exc: object) -> None:
        from tasks import progress

        progress.set_reporter(None)
        if self._bar is not None:
            self._bar.stop()


SUMMARY_ROWS = 40
"""Feeds listed in the summary of a run over more feeds: failures first, then the most news."""


def _summary_rows(report: RunReport, every: bool) -> tuple[list[FeedReport], int]:
    """The feed rows to print, and how many were left out."""
    feeds = list(report.feeds)
    if every or len(feeds) <= SUMMARY_ROWS:
        return feeds, 0
    trouble = [f for f in feeds if f.status in ("failed", "backoff")]
    others = sorted(
        (f for f in feeds if f.status not in ("failed", "backoff")),
        key=lambda f: (-f.new_articles, f.name),
    )
    shown = trouble + others[: max(0, SUMMARY_ROWS - len(trouble))]
    return shown, len(feeds) - len(shown)


def print_report(report: RunReport, every: bool = False) -> None:
    """The run's summary table; over `SUMMARY_ROWS` feeds, only failing ones and those with the
    most new articles, unless `every`."""
    table = Table(title=f"ingest run {report.run_id}", title_justify="left")
    for column in ("feed", "status", "http", "entries", "new", "from feed", "seconds", "error"):
        table.add_column(
            column,
            justify="right"
            if column in ("http", "entries", "new", "from feed", "seconds")
            else "left",
        )
    styles = {"failed": "red", "ok": "green", "backoff": "yellow"}
    rows, left_out = _summary_rows(report, every)
    for f in rows:
        table.add_row(
            f.name,
            f"[{styles.get(f.status, 'dim')}]{f.status}[/]",
            str(f.http_status or ""),
            str(f.entries),
            f"{f.new_articles}{'+' if f.capped else ''}",
            str(f.fallback_articles or ""),
            f"{f.seconds:.1f}",
            (f.error or "")[:80],
        )
    out.print(table)
    if left_out:
        out.print(
            f"[dim]… and {left_out} more feeds without errors: every feed is in the run's "
            "`ingest-feeds` artifact in the Prefect UI, or use --verbose[/]"
        )
    resting = f", {report.feeds_backoff} resting" if report.feeds_backoff else ""
    updated = f", {report.articles_updated} updated" if report.articles_updated else ""
    out.print(
        f"{len(report.feeds)} feeds ({report.feeds_failed} failed{resting}), "
        f"{report.entries_seen} entries, [bold]{report.articles_new} new articles[/]{updated} "
        f"({report.articles_fallback} from feed text, {report.articles_failed} without text) "
        f"in {report.seconds:.1f} s → {report.db}"
    )
    if report.merged_runs:
        out.print(
            f"merged {len(report.merged_runs)} batch(es) spooled by earlier runs while the "
            "warehouse was locked"
        )
    if any(f.capped for f in report.feeds):
        out.print("[dim]+ more new entries than --max-articles-per-feed: the rest come next run[/]")
    if report.dry_run:
        out.print(
            "[yellow]dry run: nothing was written; 'new' counts what would have been stored[/]"
        )


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from newsdesk.demo import DEMO_PORT, serve_sample, write_sample_feeds

    # The sample server is on loopback by design; article links to it must be allowed, and
    # spacing requests to our own server would only slow the demo down.
    os.environ["NEWSDESK_ALLOW_PRIVATE_NETWORK"] = "1"
    os.environ.setdefault("NEWSDESK_PER_HOST_DELAY", "0")
    with serve_sample(DEMO_PORT) as base_url, tempfile.TemporaryDirectory() as tmp:
        feeds_file = write_sample_feeds(base_url, Path(tmp) / "feeds.toml")
        out.print(f"serving the bundled sample at {base_url}")
        code = run_ingest(feeds_file=feeds_file, db=args.db)
    if code == EXIT_OK:
        out.print(
            f"\nnext: newsdesk sql --db {args.db} "
            '"SELECT feed_name, language, published_at, title FROM articles"'
        )
    return code


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import httpx

    os.environ.setdefault("PREFECT_API_URL", DEFAULT_API_URL)
    api = os.environ["PREFECT_API_URL"].rstrip("/")
    try:
        httpx.get(f"{api}/health", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        err.print(
            f"[red]error:[/] no Prefect API at {api} ({exc.__class__.__name__}): start one with "
            "`prefect server start`, or set PREFECT_API_URL"
        )
        return EXIT_FAILED
    _prefect_environment(verbose=True)
    from prefect import serve

    from deployments.definitions import build_deployments

    with contextlib.suppress(KeyboardInterrupt):
        serve(*build_deployments(settings))
    out.print("stopped serving")
    return EXIT_OK


def _sql(args: argparse.Namespace, settings: Settings) -> int:
    import duckdb

    from storage import WarehouseError

    try:
        columns, rows = settings.warehouse(args.db).query(args.query)
    except WarehouseError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    except duckdb.Error as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_USAGE
    if args.format == "table":
        _print_rows(columns, rows, args.max_width)
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False))
    return EXIT_OK


def _snapshot(args: argparse.Namespace, settings: Settings) -> int:
    from storage import WarehouseError

    try:
        settings.warehouse(args.db).snapshot(args.path)
    except WarehouseError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    out.print(f"copied to {args.path}; open it with `duckdb {args.path}` (runs are not blocked)")
    return EXIT_OK


def _feeds(args: argparse.Namespace, settings: Settings) -> int:
    if args.feeds_action is not None:
        from newsdesk.feedcommands import run_feeds_action

        return run_feeds_action(args, settings, out, err)
    from storage import WarehouseError

    try:
        columns, rows = settings.warehouse(args.db).feed_health()
    except WarehouseError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    _print_rows(columns, rows, 60)
    return EXIT_OK


def _print_rows(columns: Sequence[str], rows: Sequence[tuple], max_width: int) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*(_cell(v, max_width) for v in row))
    out.print(table)
    out.print(f"[dim]{len(rows)} row{'s' if len(rows) != 1 else ''}[/]")


def _cell(value: object, max_width: int) -> str:
    if value is None:
        return "[dim]NULL[/]"
    text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
    text = text.replace("\n", " ")
    if len(text) > max_width:
        text = text[: max_width - 1] + "…"
    return escape(text)


if __name__ == "__main__":
    sys.exit(main())
