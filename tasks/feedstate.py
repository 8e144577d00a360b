"""How a feed's stored state moves from one poll to the next."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tasks.models import FeedState, FetchedFeed, ParsedFeed


def next_feed_state(
    previous: FeedState | None,
    fetched: FetchedFeed,
    parsed: ParsedFeed | None,
    now: datetime,
    *,
    complete: bool = True,
) -> FeedState:
    """The state to store after this poll.

    Validators (ETag, Last-Modified, body hash) advance only when the poll succeeded and every
    new entry of the body was taken (`complete`); otherwise the next run fetches the body again,
    so entries left over by a per-feed cap or a parse failure are not skipped for good.
    """
    spec = fetched.feed
    base = previous or FeedState(name=spec.name, url=spec.url)
    base = replace(base, url=spec.url, last_polled_at=now, last_http_status=fetched.http_status)

    failed_error = fetched.error if fetched.outcome == "failed" else None
    if parsed is not None and not parsed.usable:
        failed_error = parsed.problem or "not a feed"
    if failed_error is not None:
        return replace(
            base,
            last_status="failed",
            last_error=failed_error,
            consecutive_failures=base.consecutive_failures + 1,
            failing_since=base.failing_since or now,
        )

    problem = parsed.problem if parsed is not None else None
    state = replace(
        base,
        last_status=fetched.outcome,
        last_error=problem,
        consecutive_failures=0,
        last_success_at=now,
        failing_since=None,
    )
    if fetched.outcome == "ok" and complete:
        state = replace(
            state,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=fetched.body_hash,
        )
    return state
