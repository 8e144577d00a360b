"""Shared fixtures: one Prefect test harness for the session, servers for the sample and corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Before Prefect is imported anywhere: no telemetry, and start-up timeouts that hold on 2 cores.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# A CLI run without PREFECT_API_URL must not leave a background Prefect server behind a test;
# the tests of that server set this themselves.
os.environ.setdefault("NEWSDESK_PREFECT_SERVER", "ephemeral")
# Every local test site is one host (127.0.0.1): spacing its requests would only slow the suite.
# Tests of the spacing itself set it explicitly.
os.environ.setdefault("NEWSDESK_PER_HOST_DELAY", "0")


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real Prefect API (the test harness: a temporary server and database) for the session.

    Yields its URL, so subprocesses (the CLI) can use the same server instead of starting their
    own ephemeral one.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def private_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let article links to 127.0.0.1 through, as the local test servers need."""
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_NETWORK", "1")
