"""How a feed's stored state moves from one poll to the next, and which feeds are due.

A failing feed is never disabled: it rests for `backoff_base` seconds after its first failure,
twice as long after each further one, at most `backoff_max`, and longer only when its server
asked for it (a 429/503's Retry-After, within the same cap). The first poll that works brings it
back to normal.

A healthy feed gets its own interval (`poll_interval`), which scheduled runs (`due_only`) wait
before polling it again. It follows Miniflux's entry-frequency scheduler
(`internal/model/feed.go`, `ScheduleNextCheck`): a week divided by the entries published in the
last week, within bounds (5 minutes to 24 hours by default); then at least what the publisher
announces (RSS `ttl`, `sy:updatePeriod`/`sy:updateFrequency`) and how long the server says the
response stays fresh (`Cache-Control: max-age`, `Expires`); then the upper bound again, so a
misconfigured feed is still read daily. Miniflux counts a week of entries in its database; we
count those of the feed body, which holds only the latest few: when it covers less than a week
(a busy feed), its entries are spread over the time it does cover. Like Media Cloud's
rss-fetcher (`fetcher/tasks.py`, which lengthens `poll_minutes` when polls find nothing new), a
poll that finds the body unchanged lengthens the interval by a quarter. Each next poll is moved
by up to ±10 % (a hash of the feed name and the time, so runs are reproducible) so that feeds
added together, or of one host, drift apart instead of being polled in bursts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tasks.models import FeedSpec, FeedState, FetchedFeed, ParsedFeed


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 900.0
    """Seconds of rest after the first failure."""
    maximum: float = 86400.0


WEEK = 7 * 86400.0
UNCHANGED_GROWTH = 1.25
"""An unchanged body (304, or the same bytes) lengthens the interval by this factor."""


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How often healthy feeds are polled, and how failing ones rest."""

    minimum: float = 300.0
    """Shortest interval, in seconds, however busy a feed is."""
    maximum: float = 86400.0
    """Longest interval: a quiet feed, or one whose headers ask for more, is still read daily."""
    jitter: float = 0.1
    """Each next poll moves by up to this share of the interval, earlier or later."""
    backoff: Backoff = field(default_factory=Backoff)


def publishing_interval(dates: Iterable[datetime], now: datetime) -> float | None:
    """Seconds between new entries, from the publication dates of a feed body's entries.

    None when no entry has a date; `inf` when none was published in the last week.
    """
    dated = sorted(min(d, now) for d in dates)
    if not dated:
        return None
    recent = [d for d in dated if (now - d).total_seconds() <= WEEK]
    if not recent:
        return float("inf")
    covered = min(WEEK, (now - dated[0]).total_seconds())
    return covered / len(recent)


def poll_interval(
    previous: FeedState | None,
    fetched: FetchedFeed,
    parsed: ParsedFeed | None,
    now: datetime,
    policy: PollPolicy,
) -> float:
    """Seconds until a healthy feed is due again (see the module docstring); a pinned interval
    (`FeedSpec.interval`) wins over everything."""
    if fetched.feed.interval is not None:
        return fetched.feed.interval
    stored = previous.poll_interval_seconds if previous is not None else None
    if parsed is not None and parsed.usable:
        rate = publishing_interval((e.published_at for e in parsed.entries if e.published_at), now)
        # Entries without dates tell nothing: poll as often as allowed, as before.
        interval = policy.minimum if rate is None else rate
    elif stored is not None:
        interval = stored * UNCHANGED_GROWTH
    else:
        interval = policy.minimum
    interval = min(max(interval, policy.minimum), policy.maximum)
    hints = [h for h in (fetched.max_age, parsed.update_hint if parsed else None) if h]
    return min(max([interval, *hints]), policy.maximum)


def jittered(seconds: float, name: str, now: datetime, jitter: float) -> float:
    """`seconds` moved by up to ±`jitter` of itself, by a hash of the feed and the time."""
    digest = hashlib.sha256(f"{name}\x00{now.isoformat()}".encode()).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    return seconds * (1 + jitter * (2 * share - 1))


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
    policy: PollPolicy | None = None,
) -> FeedState:
    """The state to store after this poll.

    Validators (ETag, Last-Modified, body hash) advance only when the poll succeeded and every
    new entry of the body was taken (`complete`); otherwise the next run fetches the body again,
    so entries left over by a per-feed cap or a parse failure are not skipped for good.
    A failure sets `next_poll_at` (see `backoff_delay`); a success clears it and sets the
    feed's interval and `due_at` (see `poll_interval`).
    """
    policy = policy or PollPolicy()
    spec = fetched.feed
    base = previous or FeedState(name=spec.name, url=spec.url)
    base = replace(base, url=spec.url, last_polled_at=now, last_http_status=fetched.http_status)

    failed_error = fetched.error if fetched.outcome == "failed" else None
    if parsed is not None and not parsed.usable:
        failed_error = parsed.problem or "not a feed"
    if failed_error is not None:
        failures = base.consecutive_failures + 1
        delay = backoff_delay(failures, policy.backoff, fetched.retry_after)
        return replace(
            base,
            last_status="failed",
            last_error=failed_error,
            consecutive_failures=failures,
            failing_since=base.failing_since or now,
            next_poll_at=now + timedelta(seconds=delay),
        )

    problem = parsed.problem if parsed is not None else None
    interval = poll_interval(previous, fetched, parsed, now, policy)
    wait = jittered(interval, spec.name, now, policy.jitter)
    state = replace(
        base,
        last_status=fetched.outcome,
        last_error=problem,
        consecutive_failures=0,
        last_success_at=now,
        failing_since=None,
        next_poll_at=None,
        poll_interval_seconds=round(interval),
        due_at=now + timedelta(seconds=wait),
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
    specs: Sequence[FeedSpec],
    states: Mapping[str, FeedState],
    now: datetime,
    named: Set[str],
    due_only: bool = False,
) -> tuple[list[FeedSpec], list[FeedSpec]]:
    """(feeds to poll, feeds resting). A feed that keeps failing rests (backoff) but is never
    dropped; one `named` explicitly is polled anyway, so an operator can check a fix at once.

    With `due_only` (scheduled runs), a healthy feed whose `due_at` has not come is left out:
    neither polled nor reported, like a feed of another shard.
    """
    due, resting = due_feeds(specs, states, now)
    if due_only:
        due = [s for s in due if s.name in named or not _waiting(states.get(s.name), s, now)]
    due += [s for s in resting if s.name in named]
    return due, [s for s in resting if s.name not in named]


def _waiting(state: FeedState | None, spec: FeedSpec, now: datetime) -> bool:
    # A changed URL or a newly pinned interval is due at once: the wait was for the old ones.
    if state is None or state.due_at is None or state.url != spec.url:
        return False
    pinned = spec.interval is not None and round(spec.interval) != state.poll_interval_seconds
    return state.due_at > now and not pinned
