"""Is a feed still itself? Each feed judged against its own normal, and the alerts that follow.

A feed's normal comes from its own history (`FeedHistory`, read from the warehouse after each
run): its entries per UTC day over the last `weeks` (8) weeks, and the longest gap between two of
them. The first of these statuses that applies is the feed's:

- `failing`: its last `failing_polls` (2) polls failed. One failed poll is often a blip (a
  timeout, a deploy); the feed rests and is polled again (`tasks.run.feedstate`).
- `silent`: nothing new for longer than the longest of: `silent_intervals` (3) of its own
  publishing intervals (the time its history covers up to its last entry, divided by the
  entries in it: `feedstate.publishing_interval`'s reckoning over weeks instead of one body),
  `gap_factor` (1.5) times the longest gap it had in those weeks, and two days. The gap term is
  what keeps weekends, holidays and a twice-a-week rhythm quiet: a feed that often pauses three
  days is silent after four and a half. Needs two weeks of history and four entries.
- `low`: its last 7 complete days brought far fewer entries than its usual 7 days. Media Cloud
  flags a source more than two standard deviations below its usual weekly volume; counted
  over whole weeks, which hold each weekday once, a weekly rhythm (quiet weekends, a
  twice-a-week feed) cancels out. Two guards make the rule robust: the usual and its spread
  are the median and the MAD (×1.4826) of its earlier weeks, so a holiday week among them
  moves neither, with Poisson's √usual as the least spread (small counts vary a lot); and the
  week must also have fallen to `low_share` (a quarter) of the usual or below: a holiday week
  at half volume is a dip, a tenth is a collapse. Needs `min_weeks` (3) earlier weeks. A feed
  that usually brings four entries a week or fewer is never `low` (the spread floor): the
  silent rule watches it.
- `junk`: at least `junk_share` (half) of its latest pages (at least `junk_min_pages` (5) of
  the articles of its last 20 entries of the last 14 days) were served in place of the article:
  a bot challenge, a consent or sign-in wall, an app shell, an error page (`tasks.page.junk`).
  Pages that healed on a later fetch no longer count.
- `ok`.

Alerts: a run records a feed's status when it changes, and alerts when the status differs
from the one last alerted (a feed never alerted counts as `ok`: a new feed that works is no
news). Within `cool_down` (6 h) of a feed's last alert no other alert goes out for it: a feed
that flaps between `failing` and `ok` is announced once, and once the cool-down is over its
status then, if it differs from the one announced, is. A run that alerts about more than
`digest_over` (5) feeds sends one digest instead: a network outage is one alert, not 18,000.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tasks.models import (
    NOT_THE_ARTICLE,
    FeedHistory,
    FeedState,
    FeedStatus,
    Health,
    StatusChange,
)

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
JUNK_WINDOW = timedelta(days=14)
"""The latest pages of a feed are its last `JUNK_PAGES` entries seen in this window."""
JUNK_PAGES = 20
MAD_TO_SIGMA = 1.4826
"""The MAD of normally spread values times this estimates their standard deviation."""
DIGEST_FEEDS = 50
"""Feeds a digest event names one by one (its counts cover them all); Prefect takes at most
100 related resources per event, and the run adds its own."""


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """The thresholds of the rule in the module docstring."""

    weeks: int = 8
    min_weeks: int = 3
    sigmas: float = 2.0
    low_share: float = 0.25
    silent_intervals: float = 3.0
    gap_factor: float = 1.5
    min_silence: timedelta = timedelta(days=2)
    min_history: timedelta = timedelta(days=14)
    min_entries: int = 4
    failing_polls: int = 2
    junk_share: float = 0.5
    junk_min_pages: int = 5
    cool_down: timedelta = timedelta(hours=6)
    digest_over: int = 5


@dataclass(frozen=True, slots=True)
class Assessment:
    """A feed's status now, why, and the volumes behind it."""

    status: Health
    reason: str
    since: datetime | None = None
    """When the status began, when the history tells (a first failure, a last entry)."""
    expected: float | None = None
    seen: int | None = None


def history_since(now: datetime, policy: HealthPolicy) -> datetime:
    """Where the history a judgement at `now` reads starts: the recent week and `weeks`
    whole weeks before it, in UTC days."""
    return _midnight(_today(now) - WEEK * (policy.weeks + 1))


def history_of(
    name: str,
    instants: Iterable[datetime],
    now: datetime,
    policy: HealthPolicy,
    *,
    pages: int = 0,
    not_articles: Iterable[tuple[str, int]] = (),
) -> FeedHistory:
    """The history of a feed whose entries have these instants, as `storage.reads` reads it
    from the warehouse in SQL (`tests/storage/test_feed_status.py` holds the two together):
    for tests and scripts that simulate a feed."""
    times = sorted(instants)
    if not times:
        return FeedHistory(name, pages=pages, not_articles=tuple(not_articles))
    window = [t for t in times if t >= history_since(now, policy)]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(window)]
    return FeedHistory(
        name,
        days=tuple(sorted(Counter(_today(t) for t in window).items())),
        first_at=times[0],
        last_at=times[-1],
        longest_gap=max(gaps) if gaps else None,
        pages=pages,
        not_articles=tuple(not_articles),
    )


