"""`newsdesk`: run the ingest flow, the offline demo, and read the warehouse.

Exit codes: 0 the run completed (failed feeds are reported, not fatal); 1 no feed could be
fetched, or the warehouse could not be written or read (a batch that found it locked waits in
the spool for the next run); 2 usage or configuration error; 130 and 143 the run was
interrupted by SIGINT (Ctrl-C) or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from newsdesk.settings import Settings
from newsdesk.tables import write_rows

if TYPE_CHECKING:
    from tasks.models import FeedReport, RunReport

DB_HELP = (
    "warehouse: a DuckLake URL (ducklake:sqlite:PATH, ducklake:postgres:DSN) or a DuckDB file "
    "(default: $NEWSDESK_DB, else the lake data/lake/catalog.sqlite)"
)
DEMO_LAKE = "ducklake:sqlite:data/demo/catalog.sqlite"

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


def parser() -> argparse.ArgumentParser:
    """The `newsdesk` command's parser: every command and option (the docs test reads it)."""
    root = argparse.ArgumentParser(
        prog="newsdesk",
        description="Poll news feeds, extract articles, and store them in a DuckDB warehouse.",
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = sub.add_parser(
        "ingest", help="run the ingest flow once", description="Run the ingest flow once."
    )
    ingest.add_argument(
        "--feeds", type=Path, help="feeds file (default: $NEWSDESK_FEEDS or feeds.toml)"
    )
    ingest.add_argument("--db", metavar="PATH|URL", help=DB_HELP)
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
        "--shard",
        metavar="I/N",
        help="only the feeds of shard I of N (by a hash of the feed name), e.g. 2/4",
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
        metavar="PATH|URL",
        default=DEMO_LAKE,
        help=f"warehouse file or lake URL (default: the lake {DEMO_LAKE.split(':')[-1]})",
    )

    sql = sub.add_parser(
        "sql",
        help="run a read-only SQL query",
        description="Run a read-only SQL query on the warehouse.",
        epilog=READING_WHILE_RUNS_WRITE,
    )
    sql.add_argument("query", help='SQL, e.g. "SELECT title FROM articles LIMIT 5"')
    sql.add_argument("--db", metavar="PATH|URL", help=DB_HELP)
    _output_options(sql)

    search = sub.add_parser(
        "search",
        help="full-text search of headlines and article text",
        description=(
            "Find articles by words in their headline or text (BM25; a headline match counts "
            "more). Articles containing more of the words come first, then those with more of "
            "them in the headline. Words match as written, ignoring case and accents; "
            "`--lang` narrows to one language."
        ),
        epilog=READING_WHILE_RUNS_WRITE,
    )
    search.add_argument("query", help='words to look for, e.g. "Lavrov Geneva"')
    search.add_argument(
        "--since",
        type=_since,
        metavar="AGE|DATE",
        help="published (or, undated, stored) since: 12h, 7d, 2w, or a date like 2026-11-01",
    )
    search.add_argument("--lang", metavar="CODE", help="only articles in this language (de, en…)")
    search.add_argument("--feed", metavar="NAME", help="only articles first seen in this feed")
    search.add_argument("--limit", type=int, default=20, metavar="N", help="at most N (20)")
    search.add_argument("--db", metavar="PATH|URL", help=DB_HELP)
    _output_options(search)

    server = sub.add_parser(
        "server",
        help="start, stop or check the background Prefect server runs use",
        description=(
            "Keep one local Prefect server (API and UI) running in the background, state in "
            "data/prefect/ by default (beside the warehouse). Runs use it instead of starting "
            "Prefect's temporary one each time (seconds saved per run), and show in its UI. "
            "`newsdesk ingest` starts it on first use unless NEWSDESK_PREFECT_SERVER=ephemeral."
        ),
    )
    server.add_argument("action", choices=("start", "stop", "status"))
    server.add_argument(
        "--port", type=int, default=4200, help="port on 127.0.0.1 for `start` (default 4200)"
    )
    server.add_argument("--db", metavar="PATH|URL", help=DB_HELP)

    sub.add_parser(
        "serve",
        help="serve the scheduled deployments to a Prefect server",
        description=(
            "Serve the ingest and maintenance deployments to the Prefect API in PREFECT_API_URL "
            f"(default {DEFAULT_API_URL}, a local `prefect server start`): schedules fire and "
            "the UI's Run button works while this runs. Ctrl-C stops it."
        ),
    )

    migrate = sub.add_parser(
        "migrate",
        help="copy a DuckDB-file warehouse into a DuckLake",
        description=(
            "Copy the warehouse file (--db) into the DuckLake at --to, a table at a time, and "
            "check the counts. Run it again after an interruption: tables already copied are "
            "passed over. Then point NEWSDESK_DB at the lake."
        ),
    )
    migrate.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the lake, e.g. ducklake:sqlite:data/lake/catalog.sqlite",
    )
    migrate.add_argument("--db", metavar="PATH|URL", help=DB_HELP)

    shell = sub.add_parser(
        "shell",
        help="open the DuckDB CLI on the warehouse, read-only",
        description=(
            "Open the DuckDB CLI (the duckdb-cli package, the release the extensions are for) "
            "on the warehouse, read-only, with its extensions loaded and its views ready: a "
            "lake is attached as `lake` and used, a file is opened with -readonly. Every "
            "argument after newsdesk's own options (or after `--`) goes to the CLI, e.g. "
            '`newsdesk shell -csv -c "SELECT count(*) FROM latest_articles"`.'
        ),
        epilog=(
            "A lake's readers never hold up its writers. A DuckDB file's do: while the session "
            "is open, runs cannot write the file (their batches wait in the spool). For a long "
            "session on a file, --snapshot opens a copy, or move to a lake (`newsdesk migrate`)."
        ),
    )
    shell.add_argument(
        "--db",
        metavar="PATH|URL",
        help=DB_HELP,
    )
    shell.add_argument(
        "--snapshot",
        action="store_true",
        help="open a copy of the warehouse, made now and removed at exit, that blocks no run",
    )
    shell.add_argument(
        "duckdb_args", nargs="*", metavar="DUCKDB_ARG", help="options and SQL for the DuckDB CLI"
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
    snapshot.add_argument("--db", metavar="PATH|URL", help=DB_HELP)

    pending = sub.add_parser(
        "pending",
        help="list articles whose page waits for another fetch",
        description=(
            "List the articles stored from their feed's text because their page failed in a way "
            "that can heal (5xx, 429, timeout, lost connection, unreachable robots.txt): why, "
            "how often, and when the next run after that time fetches the page again."
        ),
    )
    pending.add_argument(
        "--given-up",
        action="store_true",
        help="list the articles whose page was given up instead",
    )
    pending.add_argument("--db", metavar="PATH|URL", help=DB_HELP)
    _output_options(pending)

    feeds = sub.add_parser(
        "feeds",
        help="list feeds and their health; import, export or add feeds",
        description=(
            "Without an action: list each feed with its health. "
            "`import`, `export` and `add` edit or write the feeds file."
        ),
    )
    feeds.add_argument("--db", metavar="PATH|URL", help=DB_HELP)
    feeds.add_argument(
        "--changed",
        action="store_true",
        help="list only the feeds whose status changed (see --since), oldest change first; "
        "nothing at all when none did, so a cron job mails only news",
    )
    feeds.add_argument(
        "--since",
        type=_since,
        default="1d",
        metavar="WHEN",
        help="with --changed: changes from this age (12h, 7d, 2w) or date on (default: 1d)",
    )
    _output_options(feeds)
    _feeds_actions(feeds)

    alerts = sub.add_parser(
        "alerts",
        help="deploy the automation that sends feed status changes through a notification block",
        description=(
            "Create or update, on the Prefect server runs report to (PREFECT_API_URL, else the "
            "background server, else 127.0.0.1:4200), the automation that "
            "turns each run's feed status events into a notification through one Prefect "
            "notification block (NEWSDESK_ALERT_BLOCK, default custom-webhook/newsdesk-alerts). "
            "Running it again changes nothing that is already so."
        ),
    )
    alerts.add_argument(
        "--webhook",
        metavar="URL",
        help="create or update the block as a Custom Webhook that posts JSON (text, subject, "
        "body) to URL: a Slack or Mattermost incoming webhook, or any receiver",
    )
    alerts.add_argument(
        "--block",
        metavar="TYPE/NAME",
        help="the notification block to send through (default: $NEWSDESK_ALERT_BLOCK)",
    )
    return root


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table for reading; csv or json (one object per line) for other programs",
    )
    parser.add_argument(
        "--wide",
        action="store_true",
        help="table: every column, full width (otherwise the columns that fit the terminal)",
    )
    parser.add_argument(
        "--max-width", type=int, default=60, help="table: cut cells to this many characters"
    )


