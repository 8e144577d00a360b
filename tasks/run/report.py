"""A run's report: what it did per feed and in all, and the shapes people read it in (a
per-feed table and a short markdown summary)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from tasks.models import (
    FeedReport,
    FeedSpec,
    FeedState,
    FetchedFeed,
    ParsedFeed,
    RunReport,
    StatusChange,
)
from tasks.run.settle import RunTally, Settlement


def resting_report(name: str, state: FeedState | None) -> FeedReport:
    """The line of a feed not polled because it rests after failures."""
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


def run_report(
    *,
    settlement: Settlement,
    tally: RunTally,
    fetched: Sequence[FetchedFeed],
    parsed: Mapping[str, ParsedFeed],
    capped: frozenset[str],
    resting: Sequence[FeedSpec],
    states: Mapping[str, FeedState],
    db: str,
    dry_run: bool,
    merged: Sequence[str] = (),
    changes: Sequence[StatusChange] = (),
) -> RunReport:
    """The report of a run whose last batch is `settlement` and whose batches, that one
    included, add up to `tally`: resting feeds first, then one line per feed polled. `merged`
    are the earlier runs whose spooled batches were written before this one."""
    batch = settlement.batch
    rows = [resting_report(spec.name, states.get(spec.name)) for spec in resting]
    for f, state in zip(fetched, batch.feed_states, strict=True):
        name = f.feed.name
        rows.append(
            FeedReport(
                name=name,
                status=state.last_status or f.outcome,
                http_status=f.http_status,
                entries=len(parsed[name].entries) if name in parsed else 0,
                new_articles=tally.new_by_feed[name],
                fallback_articles=tally.fallback[name],
                failed_articles=tally.unusable[name],
                seconds=f.seconds,
                error=state.last_error,
                capped=name in capped,
            )
        )
    return RunReport(
        run_id=batch.run.run_id,
        db=db,
        started_at=batch.run.started_at,
        finished_at=datetime.now(UTC),
        feeds=tuple(rows),
        articles_new=tally.articles_new,
        articles_fallback=batch.run.articles_fallback,
        articles_failed=tally.unusable.total(),
        entries_seen=batch.run.entries_seen,
        dry_run=dry_run,
        articles_updated=tally.articles_updated,
        spooled_to=str(tally.spooled_to) if tally.spooled_to else None,
        lock_error=tally.lock_error,
        merged_runs=tuple(merged),
        pages_retried=batch.run.pages_retried,
        articles_healed=tally.articles_healed,
        retries_given_up=tally.retries_given_up,
        rejected=tally.rejected,
        changes=tuple(changes),
    )


def feed_table(report: RunReport) -> list[dict[str, object]]:
    """One row per feed: status, HTTP code, entries, new articles, failures, duration, error."""
    return [
        {
            "feed": f.name,
            "status": f.status,
            "http": f.http_status,
            "entries": f.entries,
            "new articles": f.new_articles,
            "from feed text": f.fallback_articles,
            "failed articles": f.failed_articles,
            "capped": f.capped,
            "seconds": round(f.seconds, 2),
            "error": f.error or "",
        }
        for f in report.feeds
    ]


def summary_markdown(report: RunReport, slowest: int = 5) -> str:
    """Totals, the slowest feeds, the failing feeds, and where the warehouse is."""
    verb = "would store" if report.dry_run else "stored"
    lines = [
        f"# Ingest run{' (dry run: nothing written)' if report.dry_run else ''}",
        "",
        f"- **{report.articles_new}** new articles {verb} "
        f"({report.articles_fallback} from feed text, {report.articles_failed} without text)",
        f"- {len(report.feeds)} feeds polled, {report.feeds_failed} failed; "
        f"{report.entries_seen} entries read",
        *([f"- {retried_line(report)}"] if report.pages_retried else []),
        f"- duration: {report.seconds:.1f} s",
        f"- warehouse: `{report.db}`",
    ]
    ranked = sorted(report.feeds, key=lambda f: f.seconds, reverse=True)[:slowest]
    if ranked:
        lines += ["", "## Slowest feeds", "", "| feed | seconds | status |", "|---|---:|---|"]
        lines += [f"| {f.name} | {f.seconds:.2f} | {f.status} |" for f in ranked]
    failing = [f for f in report.feeds if f.status == "failed"]
    lines += ["", "## Failing feeds", ""]
    if failing:
        lines += ["| feed | http | error |", "|---|---:|---|"]
        lines += [f"| {f.name} | {f.http_status or ''} | {_cell(f.error or '')} |" for f in failing]
    else:
        lines.append("None.")
    lines += ["", "## Feeds that changed status", ""]
    if report.changes:
        lines += ["| feed | was | now | since | reason | alerted |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {c.feed} | {c.previous or ''} | {c.current.status} "
            f"| {c.current.since:%Y-%m-%d %H:%M} UTC | {_cell(c.current.reason)} "
            f"| {'yes' if c.alerted else 'no (cool-down)'} |"
            for c in report.changes
        ]
    else:
        lines.append("None.")
    if report.rejected:
        lines += ["", "## Articles not stored (their feed's next run tries them again)", ""]
        lines += ["| feed | url | reason |", "|---|---|---|"]
        lines += [
            f"| {r.feed_name} | {_cell(r.url)} | {_cell(r.reason)} |" for r in report.rejected
        ]
    return "\n".join(lines) + "\n"


def retried_line(report: RunReport) -> str:
    """What the retry queue did in this run."""
    return (
        f"{report.pages_retried} failed pages fetched again: {report.articles_healed} healed, "
        f"{report.retries_given_up} given up (`newsdesk pending` lists those still waiting)"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
