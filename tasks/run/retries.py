"""Second chances for pages: which failed pages are fetched again in this run, and where each
article of the retry queue (`page_retries`) stands after this run's attempt.

An article whose page failed in a way that can heal (`Article.retryable`: a 5xx, a 429, a
timeout, a lost connection, an unreachable robots.txt, a bot challenge or a consent wall served
in place of the article) is stored from its feed's text and queued. Later runs fetch its page
again when it is due, after growing intervals (the schedule, e.g. 15 min, 1 h, 6 h, 24 h); a
page that fails once more than the schedule has intervals, or fails for good (a 404 now), is
given up. A page that works heals the article in place (`storage.writer`). Each run takes at
most `per_run` due pages, after its new articles, so a backlog never starves them. Pure: the
times come in as arguments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tasks.models import Article, FeedEntry, FeedSpec, PageRetry

DEFAULT_SCHEDULE = "15m,1h,6h,24h"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how many pages of the queue are fetched again."""

    intervals: tuple[timedelta, ...]
    """The wait before each further fetch: the first after the first failure, and so on. A
    page that still fails when they are used up is given up; none: nothing is queued."""
    per_run: int = 50
    """Due pages fetched again per run at most (0: none)."""


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """`"15m,1h,6h,24h"` as intervals (units s, m, h, d); `"none"` or `"0"` for no retries.

    Raises ValueError naming the part it cannot read.
    """
    if text.strip().lower() in ("none", "off", "0"):
        return ()
    intervals = []
    for part in text.split(","):
        match = _INTERVAL.fullmatch(part.strip().lower())
        if match is None:
            raise ValueError(
                f"cannot read {part.strip()!r} as an interval: write a number and a unit "
                "(s, m, h, d), e.g. 15m,1h,6h,24h, or none"
            )
        intervals.append(timedelta(seconds=float(match[1]) * _UNITS[match[2]]))
    return tuple(intervals)


def due_retries(
    waiting: Sequence[tuple[FeedEntry, PageRetry]],
    now: datetime,
    feeds: Sequence[FeedSpec],
    per_run: int,
) -> list[tuple[FeedEntry, PageRetry]]:
    """The queued pages this run fetches again: waiting, due by `now`, of the feeds the run
    was asked for (polled or not: a page does not wait for its feed's body to change), the
    longest-due first, at most `per_run`."""
    names = {spec.name for spec in feeds}
    chosen = [
        (entry, retry)
        for entry, retry in waiting
        if retry.status == "waiting"
        and retry.next_attempt_at is not None
        and retry.next_attempt_at <= now
        and retry.feed_name in names
    ]
    chosen.sort(key=lambda pair: (pair[1].next_attempt_at, pair[1].article_id))
    return chosen[:per_run]


def first_failure(
    article: Article, url: str, at: datetime, policy: RetryPolicy
) -> PageRetry | None:
    """The queue row of a new article stored from its feed's text, or None when its page
    failed for good (or the schedule is empty)."""
    if not article.retryable or not policy.intervals or article.extraction != "feed":
        return None
    return PageRetry(
        article_id=article.article_id,
        feed_name=article.feed_name,
        url=url,
        attempts=1,
        last_error=article.extraction_error or "page not read",
        first_failed_at=at,
        last_attempt_at=at,
        next_attempt_at=at + policy.intervals[0],
    )


def after_attempt(
    retry: PageRetry, article: Article, at: datetime, policy: RetryPolicy
) -> PageRetry:
    """Where a queued article stands once its page was fetched again at `at` and gave
    `article`: healed, waiting for the next interval, or given up."""
    if article.extraction == "page":
        return replace(
            retry, status="healed", last_attempt_at=at, next_attempt_at=None, healed_at=at
        )
    attempts = retry.attempts + 1
    error = article.extraction_error or "page not read"
    if article.retryable and attempts <= len(policy.intervals):
        wait = policy.intervals[attempts - 1]
        return replace(
            retry,
            attempts=attempts,
            last_error=error,
            last_attempt_at=at,
            next_attempt_at=at + wait,
        )
    return replace(
        retry,
        attempts=attempts,
        last_error=error,
        last_attempt_at=at,
        next_attempt_at=None,
        status="gave_up",
        gave_up_at=at,
    )