def _since(value: str) -> datetime:
    """`12h`, `7d`, `2w` before now, or an ISO date or instant (UTC when it names no zone)."""
    units = {"h": 3600, "d": 86400, "w": 7 * 86400}
    text = value.strip().lower()
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r}: give an age (12h, 7d, 2w) or a date (2026-11-01)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


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
    argv = list(sys.argv[1:] if argv is None else argv)
    duckdb_args: list[str] = []
    if argv[:1] == ["shell"]:
        # The DuckDB CLI's own options (-c, -csv, -json…) are not ours to parse.
        from newsdesk.shell import split_arguments

        own, duckdb_args = split_arguments(argv[1:])
        argv = ["shell", *own]
    args = parser().parse_args(argv)
    if args.command == "shell":
        args.duckdb_args = duckdb_args
    try:
        settings = Settings()
    except ValidationError as exc:
        err.print(f"[red]error:[/] invalid NEWSDESK_* setting:\n{exc}")
        return EXIT_USAGE
    if (
        args.command != "migrate"
        and getattr(args, "db", None) is None
        and (notice := settings.legacy_notice())
    ):
        err.print(f"[dim]{notice}[/]")
    handler = {
        "ingest": _ingest,
        "demo": _demo,
        "sql": _sql,
        "search": _search,
        "feeds": _feeds,
        "pending": _pending,
        "serve": _serve,
        "server": _server,
        "snapshot": _snapshot,
        "migrate": _migrate,
        "shell": _shell,
        "alerts": _alerts,
    }[args.command]
    return handler(args, settings)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.feeds.feedlist import FeedsFileError, load_feeds, select_feeds
    from tasks.run.shards import ShardError, parse_shard

    feeds_file = args.feeds or settings.feeds
    db = args.db or settings.db
    try:
        # Validate before starting Prefect: a bad file costs nothing and fetches nothing.
        select_feeds(load_feeds(feeds_file), args.feed, args.tag)
        shard, shards = parse_shard(args.shard) if args.shard else (1, 1)
    except (FeedsFileError, ShardError) as exc:
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
        shard=shard,
        shards=shards,
    )


