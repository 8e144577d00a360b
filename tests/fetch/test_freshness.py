"""How long a feed response says it stays fresh: a floor for that feed's poll interval."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.fetch.http import fresh_for

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"cache-control": "public, max-age=600"}, 600),
        ({"cache-control": 'max-age="120", must-revalidate'}, 120),
        # max-age wins over Expires (RFC 9111 section 5.3).
        ({"cache-control": "max-age=60", "expires": "Mon, 02 Mar 2026 13:00:00 GMT"}, 60),
        (
            {"expires": "Mon, 02 Mar 2026 12:30:00 GMT", "date": "Mon, 02 Mar 2026 12:00:00 GMT"},
            1800,
        ),
        ({"expires": "Mon, 02 Mar 2026 12:10:00 GMT"}, 600),  # no Date: from now
    ],
)
def test_max_age_or_expires_give_the_seconds_a_feed_stays_fresh(headers, seconds):
    assert fresh_for(headers, NOW) == seconds


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"cache-control": "no-cache, max-age=600"},
        {"cache-control": "no-store"},
        {"cache-control": "max-age=0"},
        {"expires": "0"},
        {"expires": "Mon, 02 Mar 2026 11:00:00 GMT"},  # already stale
        {"cache-control": "max-age=soon"},
    ],
)
def test_no_usable_freshness_is_none(headers):
    assert fresh_for(headers, NOW) is None