def assess(
    history: FeedHistory, state: FeedState | None, now: datetime, policy: HealthPolicy
) -> Assessment:
    """The feed's status at `now` by the rule in the module docstring."""
    expected, seen = weekly_volume(history, now, policy)
    if (
        state is not None
        and state.last_status == "failed"
        and state.consecutive_failures >= policy.failing_polls
    ):
        since = state.failing_since or now
        reason = (
            f"{state.consecutive_failures} polls failed in a row since {_when(since)}: "
            f"{state.last_error or 'unknown error'}"
        )
        return Assessment("failing", reason, since, expected, seen)
    silent = _silence(history, now, policy)
    if silent is not None:
        return Assessment("silent", silent, history.last_at, expected, seen)
    if expected is not None and seen is not None:
        spread = max(MAD_TO_SIGMA * _mad(history, now, policy, expected), math.sqrt(expected))
        if seen < expected - policy.sigmas * spread and seen <= policy.low_share * expected:
            reason = (
                f"{seen} entries in the last 7 days, against a usual {expected:g} "
                f"(±{spread:.1f}) a week"
            )
            return Assessment("low", reason, now, expected, seen)
    junk = sum(count for _, count in history.not_articles)
    if history.pages >= policy.junk_min_pages and junk >= policy.junk_share * history.pages:
        kinds = Counter[str]()
        for error, count in history.not_articles:
            kinds[_junk_kind(error)] += count
        listed = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
        reason = f"{junk} of its {history.pages} latest pages were not the article: {listed}"
        return Assessment("junk", reason, now, expected, seen)
    return Assessment("ok", "as usual" if expected is not None else "", None, expected, seen)


def weekly_volume(
    history: FeedHistory, now: datetime, policy: HealthPolicy
) -> tuple[float | None, int | None]:
    """(usual entries in 7 days: the median of the earlier weeks, entries in the last 7
    complete days); the usual is None before `min_weeks` earlier weeks."""
    weeks = _weeks(history, now, policy)
    if weeks is None:
        return None, None
    recent, earlier = weeks
    if len(earlier) < policy.min_weeks:
        return None, recent
    return float(statistics.median(earlier)), recent


def _weeks(
    history: FeedHistory, now: datetime, policy: HealthPolicy
) -> tuple[int, list[int]] | None:
    """Entries in the last 7 complete days, and in each whole earlier week of its history."""
    start = _history_start(history)
    if start is None:
        return None
    today = _today(now)
    counts = dict(history.days)

    def week(ends: date) -> int:
        return sum(counts.get(ends - timedelta(days=d), 0) for d in range(1, 8))

    earlier = [
        week(today - WEEK * k)
        for k in range(1, policy.weeks + 1)
        if today - WEEK * (k + 1) >= start
    ]
    return week(today), earlier


def _mad(history: FeedHistory, now: datetime, policy: HealthPolicy, median: float) -> float:
    weeks = _weeks(history, now, policy)
    assert weeks is not None
    return float(statistics.median(abs(w - median) for w in weeks[1]))


def _silence(history: FeedHistory, now: datetime, policy: HealthPolicy) -> str | None:
    """Why the feed counts as silent at `now`, or None."""
    start = _history_start(history)
    if start is None or history.last_at is None:
        return None
    covered_from = max(_midnight(start), history_since(now, policy))
    entries = sum(count for day, count in history.days if day >= start)
    quiet = now - history.last_at
    if entries == 0:
        # Nothing in the whole window: silent for longer than any rule of it can tell.
        if history.last_at < covered_from and now - _midnight(start) >= policy.min_history:
            return f"nothing new for {_span(quiet)}"
        return None
    if now - _midnight(start) < policy.min_history or entries < policy.min_entries:
        return None
    interval = max((history.last_at - covered_from).total_seconds(), 1.0) / entries
    gap = history.longest_gap or 0.0
    allowed = max(
        timedelta(seconds=policy.silent_intervals * interval),
        timedelta(seconds=policy.gap_factor * gap),
        policy.min_silence,
    )
    if quiet <= allowed:
        return None
    return (
        f"nothing new for {_span(quiet)}; it publishes about every "
        f"{_span(timedelta(seconds=interval))} and paused at most {_span(timedelta(seconds=gap))}"
    )


def _history_start(history: FeedHistory) -> date | None:
    """The first whole UTC day of the feed's history: the day after its first entry."""
    if history.first_at is None:
        return None
    return _today(history.first_at) + DAY