def run_ingest(
    *,
    feeds_file: Path,
    db: str,
    feeds: Sequence[str] = (),
    tags: Sequence[str] = (),
    max_articles_per_feed: int | None = None,
    dry_run: bool = False,
    verbose: bool = False,
    shard: int = 1,
    shards: int = 1,
) -> int:
    """Run the flow in this process with a progress display, print the summary, and return
    the exit code."""
    from storage import WarehouseError, WarehouseLocked

    progress = _progress()
    try:
        with _interruptible() as quiet, progress:
            _prefect_environment(verbose)
            if not _choose_prefect_api(db):
                return EXIT_FAILED
            _start_temporary_api()
            from flows.ingest import ingest

            quiet.attach()

            report = ingest(
                feeds=list(feeds),
                tags=list(tags),
                dry_run=dry_run,
                max_articles_per_feed=max_articles_per_feed,
                feeds_file=str(feeds_file),
                db=str(db),
                shard=shard,
                shards=shards,
            )
    except Interrupted as exc:
        if progress.stored:
            err.print("interrupted after this run's batch was stored: nothing is lost")
        elif progress.batches:
            err.print(
                f"interrupted after {progress.batches} of this run's batches were stored: they "
                "are kept; the next run fetches these feeds again for the rest"
            )
        else:
            err.print("interrupted: nothing written; the next run fetches these feeds again")
        return 128 + exc.signum
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


def _choose_prefect_api(db: str) -> bool:
    """Point this process at a running Prefect API, starting the background server on first
    use (see `newsdesk.server`); False when that failed and was reported."""
    from newsdesk import server

    if os.environ.get("PREFECT_API_URL") or Settings().prefect_server == "ephemeral":
        return True
    home = server.state_dir(db)
    api = server.running_api(home)
    if api is None:
        err.print(
            f"starting a background Prefect server for this and later runs (state in {home}; "
            "`newsdesk server stop` ends it)…"
        )
        try:
            api = server.start(home).api_url
        except server.ServerError as exc:
            err.print(f"[red]error:[/] {exc}")
            return False
    os.environ["PREFECT_API_URL"] = api
    return True


