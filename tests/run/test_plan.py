"""Which entries are downloaded, and how a feed's state moves between polls."""

from __future__ import annotations

from datetime import UTC, datetime

from tasks.models import FeedEntry, FeedSpec, FeedState, FetchedFeed, ParsedFeed
from tasks.run.feedstate import next_feed_state
from tasks.run.plan import plan_downloads

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def feed(name: str, *urls: str) -> ParsedFeed:
    return ParsedFeed(name, tuple(FeedEntry(feed_name=name, url=u) for u in urls))


def test_known_articles_are_not_downloaded_but_new_sightings_are_recorded():
    plan = plan_downloads(
        [feed("a", "u1", "u2"), feed("b", "u1", "u3")],
        known_ids={"u1": "id1"},
        known_sightings={("a", "u1")},
        max_per_feed=0,
    )
    assert [e.url for e in plan.download] == ["u2", "u3"]
    assert [(e.feed_name, e.url, i) for e, i in plan.resighted] == [("b", "u1", "id1")]


def test_a_story_new_in_two_feeds_is_downloaded_once():
    plan = plan_downloads([feed("a", "u1"), feed("b", "u1")], {}, set(), 0)
    assert [(e.feed_name, e.url) for e in plan.download] == [("a", "u1")]
    assert [(e.feed_name, e.url) for e in plan.riders] == [("b", "u1")]


def test_the_per_feed_cap_marks_the_feed_capped():
    plan = plan_downloads([feed("a", "u1", "u2", "u3"), feed("b", "u4")], {}, set(), 2)
    assert [e.url for e in plan.download] == ["u1", "u2", "u4"]
    assert plan.capped == {"a"}


SPEC = FeedSpec("a", "https://x/feed")
OLD = FeedState("a", "https://x/feed", etag='"1"', body_hash="h1", consecutive_failures=0)


def test_validators_advance_only_after_a_complete_successful_poll():
    fetched = FetchedFeed(SPEC, "ok", 200, b"<rss/>", etag='"2"', body_hash="h2")
    ok = next_feed_state(OLD, fetched, ParsedFeed("a"), NOW)
    assert (ok.etag, ok.body_hash, ok.last_status, ok.last_success_at) == ('"2"', "h2", "ok", NOW)
    capped = next_feed_state(OLD, fetched, ParsedFeed("a"), NOW, complete=False)
    assert (capped.etag, capped.body_hash) == ('"1"', "h1")


def test_failures_count_up_and_keep_the_old_validators():
    failed = FetchedFeed(SPEC, "failed", 500, error="HTTP 500")
    once = next_feed_state(OLD, failed, None, NOW)
    twice = next_feed_state(once, failed, None, NOW)
    assert (twice.last_status, twice.consecutive_failures, twice.last_error) == (
        "failed",
        2,
        "HTTP 500",
    )
    assert twice.etag == '"1"'
    recovered = next_feed_state(twice, FetchedFeed(SPEC, "not_modified", 304), None, NOW)
    assert (recovered.consecutive_failures, recovered.last_error) == (0, None)


def test_a_body_that_is_not_a_feed_is_a_failure():
    fetched = FetchedFeed(SPEC, "ok", 200, b"<html>", body_hash="h3")
    state = next_feed_state(OLD, fetched, ParsedFeed("a", usable=False, problem="not a feed"), NOW)
    assert (state.last_status, state.last_error, state.body_hash) == ("failed", "not a feed", "h1")