def next_status(
    name: str,
    previous: FeedStatus | None,
    found: Assessment,
    now: datetime,
    run_id: str,
    policy: HealthPolicy,
) -> tuple[FeedStatus | None, StatusChange | None]:
    """The `feed_status` row to record for the feed `name` judged `found` now (None when
    neither its status nor its alert moved), and the change to report (None when there is no
    news: the status held and no alert is due, or a new feed works)."""
    changed = previous is None or previous.status != found.status
    alerted_status = previous.alerted_status if previous else None
    alerted_at = previous.alerted_at if previous else None
    cooling = alerted_at is not None and now - alerted_at < policy.cool_down
    alert = found.status != (alerted_status or "ok") and not cooling
    if not changed and not alert:
        return None, None
    row = FeedStatus(
        feed_name=name,
        status=found.status,
        reason=found.reason if changed or previous is None else previous.reason,
        since=(found.since or now) if changed or previous is None else previous.since,
        expected=found.expected,
        seen=found.seen,
        alerted_status=found.status if alert else alerted_status,
        alerted_at=now if alert else alerted_at,
        assessed_at=now,
        run_id=run_id,
    )
    if previous is None:
        return row, StatusChange(None, row, alerted=True) if alert else None
    if not changed:
        # The status held through a cool-down; now that it is over, it is announced.
        return row, StatusChange(alerted_status, row, alerted=True)
    return row, StatusChange(previous.status, row, alerted=alert)


def judge_feeds(
    histories: Mapping[str, FeedHistory],
    states: Mapping[str, FeedState],
    statuses: Mapping[str, FeedStatus],
    names: Iterable[str],
    now: datetime,
    run_id: str,
    policy: HealthPolicy,
) -> tuple[list[FeedStatus], list[StatusChange]]:
    """The `feed_status` rows to record for the feeds `names` and the changes to report."""
    rows: list[FeedStatus] = []
    changes: list[StatusChange] = []
    for name in sorted(set(names)):
        found = assess(histories.get(name) or FeedHistory(name), states.get(name), now, policy)
        row, change = next_status(name, statuses.get(name), found, now, run_id, policy)
        rows += [row] if row is not None else []
        changes += [change] if change is not None else []
    return rows, changes


@dataclass(frozen=True, slots=True)
class Announcement:
    """A Prefect event to emit (`prefect.events.emit_event`'s arguments)."""

    event: str
    resource: dict[str, str]
    payload: dict[str, Any]
    related: list[dict[str, str]]


FEED_EVENT = "newsdesk.feed.status-changed"
DIGEST_EVENT = "newsdesk.feeds.status-changed"


def announcements(
    changes: Sequence[StatusChange], run_id: str, policy: HealthPolicy
) -> list[Announcement]:
    """One event per alerted change, or one digest when more than `digest_over` feeds."""
    alerted = [c for c in changes if c.alerted]
    if len(alerted) > policy.digest_over:
        return [_digest(alerted, run_id)]
    return [_feed_event(c, run_id) for c in alerted]


def _feed_event(change: StatusChange, run_id: str) -> Announcement:
    row = change.current
    subject = f"feed {row.feed_name} is {row.status}"
    if row.status == "ok":
        subject = f"feed {row.feed_name} is ok again"
    return Announcement(
        event=FEED_EVENT,
        resource={
            "prefect.resource.id": f"newsdesk.feed.{row.feed_name}",
            "prefect.resource.name": row.feed_name,
            "newsdesk.feed.status": row.status,
        },
        payload={
            "feed": row.feed_name,
            "status": row.status,
            "previous": change.previous,
            "reason": row.reason,
            "since": row.since.isoformat(),
            "expected": row.expected,
            "seen": row.seen,
            "run_id": run_id,
            "subject": subject,
            "message": f"{subject}" + (f": {row.reason}" if row.reason else ""),
        },
        related=[],
    )


def _digest(changes: Sequence[StatusChange], run_id: str) -> Announcement:
    counts = Counter(c.current.status for c in changes)
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    subject = f"{len(changes)} feeds changed status: {tally}"
    shown = changes[:10]
    lines = [f"- {c.feed}: {c.current.status}: {c.current.reason}" for c in shown]
    if len(changes) > len(shown):
        lines.append(f"- … and {len(changes) - len(shown)} more (`newsdesk feeds --changed`)")
    named = changes[:DIGEST_FEEDS]
    return Announcement(
        event=DIGEST_EVENT,
        resource={
            "prefect.resource.id": f"newsdesk.run.{run_id}",
            "prefect.resource.name": f"ingest run {run_id}",
        },
        payload={
            "count": len(changes),
            "statuses": dict(counts),
            "feeds": [
                {"feed": c.feed, "status": c.current.status, "reason": c.current.reason}
                for c in named
            ],
            "run_id": run_id,
            "subject": subject,
            "message": subject + "\n" + "\n".join(lines),
        },
        related=[
            {
                "prefect.resource.id": f"newsdesk.feed.{c.feed}",
                "prefect.resource.role": "feed",
                "prefect.resource.name": c.feed,
            }
            for c in named
        ],
    )


def _junk_kind(error: str) -> str:
    """'page is a bot challenge (HTTP 403)' → 'bot challenge'."""
    kind = error.removeprefix(NOT_THE_ARTICLE).split(" (", 1)[0]
    for article in ("a ", "an "):
        kind = kind.removeprefix(article)
    return kind


def _today(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _span(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