def _server(args: argparse.Namespace, settings: Settings) -> int:
    from newsdesk import server

    home = server.state_dir(args.db or settings.db)
    if args.action == "start":
        try:
            state = server.start(home, port=args.port)
        except server.ServerError as exc:
            err.print(f"[red]error:[/] {exc}")
            return EXIT_FAILED
        out.print(
            f"Prefect server running (pid {state.pid}): UI at {state.ui_url}, state in {home}"
        )
        return EXIT_OK
    if args.action == "stop":
        stopped = server.stop(home)
        out.print(f"stopped the Prefect server (pid {stopped.pid})" if stopped else "not running")
        return EXIT_OK
    recorded = server.read_state(home)
    if recorded is None:
        other = server.running_api(home)
        out.print(
            f"not running; runs use the Prefect server at {other}" if other else "not running"
        )
        return EXIT_FAILED if other is None else EXIT_OK
    answering = server.healthy(recorded.api_url, timeout=5)
    up = time.time() - recorded.started_at
    out.print(
        f"{'running' if answering else 'NOT ANSWERING'} (pid {recorded.pid}, "
        f"up {up / 3600:.1f} h): UI at {recorded.ui_url}, state in {home}"
    )
    return EXIT_OK if answering else EXIT_FAILED


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


class Interrupted(BaseException):
    """SIGINT or SIGTERM reached the run; a BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way out swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _interruptible() -> Iterator[_QuietWhileInterrupted]:
    """SIGINT and SIGTERM raise `Interrupted` in the run, wherever it is: asyncio stages are
    cancelled, extraction workers killed, an open warehouse transaction rolled back, and
    Prefect's temporary API stopped on the way out (at exit). Prefect puts its own SIGTERM
    handler in front during the flow and hands the signal on to this one."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    quiet = _QuietWhileInterrupted()
    try:
        yield quiet
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        quiet.detach()


class _QuietWhileInterrupted(logging.Filter):
    """Prefect logs the crash an interruption is to it ("Crash detected! …") at ERROR; the one
    line the CLI prints says it better. Its API still records the crash; only the console
    handlers drop what is logged while the signal's exception is being handled."""

    def __init__(self) -> None:
        super().__init__()
        self._handlers: list[logging.Handler] = []

    def attach(self) -> None:
        """On the console handlers Prefect set up on the root logger when it was imported."""
        self._handlers = [
            h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)
        ]
        for handler in self._handlers:
            handler.addFilter(self)

    def detach(self) -> None:
        for handler in self._handlers:
            handler.removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        from prefect.exceptions import TerminationSignal

        signalled = (Interrupted, KeyboardInterrupt, TerminationSignal)
        return not isinstance(sys.exc_info()[1], signalled)


def _start_temporary_api() -> None:
    """Start Prefect's temporary API, when no PREFECT_API_URL names one, from a thread that
    blocks SIGINT. The server process inherits that mask, so a Ctrl-C, which the terminal sends
    to the whole process group, interrupts the run but not the API the run still reports its
    end to (Prefect's client would retry a dead one for minutes). Prefect stops it at exit, by
    SIGTERM, as usual. Should the start fail here, Prefect starts it again and says why."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    from prefect.server.api.server import SubprocessASGIServer

    def start() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        with contextlib.suppress(Exception):
            SubprocessASGIServer().start()

    # The main thread waits with signals open: a Ctrl-C during the start ends the run at once.
    starter = threading.Thread(target=start, name="prefect-api-start", daemon=True)
    starter.start()
    starter.join()


class _progress:
    """A progress bar per stage while a run goes on in a terminal; nothing otherwise. Notes
    whether the run's batches were stored, for the message of an interrupted run."""

    stored = False
    batches = 0
    """Batches stored before the last one (a run in several batches)."""

    def __enter__(self) -> _progress:
        from tasks import progress

        self._bar: Any = None
        progress.set_reporter(self._report)
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
        return self

    def _report(self, stage: str, advance: int, total: int | None) -> None:
        if stage == "stored":
            self.stored = True
        if stage == "batch stored":
            self.batches += advance
        if self._bar is None or stage in ("stored", "batch stored"):
            return
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
    for rejected in report.rejected:
        out.print(
            f"[yellow]not stored, tried again next run:[/] {rejected.feed_name} {rejected.url}: "
            f"{rejected.reason}"
        )
    if report.pages_retried:
        from tasks.run.report import retried_line

        out.print(retried_line(report))
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
            f'\nnext: newsdesk search --db {args.db} "China"\n'
            f'      newsdesk sql --db {args.db} "FROM latest_articles"'
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

    # Without its notification block the automation waits for `newsdesk alerts`; serving goes on.
    _deploy_alerts(settings.alert_block)
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
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    write_rows(args.format, out, columns, rows, wide=args.wide, max_width=args.max_width)
    return EXIT_OK


