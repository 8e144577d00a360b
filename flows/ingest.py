"""The `ingest` flow: feeds → new articles → one atomic batch in the warehouse."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar, cast

from prefect import flow, get_run_logger, runtime
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.utilities.annotations import quote

from flows.steps import cluster_stories, download_and_extract, parse_feeds, poll_feeds
from newsdesk.settings import Settings
from storage.warehouse import (
    BatchResult,
    RunRecord,
    Sighting,
    WriteOutcome,
    append_batch_task,
    find_known_task,
    load_feed_states_task,
    load_recent_sketches_task,
    prepare_warehouse_task,
)
from tasks import progress
from tasks.feeds.feedlist import load_feeds, select_feeds
from tasks.models import FeedReport, FeedState, RunReport
from tasks.run.feedstate import Backoff, due_feeds, next_feed_state
from tasks.run.plan import plan_downloads
from tasks.run.report import feed_table, summary_markdown

T = TypeVar("T")


def _large(value: T) -> T:
    """A large task input, passed as is: Prefect would otherwise walk every entry, page and
    article in it looking for futures to track (~2 s of the main process for 2,000 articles).
    Typed as the value itself, which the task receives unwrapped."""
    return cast(T, quote(value))


def _run_name() -> str:
    params = runtime.flow_run.parameters or {}
    chosen = [*(params.get("feeds") or []), *(f"#{t}" for t in params.get("tags") or [])]
    scope = ",".join(chosen) if chosen else "all-feeds"
    if len(scope) > 40:
        scope = scope[:39] + "…"
    return f"ingest {datetime.now(UTC):%Y-%m-%d %H:%M} {scope}"


def _resting(name: str, state: FeedState | None) -> FeedReport:
    until = f"{state.next_poll_at:%Y-%m-%d %H:%M} UTC" if state and state.next_poll_at else "?"
    failures = state.consecutive_failures if state else 0
    return FeedReport(
        name=name,
        status="backoff",
        http_status=None,
        entries=0,
        new_articles=0,
        fallback_articles=0,
        failed_articles=0,
        seconds=0.0,
        error=f"not polled: {failures} failures in a row, next poll after {until}",
    )


@flow(name="ingest", flow_run_name=_run_name, log_prints=False)
def ingest(
    # Plain lists (not Optional) so the UI's Custom run shows a simple list input; the flow
    # never mutates them.
    feeds: list[str] = [],  # noqa: B006
    tags: list[str] = [],  # noqa: B006
    max_articles_per_feed: int | None = None,
    dry_run: bool = False,
    feeds_file: str | None = None,
    db: str | None = None,
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
        db: Warehouse file; empty uses NEWSDESK_DB (default data/news.duckdb).
    """
    logger = get_run_logger()
    settings = Settings()
    db_path = Path(db) if db else settings.db
    cap = settings.max_articles_per_feed if max_articles_per_feed is None else max_articles_per_feed
    started = datetime.now(UTC)
    run_id = str(runtime.flow_run.id or f"local-{started:%Y%m%dT%H%M%S%f}")

    specs = select_feeds(
        load_feeds(Path(feeds_file) if feeds_file else settings.feeds), feeds or (), tags or ()
    )
    # Batches spooled by earlier runs are merged first (a dry run leaves them for a real run).
    merged = prepare_warehouse_task(db_path, settings.lock_wait, merge=not dry_run)
    states = load_feed_states_task(db_path, settings.lock_wait)
    # Read with the other state, before any download: later the warehouse may be locked by
    # someone else, and then the batch goes to the spool rather than waiting on a read.
    recent = load_recent_sketches_task(
        db_path, started - timedelta(days=settings.story_window_days), settings.lock_wait
    )
    # A feed that keeps failing rests (backoff) but is never dropped; one named explicitly
    # is polled anyway, so an operator can check a fix at once.
    due, resting = due_feeds(specs, states, started)
    due += [s for s in resting if s.name in (feeds or ())]
    resting = [s for s in resting if s.name not in (feeds or ())]

    fetched = poll_feeds(_large(due), _large(states), settings)
    parsed = {p.feed_name: p for p in parse_feeds(_large(fetched))}
    entries = [e for p in parsed.values() if p.usable for e in p.entries]

    known = find_known_task(
        db_path,
        _large([(e.feed_name, e.url) for e in entries]),
        _large([(e.feed_name, e.guid) for e in entries if e.guid]),
        settings.lock_wait,
    )
    plan = plan_downloads(
        [p for p in parsed.values() if p.usable],
        known.article_ids,
        known.sightings,
        cap,
        fingerprints=known.fingerprints,
        known_guids=known.guids,
    )
    revisit_ids = {e.url: article_id for e, article_id in plan.revisit}
    to_fetch = [*plan.download, *(e for e, _ in plan.revisit)]
    # A page fetched again keeps its article's key even if it now names another canonical URL.
    articles = [
        replace(a, article_id=revisit_ids[e.url]) if e.url in revisit_ids else a
        for e, a in zip(to_fetch, download_and_extract(_large(to_fetch), settings), strict=True)
    ]
    by_url = dict(zip((e.url for e in to_fetch), articles, strict=True))

    # An article needs text or at least a title to be worth a row. One with neither is not
    # stored and not recorded as seen, so it is tried again the next time its feed changes.
    stored = [a for a in articles if a.text or a.title]
    stored_ids = {a.article_id for a in stored}
    # Syndicated copies and near-duplicates of recent articles share their story_id.
    stored, sketches = cluster_stories(_large(stored), _large(recent), settings.story_threshold)
    sightings = [Sighting.of(e, by_url[e.url].article_id) for e in (*plan.download, *plan.riders)]
    sightings = [s for s in sightings if s.article_id in stored_ids]
    sightings += [Sighting.of(e, article_id) for e, article_id in plan.resighted]
    sightings += [Sighting.of(e, article_id) for e, article_id in plan.refingerprint]
    # An edited entry's new fingerprint is recorded once its page was read again; after a
    # failed fetch the old one stays, and the next change of the feed body tries again.
    sightings += [
        Sighting.of(e, article_id)
        for e, article_id in plan.revisit
        if by_url[e.url].extraction == "page"
    ]
    fresh = [by_url[e.url] for e in plan.download]
    unusable = Counter(a.feed_name for a in fresh if a.article_id not in stored_ids)

    finished = datetime.now(UTC)
    backoff = Backoff(settings.backoff_base, settings.backoff_max)
    feed_states = [
        next_feed_state(
            states.get(f.feed.name),
            f,
            parsed.get(f.feed.name),
            finished,
            complete=f.feed.name not in plan.capped,
            backoff=backoff,
        )
        for f in fetched
    ]

    report_rows = [_resting(spec.name, states.get(spec.name)) for spec in resting]
    fallback = Counter(
        a.feed_name for a in fresh if a.article_id in stored_ids and a.extraction == "feed"
    )
    run = RunRecord(
        run_id=run_id,
        started_at=started,
        finished_at=finished,
        feeds_total=len(fetched),
        feeds_ok=sum(s.last_status == "ok" for s in feed_states),
        feeds_unchanged=sum(s.last_status in ("not_modified", "unchanged") for s in feed_states),
        feeds_failed=sum(s.last_status == "failed" for s in feed_states),
        entries_seen=len(entries),
        articles_new=0,  # filled in by the write from what it actually inserted
        articles_fallback=sum(fallback.values()),
        articles_failed=sum(unusable.values()),
        duration_seconds=(finished - started).total_seconds(),
        feeds_backoff=len(resting),
    )
    if dry_run:
        written = WriteOutcome(BatchResult({a.article_id for a in stored}, set()))
        logger.info("dry run: nothing written to %s", db_path)
    else:
        written = append_batch_task(
            db_path,
            _large(stored),
            _large(sightings),
            _large(feed_states),
            run,
            _large(sketches),
            settings.lock_wait,
        )
        progress.report("stored")  # written or spooled: an interruption from here loses nothing
    new_ids = written.result.new_ids
    new_by_feed = Counter(a.feed_name for a in stored if a.article_id in new_ids)
    merged = (*merged, *written.merged)

    for f, state in zip(fetched, feed_states, strict=True):
        name = f.feed.name
        row = FeedReport(
            name=name,
            status=state.last_status or f.outcome,
            http_status=f.http_status,
            entries=len(parsed[name].entries) if name in parsed else 0,
            new_articles=new_by_feed[name],
            fallback_articles=fallback[name],
            failed_articles=unusable[name],
            seconds=f.seconds,
            error=state.last_error,
            capped=name in plan.capped,
        )
        report_rows.append(row)
        if row.status == "failed":
            logger.warning("feed %s failed: %s", name, row.error)
        else:
            logger.info(
                "feed %s: %s, %d entries, %d new articles%s",
                name,
                row.status,
                row.entries,
                row.new_articles,
                " (capped)" if row.capped else "",
            )

    for row in report_rows[: len(resting)]:
        logger.info("feed %s: %s", row.name, row.error)
    for earlier in merged:
        logger.info(
            "merged the spooled batch of run %s: %d new articles",
            earlier.run_id,
            earlier.articles_new,
        )
    if written.spooled_to is not None:
        logger.warning(
            "warehouse locked (%s): batch kept in %s for the next run",
            written.lock_error,
            written.spooled_to,
        )

    report = RunReport(
        run_id=run_id,
        db=str(db_path),
        started_at=started,
        finished_at=datetime.now(UTC),
        feeds=tuple(report_rows),
        articles_new=len(new_ids),
        articles_fallback=sum(fallback.values()),
        articles_failed=sum(unusable.values()),
        entries_seen=len(entries),
        dry_run=dry_run,
        articles_updated=len(written.result.updated_ids),
        spooled_to=str(written.spooled_to) if written.spooled_to else None,
        lock_error=written.lock_error,
        merged_runs=tuple(r.run_id for r in merged),
    )
    publish_artifacts(report)
    logger.info(
        "run done: %d feeds (%d failed), %d entries, %d new articles in %.1f s",
        len(report.feeds),
        report.feeds_failed,
        report.entries_seen,
        report.articles_new,
        report.seconds,
    )
    return report


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
        description="Totals, slowest and failing feeds, and where the warehouse is.",
    )
