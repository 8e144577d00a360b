"""A feed judged against its own normal: weeks of a simulated feed run through the real feed-state
and health functions, four runs a day, as scheduled runs would poll and judge it. Each status
fires on its case, once, and a weekly rhythm, a holiday dip and a twice-a-week feed stay quiet."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from tasks.models import (
    NOT_THE_ARTICLE,
    FeedEntry,
    FeedSpec,
    FeedState,
    FeedStatus,
    FetchedFeed,
    ParsedFeed,
    StatusChange,
)
from tasks.page.junk import REASONS
from tasks.run.feedstate import next_feed_state
from tasks.run.health import (
    DIGEST_EVENT,
    FEED_EVENT,
    HealthPolicy,
    announcements,
    history_of,
    judge_feeds,
)

POLICY = HealthPolicy()
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
SPEC = FeedSpec("news", "https://example.com/feed.xml")
CHALLENGE = "page is a bot challenge"


@dataclass
class Day:
    """What the simulated feed does on one UTC day."""

    entries: int
    junk: bool = False
    """Its pages are bot challenges instead of articles."""
    failing: bool = False
    """Every poll of its feed fails (HTTP 503)."""


@dataclass
class Run:
    statuses: list[tuple[datetime, str]] = field(default_factory=list)
    changes: list[tuple[datetime, StatusChange]] = field(default_factory=list)

    def alerts(self) -> list[tuple[date, str | None, str]]:
        return [
            (when.date(), c.previous, c.current.status) for when, c in self.changes if c.alerted
        ]

    def seen(self) -> set[str]:
        return {status for _, status in self.statuses}


def simulate(days: int, plan: Callable[[int, date], Day], seed: int = 1) -> Run:
    """`days` days of a feed whose day n (from START) is `plan(n, day)`, polled and judged by a
    run every 6 hours: entries are spread over the day's working hours, the feed body lists the
    latest 20, and each run moves the feed state, judges the feed and records its status."""
    rng = random.Random(seed)
    entries: list[tuple[datetime, bool]] = []  # instant, page is junk
    failing_days: set[date] = set()
    for n in range(days):
        day = START + timedelta(days=n)
        today = plan(n, day.date())
        if today.failing:
            failing_days.add(day.date())
        for _ in range(today.entries):
            minute = rng.randrange(6 * 60, 20 * 60)
            entries.append((day + timedelta(minutes=minute), today.junk))
    entries.sort()
    state: FeedState | None = None
    status: FeedStatus | None = None
    run = Run()
    for tick in range(1, days * 4):
        now = START + timedelta(hours=6 * tick)
        published = [(t, junk) for t, junk in entries if t <= now]
        body = tuple(
            FeedEntry("news", f"https://example.com/{t.timestamp()}", published_at=t)
            for t, _ in published[-20:]
        )
        if now.date() in failing_days:
            fetched = FetchedFeed(SPEC, "failed", 503, error="HTTP 503")
            state = next_feed_state(state, fetched, None, now)
        else:
            fetched = FetchedFeed(SPEC, "ok", 200, body=b"<rss/>")
            state = next_feed_state(state, fetched, ParsedFeed("news", body), now)
        latest = [junk for t, junk in published if now - t <= timedelta(days=14)][-20:]
        history = history_of(
            "news",
            (t for t, _ in published),
            now,
            POLICY,
            pages=len(latest),
            not_articles=[(CHALLENGE, sum(latest))] if any(latest) else [],
        )
        rows, changes = judge_feeds(
            {"news": history},
            {"news": state},
            {"news": status} if status else {},
            ["news"],
            now,
            f"run-{tick}",
            POLICY,
        )
        if rows:
            status = rows[-1]
        assert status is not None
        run.statuses.append((now, status.status))
        run.changes += [(now, c) for c in changes]
    return run


def weekdays(busy: int, weekend: int) -> Callable[[int, date], Day]:
    return lambda n, day: Day(busy if day.weekday() < 5 else weekend)


WEEKS = 12


def test_a_weekly_rhythm_stays_ok_for_twelve_weeks():
    run = simulate(7 * WEEKS, weekdays(20, 2))
    assert run.seen() == {"ok"}
    assert run.alerts() == []


def test_a_feed_that_publishes_only_on_weekdays_stays_ok_through_its_weekends():
    run = simulate(7 * WEEKS, weekdays(12, 0))
    assert run.seen() == {"ok"}
    assert run.alerts() == []


def test_a_holiday_dip_is_not_an_alert():
    holiday = date(2026, 3, 5)  # a Thursday in week 9: two days at a tenth, the week at half

    def plan(n: int, day: date) -> Day:
        if day in (holiday, holiday + timedelta(days=1)):
            return Day(2)
        if holiday - timedelta(days=3) <= day < holiday:
            return Day(10)
        return weekdays(20, 2)(n, day)

    run = simulate(7 * WEEKS, plan)
    assert run.seen() == {"ok"}
    assert run.alerts() == []


def test_a_twice_a_week_feed_stays_ok():
    run = simulate(7 * WEEKS, lambda n, day: Day(1 if day.weekday() in (1, 4) else 0))
    assert run.seen() == {"ok"}
    assert run.alerts() == []


def test_a_volume_that_collapses_to_a_tenth_is_low_once():
    collapse = 7 * 8 + 2  # a Wednesday, eight weeks in

    def plan(n: int, day: date) -> Day:
        entries = weekdays(20, 2)(n, day).entries
        return Day(max(entries // 10, 1) if n >= collapse else entries)

    run = simulate(7 * WEEKS, plan)
    alerts = run.alerts()
    assert [(previous, status) for _, previous, status in alerts] == [("ok", "low")]
    (when, _, _) = alerts[0]
    assert (
        START.date() + timedelta(days=collapse)
        < when
        <= START.date() + timedelta(days=collapse + 8)
    )
    low = next(c for _, c in run.changes if c.current.status == "low").current
    assert low.expected is not None and low.expected > 90 and low.seen is not None
    assert low.seen <= low.expected / 4
    assert "against a usual" in low.reason


def test_a_busy_feed_that_stops_is_silent_within_two_days_and_ok_again_once_it_is_back():
    stop, resume = 7 * 8 + 2, 7 * 9 + 3

    def plan(n: int, day: date) -> Day:
        return Day(0) if stop <= n < resume else weekdays(20, 2)(n, day)

    run = simulate(7 * WEEKS, plan)
    alerts = run.alerts()
    # Back after eight silent days, its last 7 days are still far below its usual week: `low`
    # says so until a normal week is behind it.
    assert [(previous, status) for _, previous, status in alerts] == [
        ("ok", "silent"),
        ("silent", "low"),
        ("low", "ok"),
    ]
    stopped = START.date() + timedelta(days=stop)
    assert alerts[0][0] <= stopped + timedelta(days=2)
    silent = next(c for _, c in run.changes if c.current.status == "silent").current
    assert silent.reason.startswith("nothing new for")
    assert silent.since.date() == stopped - timedelta(days=1)  # its last entry


def test_a_twice_a_week_feed_that_stops_is_silent_after_a_few_of_its_intervals():
    stop = 7 * 8

    def plan(n: int, day: date) -> Day:
        return Day(1 if day.weekday() in (1, 4) and n < stop else 0)

    run = simulate(7 * WEEKS, plan)
    alerts = run.alerts()
    assert [(previous, status) for _, previous, status in alerts] == [("ok", "silent")]
    assert START.date() + timedelta(days=stop + 7) <= alerts[0][0]
    assert alerts[0][0] <= START.date() + timedelta(days=stop + 14)


def test_pages_that_turn_into_bot_challenges_make_the_feed_junk():
    turn = 7 * 8

    def plan(n: int, day: date) -> Day:
        return Day(weekdays(20, 2)(n, day).entries, junk=n >= turn)

    run = simulate(7 * 10, plan)
    alerts = run.alerts()
    assert [(previous, status) for _, previous, status in alerts] == [("ok", "junk")]
    assert alerts[0][0] <= START.date() + timedelta(days=turn + 1)
    junk = next(c for _, c in run.changes if c.current.status == "junk").current
    assert "bot challenge" in junk.reason and "not the article" in junk.reason


def test_a_feed_that_keeps_failing_is_failing_once_and_ok_again_after_the_cool_down():
    down = range(7 * 8, 7 * 8 + 3)

    def plan(n: int, day: date) -> Day:
        return Day(weekdays(20, 2)(n, day).entries, failing=n in down)

    run = simulate(7 * 10, plan)
    alerts = run.alerts()
    assert [(previous, status) for _, previous, status in alerts] == [
        ("ok", "failing"),
        ("failing", "ok"),
    ]
    failing = next(c for _, c in run.changes if c.current.status == "failing").current
    assert "polls failed in a row" in failing.reason and "HTTP 503" in failing.reason
    # Its second failed poll, the first run of the first failing day: one failure is a blip.
    assert failing.assessed_at == START + timedelta(days=down[0], hours=6)


def test_a_feed_that_flaps_within_the_cool_down_is_announced_once():
    # Every other day fails: failing and ok alternate, but alerts stay 6 hours apart at least,
    # and each goes out only when the status differs from the one last announced.
    def plan(n: int, day: date) -> Day:
        return Day(20, failing=n >= 7 * 8 and n % 2 == 0)

    run = simulate(7 * 10, plan)
    alerts = [when for when, c in run.changes if c.alerted]
    assert len(alerts) >= 2
    assert all(
        later - earlier >= timedelta(hours=6) for earlier, later in itertools.pairwise(alerts)
    )
    statuses = [c.current.status for _, c in run.changes if c.alerted]
    assert all(a != b for a, b in itertools.pairwise(statuses))


def test_a_run_where_many_feeds_change_sends_one_digest():
    now = START + timedelta(days=60)
    states = {
        f"feed-{i}": FeedState(
            f"feed-{i}",
            "https://x",
            last_status="failed",
            consecutive_failures=2,
            failing_since=now - timedelta(hours=1),
            last_error="connection refused",
        )
        for i in range(40)
    }
    rows, changes = judge_feeds({}, states, {}, states, now, "run-1", POLICY)
    assert len(rows) == len(changes) == 40
    (digest,) = announcements(changes, "run-1", POLICY)
    assert digest.event == DIGEST_EVENT
    assert digest.payload["count"] == 40 and digest.payload["statuses"] == {"failing": 40}
    assert "40 feeds changed status: 40 failing" in digest.payload["message"]
    assert len(digest.related) == 40
    few = announcements(changes[:3], "run-1", POLICY)
    assert [a.event for a in few] == [FEED_EVENT] * 3
    assert few[0].resource["prefect.resource.id"] == "newsdesk.feed.feed-0"
    assert few[0].payload["reason"].endswith("connection refused")


def test_every_page_served_in_place_of_the_article_is_told_by_its_error():
    # The warehouse counts a feed's junk pages by this prefix of `extraction_error`.
    assert all(reason.startswith(NOT_THE_ARTICLE) for reason in REASONS.values())