def _search(args: argparse.Namespace, settings: Settings) -> int:
    import duckdb

    from storage import WarehouseError

    if args.limit < 1:
        err.print("[red]error:[/] --limit must be 1 or more")
        return EXIT_USAGE
    try:
        hits, state = settings.warehouse(args.db).search(
            args.query,
            since=args.since,
            language=args.lang,
            feed=args.feed,
            limit=args.limit,
            # About two lines of the snippet column in a table; a full one for programs.
            snippet_width=max(60, min(out.width, 200)) if args.format == "table" else 240,
        )
    except WarehouseError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    except duckdb.Error as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return EXIT_FAILED
    if not state.exists:
        err.print(
            "[yellow]warning:[/] this warehouse has no search index yet: the next "
            "`newsdesk ingest` builds it"
        )
    elif state.pending:
        err.print(
            f"[yellow]warning:[/] {state.pending} stored articles are not in the search index "
            "yet (an earlier run could not add them); the next run or maintenance adds them"
        )
    if args.format == "table":
        print_search_hits(hits, args.query, wide=args.wide, max_width=args.max_width)
        return EXIT_OK
    columns = ["rank", "published_at", "feed", "language", "title", "snippet", "url"]
    columns += ["article_id", "score", "text_partial"]
    rows = [
        (
            h.rank,
            h.published_at,
            h.feed_name,
            h.language,
            h.title,
            h.snippet,
            h.url,
            h.article_id,
            round(h.score, 4),
            h.text_partial,
        )
        for h in hits
    ]
    write_rows(args.format, out, columns, rows)
    return EXIT_OK


