"""Adaptive polling: each feed's interval from how often it publishes and what its publisher and
server announce, within bounds, with jitter; scheduled runs poll only the feeds that are due."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tasks.models import FeedEntry, FeedSpec, FeedState, FetchedFeed, ParsedFeed
from tasks.run.feedstate import (
    PollPolicy,
    feeds_to_poll,
    jittered,
    next_feed_state,
    poll_interval,
    publishing_interval,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SPEC = FeedSpec("news", "https://example.com/feed.xml")
POLICY = PollPolicy(minimum=300, maximum=86400, jitter=0.1)
OK = FetchedFeed(SPEC, "ok", 200, body=b"<rss/>")
MINUTE, HOUR, DAY = 60, 3600, 86400


def body(*ages: timedelta, hint: float | None = None) -> ParsedFeed:
    """A parsed feed whose entries were published `ages` ago."""
    entries = tuple(
        FeedEntry("news", f"https://example.com/{i}", published_at=NOW - age)
        for i, age in enumerate(ages)
    )
    return ParsedFeed("news", entries, update_hint=hint)


def interval(parsed: ParsedFeed | None, fetched: FetchedFeed = OK, previous=None) -> float:
    return poll_interval(previous, fetched, parsed, NOW, POLICY)


def test_a_busy_feed_is_polled_about_as_often_as_it_publishes():
    # 20 entries in the last 5 hours: one every 15 minutes.
    ages = [timedelta(minutes=15 * i) for i in range(1, 21)]
    assert interval(body(*ages)) == pytest.approx(15 * MINUTE)


def test_a_feed_publishing_twice_a_day_is_polled_about_twice_a_day():
    ages = [timedelta(hours=12 * i) for i in range(1, 30)]  # 14 in the last week
    assert interval(body(*ages)) == pytest.approx(12 * HOUR)


def test_a_very_busy_feed_is_held_to_the_lower_bound():
    ages = [timedelta(seconds=20 * i) for i in range(1, 50)]
    assert interval(body(*ages)) == 300


def test_a_feed_silent_for_a_week_is_read_daily():
    assert interval(body(timedelta(days=9), timedelta(days=30))) == DAY


def test_a_feed_without_dates_is_polled_as_often_as_allowed():
    assert interval(ParsedFeed("news", (FeedEntry("news", "https://example.com/a"),))) == 300
    assert publishing_interval([], NOW) is None


def test_ttl_and_sy_update_period_make_a_busy_feed_wait_longer():
    busy = [timedelta(minutes=10 * i) for i in range(1, 30)]
    assert interval(body(*busy, hint=2 * HOUR)) == 2 * HOUR


def test_cache_control_max_age_makes_a_busy_feed_wait_longer():
    busy = [timedelta(minutes=10 * i) for i in range(1, 30)]
    fresh = replace(OK, max_age=45 * MINUTE)
    assert interval(body(*busy), fresh) == 45 * MINUTE


def test_no_hint_pushes_a_feed_past_the_upper_bound():
    assert interval(body(timedelta(hours=1), hint=7 * DAY)) == DAY
    assert interval(body(timedelta(hours=1)), replace(OK, max_age=30 * DAY)) == DAY


def test_an_unchanged_feed_waits_a_quarter_longer_each_time():
    previous = FeedState("news", SPEC.url, poll_interval_seconds=HOUR)
    unchanged = FetchedFeed(SPEC, "not_modified", 304)
    assert interval(None, unchanged, previous) == 1.25 * HOUR
    long_quiet = replace(previous, poll_interval_seconds=23 * HOUR)
    assert interval(None, unchanged, long_quiet) == DAY


def test_an_interval_pinned_in_the_feeds_file_wins():
    pinned = FetchedFeed(replace(SPEC, interval=30 * MINUTE), "ok", 200, body=b"x")
    assert interval(body(timedelta(days=20)), pinned) == 30 * MINUTE


def test_jitter_spreads_feeds_within_ten_percent_and_is_reproducible():
    waits = [jittered(HOUR, f"feed-{i}", NOW, 0.1) for i in range(200)]
    assert all(0.9 * HOUR <= w <= 1.1 * HOUR for w in waits)
    assert len({round(w) for w in waits}) > 150  # spread, not bunched
    assert jittered(HOUR, "feed-1", NOW, 0.1) == waits[1]


def test_a_successful_poll_stores_the_interval_and_when_the_feed_is_due():
    hourly = [timedelta(hours=i) for i in range(1, 20)]
    state = next_feed_state(None, OK, body(*hourly), NOW, policy=POLICY)
    assert state.poll_interval_seconds == HOUR
    assert state.due_at is not None
    assert 0.9 * HOUR <= (state.due_at - NOW).total_seconds() <= 1.1 * HOUR
    assert state.next_poll_at is None  # backoff only


def test_a_failure_keeps_the_interval_and_rests_as_before():
    previous = FeedState("news", SPEC.url, poll_interval_seconds=HOUR, due_at=NOW)
    failed = FetchedFeed(SPEC, "failed", 500, error="HTTP 500")
    state = next_feed_state(previous, failed, None, NOW, policy=POLICY)
    assert state.poll_interval_seconds == HOUR
    assert state.next_poll_at == NOW + timedelta(seconds=POLICY.backoff.base)


FEEDS = [
    FeedSpec("due", "https://a/1"),
    FeedSpec("later", "https://a/2"),
    FeedSpec("new", "https://a/3"),
]
STATES = {
    "due": FeedState("due", "https://a/1", poll_interval_seconds=HOUR, due_at=NOW - timedelta(1)),
    "later": FeedState(
        "later", "https://a/2", poll_interval_seconds=HOUR, due_at=NOW + timedelta(hours=1)
    ),
}


def names(specs):
    return [s.name for s in specs]


def test_scheduled_runs_poll_only_the_feeds_that_are_due():
    due, resting = feeds_to_poll(FEEDS, STATES, NOW, set(), due_only=True)
    assert names(due) == ["due", "new"] and resting == []


def test_a_run_that_is_not_due_only_polls_every_feed():
    due, _ = feeds_to_poll(FEEDS, STATES, NOW, set())
    assert names(due) == ["due", "later", "new"]


def test_a_feed_named_explicitly_is_polled_even_if_not_due():
    due, _ = feeds_to_poll(FEEDS, STATES, NOW, {"later"}, due_only=True)
    assert "later" in names(due)


def test_a_feed_whose_url_or_pinned_interval_changed_is_due_at_once():
    moved = [FEEDS[0], replace(FEEDS[1], url="https://b/2")]
    assert names(feeds_to_poll(moved, STATES, NOW, set(), due_only=True)[0]) == ["due", "later"]
    pinned = [FEEDS[0], replace(FEEDS[1], interval=10 * MINUTE)]
    assert names(feeds_to_poll(pinned, STATES, NOW, set(), due_only=True)[0]) == ["due", "later"]
