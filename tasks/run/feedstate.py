"""How a feed's stored state moves from one poll to the next, and which feeds are due.

A failing feed is never disabled: it rests for `backoff_base` seconds after its first failure,
twice as long after each further one, at most `backoff_max`, and longer only when its server
asked for it (a 429/503's Retry-After, within the same cap). The first poll that works brings it
back to normal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tasks.models import FeedSpec, FeedState, FetchedFeed, ParsedFeed


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 900.0
    """Seconds of rest after the first failure."""
    maximum: float = 86400.0


def backoff_delay(failures: int, backoff: Backoff, retry_after: float | None = None) -> float:
    """Seconds a feed rests after `failures` failures in a row (at least 1)."""
    exponent = min(max(failures, 1) - 1, 32)  # 2**32 times any base is past any maximum
    delay = min(backoff.base * 2**exponent, backoff.maximum)
    if retry_after is not None:
        delay = max(delay, min(retry_after, backoff.maximum))
    return delay


def due_feeds(
    specs: Sequence[FeedSpec], states: Mapping[str, FeedState], now: datetime
) -> tuple[list[FeedSpec], list[FeedSpec]]:
    """(feeds to poll now, feeds still resting after failures).

    A feed whose URL was changed in the feeds file is due at once: the rest was for the old URL.
    """
    due: list[FeedSpec] = []
    resting: list[FeedSpec] = []
    for spec in specs:
        state = states.get(spec.name)
        waiting = (
            state is not None
            and state.next_poll_at is not None
            and state.next_poll_at > now
            and state.url == spec.url
        )
        (resting if waiting else due).append(spec)
    return due, resting


def next_feed_state(
    previous: FeedState | None,
    fetched: FetchedFeed,
    parsed: ParsedFeed | None,
    now: datetime,
    *,
    complete: bool = True,
    backoff: Backoff | None = None,
) -> FeedState:
    """The state to store after this poll.

    Validators (ETag, Last-Modified, body hash) advance only when the poll succeeded and every
    new entry of the body was taken (`complete`); otherwise the next run fetches the body again,
    so entries left over by a per-feed cap or a parse failure are not skipped for good.
    A failure sets `next_poll_at` (see `backoff_delay`); a success clears it.
    """
    spec = fetched.feed
    base = previous or FeedState(name=spec.name, url=spec.url)
    base = replace(base, url=spec.url, last_polled_at=now, last_http_status=fetched.http_status)

    failed_error = fetched.error if fetched.outcome == "failed" else None
    if parsed is not None and not parsed.usable:
        failed_error = parsed.problem or "not a feed"
    if failed_error is not None:
        failures = base.consecutive_failures + 1
        delay = backoff_delay(failures, backoff or Backoff(), fetched.retry_after)
        return replace(
            base,
            last_status="failed",
            last_error=failed_error,
            consecutive_failures=failures,
            failing_since=base.failing_since or now,
            next_poll_at=now + timedelta(seconds=delay),
        )

    problem = parsed.problem if parsed is not None else None
    state = replace(
        base,
        last_status=fetched.outcome,
        last_error=problem,
        consecutive_failures=0,
        last_success_at=now,
        failing_since=None,
        next_poll_at=None,
    )
    if fetched.outcome == "ok" and complete:
        state = replace(
            state,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=fetched.body_hash,
        )
    return state


def feeds_to_poll(
    specs: Sequence[FeedSpec], states: Mapping[str, FeedState], now: datetime, named: Set[str]
) -> tuple[list[FeedSpec], list[FeedSpec]]:
    """(feeds to poll, feeds resting). A feed that keeps failing rests (backoff) but is never
    dropped; one `named` explicitly is polled anyway, so an operator can check a fix at once."""
    due, resting = due_feeds(specs, states, now)
    due += [s for s in resting if s.name in named]
    return due, [s for s in resting if s.name not in named]
