"""The retry queue's decisions, without a network, a warehouse or Prefect: which pages are due,
and where an article stands after another fetch of its page."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tasks.models import (
    Article,
    EntryFingerprint,
    FeedEntry,
    FeedSpec,
    KnownUrls,
    PageRetry,
    ParsedFeed,
)
from tasks.run.plan import plan_for
from tasks.run.retries import RetryPolicy, after_attempt, due_retries, first_failure, parse_schedule

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
POLICY = RetryPolicy(parse_schedule("15m,1h,6h,24h"), per_run=2)


def article(extraction: str = "feed", retryable: bool = True, error: str = "HTTP 503") -> Article:
    return Article(
        article_id="id1",
        url="https://news.example/a",
        canonical_url="https://news.example/a",
        feed_name="f",
        title="A",
        text="Teaser",
        summary=None,
        authors=(),
        published_at=None,
        published_at_source=None,
        published_at_precision=None,
        language=None,
        word_count=1,
        content_hash="h",
        extraction=extraction,  # type: ignore[arg-type]
        extraction_error=error if extraction == "feed" else None,
        retryable=retryable and extraction == "feed",
    )


def queued(article_id: str, due_in: timedelta, feed: str = "f") -> tuple[FeedEntry, PageRetry]:
    url = f"https://news.example/{article_id}"
    retry = PageRetry(article_id, feed, url, 1, "HTTP 503", NOW, NOW, NOW + due_in)
    return FeedEntry(feed_name=feed, url=url), retry


def test_the_schedule_reads_units_and_none() -> None:
    assert POLICY.intervals == (
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=6),
        timedelta(days=1),
    )
    assert parse_schedule("90s, 2d") == (timedelta(seconds=90), timedelta(days=2))
    assert parse_schedule("none") == ()
    with pytest.raises(ValueError, match="'soon'"):
        parse_schedule("15m,soon")


def test_only_due_pages_of_the_run_s_feeds_are_taken_longest_due_first_up_to_the_bound() -> None:
    waiting = [
        queued("late", timedelta(minutes=-1)),
        queued("later", timedelta(minutes=30)),
        queued("oldest", timedelta(hours=-3)),
        queued("other-feed", timedelta(hours=-5), feed="g"),
        queued("middle", timedelta(hours=-2)),
    ]
    chosen = due_retries(waiting, NOW, [FeedSpec("f", "https://news.example/feed")], 2)
    assert [retry.article_id for _, retry in chosen] == ["oldest", "middle"]


def test_a_healing_failure_is_queued_for_the_first_interval_and_a_permanent_one_is_not() -> None:
    row = first_failure(article(), "https://news.example/a", NOW, POLICY)
    assert row is not None
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "waiting",
        1,
        NOW + timedelta(minutes=15),
    )
    assert first_failure(article(retryable=False, error="HTTP 404"), "u", NOW, POLICY) is None
    assert first_failure(article(), "u", NOW, RetryPolicy(())) is None


def test_intervals_grow_then_the_page_is_given_up() -> None:
    row = first_failure(article(), "https://news.example/a", NOW, POLICY)
    assert row is not None
    waits = []
    for day in range(1, 5):
        at = NOW + timedelta(days=day)
        row = after_attempt(row, article(), at, POLICY)
        waits.append(row.next_attempt_at - at if row.next_attempt_at else None)
    # The first fetch and one per interval failed: five fetches, then no more.
    assert waits == [timedelta(hours=1), timedelta(hours=6), timedelta(days=1), None]
    assert (row.status, row.attempts, row.gave_up_at) == ("gave_up", 5, NOW + timedelta(days=4))


def test_a_page_that_now_reads_heals_and_one_that_is_now_gone_is_given_up_at_once() -> None:
    _, row = queued("id1", timedelta(0))
    healed = after_attempt(row, article("page"), NOW, POLICY)
    assert (healed.status, healed.healed_at, healed.next_attempt_at) == ("healed", NOW, None)
    gone = after_attempt(row, article(retryable=False, error="HTTP 404"), NOW, POLICY)
    assert (gone.status, gone.last_error, gone.gave_up_at) == ("gave_up", "HTTP 404", NOW)


def test_a_retry_whose_page_the_run_downloads_anyway_is_not_fetched_twice() -> None:
    entry, row = queued("id1", timedelta(0))
    edited = ParsedFeed("f", (replace(entry, title="edited"),))
    sighting = ("f", entry.url)
    known = KnownUrls(
        {entry.url: "id1"}, frozenset({sighting}), {sighting: EntryFingerprint(None, "old")}
    )
    plan = plan_for([edited], known, 0, [(entry, row), queued("id2", timedelta(0))])
    # The edited entry is fetched once, as an edit; the other due page as a retry.
    assert [e.url for e in plan.to_fetch] == [entry.url, "https://news.example/id2"]
    assert [r.article_id for _, r in plan.retry] == ["id2"]
    assert plan.kept_ids == {entry.url: "id1", "https://news.example/id2": "id2"}
