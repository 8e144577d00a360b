"""The load run in CI: 1,000 feeds on local servers, 5% failing, 5% slow, 1% hostile, through
the real CLI. Every healthy and slow feed must be ingested, within a bounded time and memory.
The same run, with its figures printed, is `python -m bench.load_run`."""

from __future__ import annotations

import pytest

from bench.load_run import run_load

pytestmark = pytest.mark.load

FEEDS = 1000
BOUND_SECONDS = 240
"""About 35 s on 2 shared cores; the bound allows for a much busier CI machine."""


def test_a_thousand_feeds_with_failing_slow_and_hostile_ones_are_ingested_in_bounded_time(
    prefect_api,
) -> None:
    result = run_load(FEEDS, env={"PREFECT_API_URL": prefect_api})
    print(
        f"load run: {result.feeds} feeds in {result.seconds:.1f} s, peak RSS "
        f"{result.peak_rss_mib:.0f} MiB; {result.summary}"
    )

    assert result.exit_code == 0, result.output_tail
    assert result.kinds["healthy"] + result.kinds["slow"] == result.healthy_expected
    assert result.missing == []
    assert result.healthy_ingested == result.healthy_expected
    assert result.unexpected_ok == []  # every failing and hostile feed was recorded as failed
    assert result.seconds < BOUND_SECONDS
    assert result.peak_rss_mib < 2048