def print_search_hits(hits: Sequence[Any], query: str, *, wide: bool, max_width: int) -> None:
    """Rank, date, feed, headline and the snippet with the query's words in bold; the snippet
    takes the room left and may run to a second line, the rest stay on one."""
    from storage.search import query_words, snippet_spans

    words = query_words(query)
    narrow = out.width < 90 and not wide
    table = Table(title=f"search: {query}", title_justify="left", expand=not wide)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("date", no_wrap=True)
    if not narrow:
        table.add_column("feed", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column(
        "headline",
        no_wrap=True,
        overflow="ellipsis",
        ratio=2,
        max_width=None if wide else max_width,
    )
    table.add_column("snippet", ratio=3, min_width=24, overflow="fold")
    for h in hits:
        snippet = Text(h.snippet)
        for start, end in snippet_spans(h.snippet, words):
            snippet.stylize("bold", start, end)
        headline = Text(h.title or "")
        for start, end in snippet_spans(h.title or "", words):
            headline.stylize("bold", start, end)
        if h.text_partial:
            # The snippet is from a paywalled article's teaser: the rest was not served.
            headline = Text.assemble(("(teaser) ", "dim"), headline)
        date = f"{h.published_at:%Y-%m-%d}" if h.published_at else ""
        cells: list[Any] = [str(h.rank), date]
        if not narrow:
            cells.append(h.feed_name)
        table.add_row(*cells, headline, snippet)
    out.print(table)
    left_out = "; feed column left out (terminal too narrow: --wide)" if narrow else ""
    found = f"{len(hits)} article{'s' if len(hits) != 1 else ''}"
    out.print(Text(found + left_out, style="dim"))


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from newsdesk.settings import LEGACY_FILE
    from storage import WarehouseError
    from storage.lake import is_lake, migrate_into

    # The file to copy: --db, else NEWSDESK_DB when it names a file, else the old default's.
    source = Path(args.db or (LEGACY_FILE if is_lake(settings.db) else settings.db))
    if not is_lake(args.to):
        err.print(f"[red]error:[/] --to {args.to}: not a DuckLake URL (ducklake:sqlite:…)")
        return EXIT_USAGE
    try:
        copies = migrate_into(settings.warehouse(args.to), source)
    except WarehouseError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    rows = [
        (c.table, c.source_rows, c.lake_rows, "copied" if c.copied else "already there")
        for c in copies
    ]
    write_rows("table", out, ["table", "file rows", "lake rows", ""], rows)
    out.print(f"{source} is in {args.to}: every count matches. Set NEWSDESK_DB={args.to}")
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


def _shell(args: argparse.Namespace, settings: Settings) -> int:
    from newsdesk import shell
    from storage import WarehouseError

    location = str(args.db or settings.db)
    try:
        if args.snapshot:
            with shell.snapshot_copy(settings.warehouse(location)) as copy:
                return shell.run_shell(shell.build(str(copy)), args.duckdb_args)
        opened = shell.build(location, data_path=settings.lake_data_path)
    except (shell.ShellError, WarehouseError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return EXIT_FAILED
    if not opened.lake:
        err.print(
            f"[yellow]note:[/] while this session is open, runs cannot write {escape(location)} "
            "(their batches wait in the spool): for a long session use `newsdesk shell "
            "--snapshot` (a copy) or a lake (`newsdesk migrate`)"
        )
    shell.exec_shell(opened, args.duckdb_args)
    return EXIT_FAILED  # not reached: the CLI replaced this process


def _feeds(args: argparse.Namespace, settings: Settings) -> int:
    if args.feeds_action is not None:
        from newsdesk.feedcommands import run_feeds_action

        return run_feeds_action(args, settings, out, err)
    import duckdb

    from storage import WarehouseError

    try:
        warehouse = settings.warehouse(args.db)
        if args.changed:
            columns, rows = warehouse.status_changes(args.since)
            if not rows:
                return EXIT_OK  # nothing changed: nothing printed, nothing mailed
        else:
            columns, rows = warehouse.feed_health()
    except WarehouseError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    except duckdb.CatalogException:
        err.print(
            "[red]error:[/] this warehouse predates the feed_health view: run "
            "`newsdesk ingest` once to upgrade it"
        )
        return EXIT_FAILED
    write_rows(args.format, out, columns, rows, wide=args.wide, max_width=args.max_width)
    return EXIT_OK


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    from newsdesk import server

    _prefect_environment()
    if not os.environ.get("PREFECT_API_URL"):
        # The server runs report to: the background one when it runs, else the usual address.
        api = server.running_api(server.state_dir(settings.db))
        os.environ["PREFECT_API_URL"] = api or DEFAULT_API_URL
    deployed = _deploy_alerts(args.block or settings.alert_block, args.webhook)
    return EXIT_OK if deployed else EXIT_FAILED


def _deploy_alerts(block: str, webhook: str | None = None) -> bool:
    """Deploy the feed status automation (`deployments.alerts`); say what happened in one line."""
    import httpx
    from prefect.exceptions import PrefectException

    from deployments.alerts import AlertsError, deploy_alerts

    try:
        deployed = deploy_alerts(block, webhook)
    except AlertsError as exc:
        err.print(f"[yellow]alerts not deployed:[/] {exc}")
        return False
    except (httpx.HTTPError, PrefectException) as exc:
        api = os.environ.get("PREFECT_API_URL", DEFAULT_API_URL)
        err.print(f"[red]error:[/] alerts not deployed: the Prefect API at {api} said {exc}")
        return False
    verb = "created" if deployed.created else "updated"
    out.print(f"automation {deployed.automation_id} {verb}: feed status changes → {block}")
    return True


def _pending(args: argparse.Namespace, settings: Settings) -> int:
    from storage import WarehouseError

    try:
        columns, rows = settings.warehouse(args.db).pending_pages(given_up=args.given_up)
    except WarehouseError as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED
    write_rows(args.format, out, columns, rows, wide=args.wide, max_width=args.max_width)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
