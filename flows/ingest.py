"""The `ingest` flow: feeds → new articles → atomic batches in the warehouse.

The flow reads as its steps; each is one call into a stage (`flows.steps` wraps them as Prefect
tasks) or a pure decision of `tasks.run`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from logging import Logger, LoggerAdapter
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, runtime
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows import steps
from flows.alerts import announce
from flows.batches import large, write_in_batches
from newsdesk.settings import Settings
from storage import Warehouse, WarehouseError
from tasks.feeds.feedlist import load_feeds, select_feeds
from tasks.models import RunReport, StatusChange
from tasks.run.feedstate import feeds_to_poll
from tasks.run.plan import plan_for
from tasks.run.report import feed_table, run_report, summary_markdown
from tasks.run.retries import due_retries
from tasks.run.settle import RunTally, Settlement
from tasks.run.shards import in_shard

_large = large


def _run_name() -> str:
    params = runtime.flow_run.parameters or {}
    chosen = [*(params.get("feeds") or []), *(f"#{t}" for t in params.get("tags") or [])]
    scope = ",".join(chosen) if chosen else "all-feeds"
    if len(scope) > 40:
        scope = scope[:39] + "…"
    if (params.get("shards") or 1) > 1:
        scope += f" shard {params.get('shard', 1)}/{params['shards']}"
    return f"ingest {datetime.now(UTC):%Y-%m-%d %H:%M} {scope}"


# `feeds` and `tags` are plain lists (not Optional) so the UI's Custom run shows a simple list
# input; the flow never mutates them.
@flow(name="ingest", flow_run_name=_run_name, log_prints=False)
def ingest(
    feeds: list[str] = [],  # noqa: B006
    tags: list[str] = [],  # noqa: B006
    max_articles_per_feed: int | None = None,
    dry_run: bool = False,
    feeds_file: str | None = None,
    db: str | None = None,
    shard: int = 1,
    shards: int = 1,
    due_only: bool = False,
) -> RunReport:
    """Poll feeds, download and extract new articles, and append them to the warehouse.

    Args:
        feeds: Names of feeds to poll (from the feeds file); empty means every feed.
        tags: Poll feeds carrying any of these tags, in addition to `feeds`.
        max_articles_per_feed: New articles taken from one feed in this run; the rest wait for
            the next run. Empty uses NEWSDESK_MAX_ARTICLES_PER_FEED (default 100); 0 means no limit.
        dry_run: Fetch, parse and extract as usual but write nothing to the warehouse; the
            summary shows what would have been stored.
        feeds_file: Feeds file (TOML); empty uses NEWSDESK_FEEDS (default feeds.toml).
        db: The warehouse, a lake URL or a DuckDB file; empty uses NEWSDESK_DB (default
            the lake ducklake:sqlite:data/lake/catalog.sqlite).
        shard: The shard of the feeds this run polls, 1 to `shards` (by a hash of feed names).
        shards: Into how many shards the feeds are split; 1 polls them all in one run.
        due_only: Poll only feeds whose next poll (`newsdesk feeds`) has come; named ones anyway.
    """
    logger = get_run_logger()
    settings = Settings()
    warehouse = settings.warehouse(db)
    if not db and (notice := settings.legacy_notice()):
        logger.warning(notice)
    cap = settings.max_articles_per_feed if max_articles_per_feed is None else max_articles_per_feed
    started = datetime.now(UTC)
    run_id = str(runtime.flow_run.id or f"local-{started:%Y%m%dT%H%M%S%f}")
    specs = in_shard(
        select_feeds(load_feeds(Path(feeds_file or settings.feeds)), feeds, tags), shard, shards
    )

    # State, read before any download: later the warehouse may be locked by someone else, and
    # then the batch goes to the spool rather than waiting on a read. Batches spooled by
    # earlier runs are merged first (a dry run leaves them for a real run).
    merged = steps.prepare_warehouse(warehouse, merge=not dry_run)
    window = started - timedelta(days=settings.story_window_days)
    stored_state = steps.load_state(warehouse, window, started)
    states = stored_state.feeds
    due, resting = feeds_to_poll(specs, states, started, set(feeds), due_only)

    fetch_config = settings.fetch_config()
    fetched = steps.poll_feeds(_large(due), _large(states), fetch_config)
    parsed = {p.feed_name: p for p in steps.parse_feeds(_large(fetched), settings.pool_config())}
    usable = [p for p in parsed.values() if p.usable]
    known = steps.find_known(warehouse, _large([e for p in usable for e in p.entries]))
    retries = due_retries(stored_state.waiting, started, specs, settings.retry_per_run)
    plan = plan_for(usable, known, cap, retries)
    # Pages are extracted and written NEWSDESK_BATCH_SIZE at a time; syndicated copies and
    # near-duplicates of recent articles share their story_id.
    settled, tally = write_in_batches(
        plan=plan,
        fetched=fetched,
        parsed=parsed,
        states=states,
        recent=stored_state.recent,
        warehouse=warehouse,
        settings=settings,
        run_id=run_id,
        started=started,
        resting=len(resting),
        dry_run=dry_run,
        logger=logger,
    )
    merged = (*merged, *tally.merged)
    changes = _judge_feeds(warehouse, settled, tally, settings, dry_run, logger)
    report = run_report(
        settlement=settled,
        tally=tally,
        fetched=fetched,
        parsed=parsed,
        capped=plan.capped,
        resting=resting,
        states=states,
        db=str(warehouse),
        dry_run=dry_run,
        merged=[r.run_id for r in merged],
        changes=changes,
    )
    _log_run(logger, report, tally, [(r.run_id, r.articles_new) for r in merged])
    publish_artifacts(report)
    announce(report.changes, run_id, settings.health_policy())
    return report


def _judge_feeds(
    warehouse: Warehouse,
    settled: Settlement,
    tally: RunTally,
    settings: Settings,
    dry_run: bool,
    logger: Logger | LoggerAdapter[Any],
) -> list[StatusChange]:
    """Judge the feeds the run polled (`steps.judge_feeds`), once their entries are stored: not
    in a dry run, nor when the batch waits in the spool (the next run judges them)."""
    batch = settled.batch
    if dry_run or tally.spooled_to is not None or not batch.feed_states:
        return []
    try:
        return steps.judge_feeds(
            warehouse,
            large(batch.feed_states),
            batch.run.finished_at,
            batch.run.run_id,
            settings.health_policy(),
        )
    except WarehouseError as exc:
        logger.warning("feeds not judged this time (the next run does): %s", exc)
        return []


def _log_run(
    logger: Logger | LoggerAdapter[Any],
    report: RunReport,
    written: RunTally,
    merged: list[tuple[str, int]],
) -> None:
    """One line per feed, per merged spool batch and for the run, in the run's log."""
    for row in report.feeds:
        if row.status == "failed":
            logger.warning("feed %s failed: %s", row.name, row.error)
        elif row.status == "backoff":
            logger.info("feed %s: %s", row.name, row.error)
        else:
            logger.info(
                "feed %s: %s, %d entries, %d new articles%s",
                row.name,
                row.status,
                row.entries,
                row.new_articles,
                " (capped)" if row.capped else "",
            )
    for run_id, articles_new in merged:
        logger.info("merged the spooled batch of run %s: %d new articles", run_id, articles_new)
    for rejected in written.rejected:
        logger.warning(
            "article of feed %s not stored (tried again next run): %s: %s",
            rejected.feed_name,
            rejected.url,
            rejected.reason,
        )
    if written.index_error is not None:
        logger.warning("search index not updated (the next run retries): %s", written.index_error)
    if written.spooled_to is not None:
        logger.warning(
            "warehouse locked (%s): batch kept in %s for the next run",
            written.lock_error,
            written.spooled_to,
        )
    logger.info(
        "run done: %d feeds (%d failed), %d entries, %d new articles in %.1f s",
        len(report.feeds),
        report.feeds_failed,
        report.entries_seen,
        report.articles_new,
        report.seconds,
    )


def publish_artifacts(report: RunReport) -> None:
    """The per-feed table and the summary the Prefect UI shows on the run page."""
    create_table_artifact(
        key="ingest-feeds",
        table=feed_table(report),
        description="One row per feed polled by this run.",
    )
    create_markdown_artifact(
        key="ingest-summary",
        markdown=summary_markdown(report),
        description="Totals, slowest and failing feeds, feeds that changed status, and where "
        "the warehouse is.",
    )
