"""Operators hear about silence: the real `ingest` flow judges its feeds, emits Prefect events,
and the shipped automation (`newsdesk alerts`, deployments/alerts.py) sends them through a
Custom Webhook block to a loopback webhook. Real Prefect server (the test harness, which runs
the triggers and actions services), real HTTP, a real DuckDB file."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TypeVar

import pytest

from deployments.alerts import deploy_alerts
from flows.ingest import ingest
from harness.cli import newsdesk
from harness.httpserver import LocalServer, Reply
from harness.sites import conditional, write_feeds_file

pytestmark = pytest.mark.usefixtures("prefect_api")

T = TypeVar("T")
DEADLINE = 180.0
"""Seconds to wait for the webhook: the server's triggers and actions services react within a
few seconds, many more on a loaded 2-core machine."""
NOW = datetime.now(UTC)
FEEDS = ("stopped", "steady-1", "steady-2", "steady-3")


def rss(server: LocalServer, feed: str, last: timedelta) -> bytes:
    """A feed that published one entry a day for six weeks, the newest `last` ago."""
    items = []
    for n in range(42):
        published = NOW - last - timedelta(days=n)
        items.append(
            f"<item><title>{feed} {n}</title><link>{server.url(f'/{feed}/{n}')}</link>"
            f"<guid>{feed}-{n}</guid><pubDate>{format_datetime(published)}</pubDate></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>'
        f"{feed}</title>{''.join(items)}</channel></rss>"
    ).encode()


def wait_for(what: Callable[[], T], deadline: float = DEADLINE) -> T:
    """`what()` once it is truthy, asked every 0.2 s until `deadline` seconds have passed."""
    end = time.monotonic() + deadline
    while not (found := what()):
        if time.monotonic() > end:
            raise AssertionError(f"still waiting after {deadline:.0f} s")
        time.sleep(0.2)
    return found


def test_a_silent_feed_is_one_notification_an_unchanged_run_none_and_an_outage_one_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_NETWORK", "1")
    with LocalServer() as server:
        server.routes["/hook"] = Reply(status=204)
        # Article pages answer 404: stored from the feeds' text at once, nothing to extract.
        for feed in FEEDS:
            last = timedelta(days=8) if feed == "stopped" else timedelta(hours=3)
            server.routes[f"/{feed}.xml"] = conditional(
                rss(server, feed, last), "application/rss+xml"
            )
        feeds_file = write_feeds_file(
            tmp_path / "feeds.toml", {feed: server.url(f"/{feed}.xml") for feed in FEEDS}
        )
        db = str(tmp_path / "news.duckdb")
        deployed = deploy_alerts("custom-webhook/newsdesk-test", webhook=server.url("/hook"))
        assert deploy_alerts("custom-webhook/newsdesk-test").automation_id == (
            deployed.automation_id
        )  # deployed again: the same automation, updated

        def hooks() -> list[dict]:
            return [json.loads(s.body) for s in server.requests if s.path == "/hook"]

        # Six weeks of one entry a day; `stopped` published nothing in the last eight days.
        first = ingest(feeds_file=str(feeds_file), db=db)
        assert [(c.feed, c.previous, c.current.status) for c in first.changes] == [
            ("stopped", None, "silent")
        ]
        (hook,) = wait_for(hooks)
        assert "stopped" in hook["subject"] and "silent" in hook["subject"]
        assert "nothing new for 8.0 days" in hook["body"]
        assert hook["text"].startswith("newsdesk: feed stopped is silent\n")

        # The run's summary artifact and `newsdesk feeds --changed` list the change.
        summary = _artifact("ingest-summary")
        assert "## Feeds that changed status" in summary and "| stopped |  | silent |" in summary
        changed = newsdesk("feeds", "--changed", "--db", db, "--format", "json")
        assert changed.returncode == 0, changed.stderr
        (row,) = [json.loads(line) for line in changed.stdout.splitlines()]
        assert (row["feed"], row["status"], row["alerted"]) == ("stopped", "silent", True)
        health = newsdesk("feeds", "--db", db, "--format", "json")
        statuses = {r["feed"]: r["status"] for r in map(json.loads, health.stdout.splitlines())}
        assert statuses == {
            "stopped": "silent",
            "steady-1": "ok",
            "steady-2": "ok",
            "steady-3": "ok",
        }

        # Unchanged feeds (304): nothing changed, nothing emitted.
        second = ingest(feeds_file=str(feeds_file), db=db)
        assert second.changes == ()

        # An outage: every feed fails twice in a row (the second time polled by name, as they
        # rest after the first). `stopped` was announced minutes ago: its change is recorded
        # inside its cool-down, and the three others go out as one digest.
        for feed in FEEDS:
            server.routes[f"/{feed}.xml"] = Reply(status=500)
        monkeypatch.setenv("NEWSDESK_ALERT_DIGEST", "2")
        assert ingest(feeds_file=str(feeds_file), db=db).changes == ()
        outage = ingest(feeds_file=str(feeds_file), db=db, feeds=list(FEEDS))
        assert sorted((c.feed, c.current.status, c.alerted) for c in outage.changes) == [
            ("steady-1", "failing", True),
            ("steady-2", "failing", True),
            ("steady-3", "failing", True),
            ("stopped", "failing", False),
        ]
        hook, digest = wait_for(lambda: hooks() if len(hooks()) >= 2 else None)
        assert digest["subject"] == "newsdesk: 3 feeds changed status: 3 failing"
        assert "steady-1: failing: 2 polls failed in a row" in digest["body"]
        assert "HTTP 500" in digest["body"]
        # The digest came after the unchanged run: had that run sent anything, it would be here.
        assert len(hooks()) == 2


def _artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        (latest, *_) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return str(latest.data)


def test_the_automation_needs_its_block(prefect_api: str) -> None:
    result = newsdesk(
        "alerts", "--block", "custom-webhook/nowhere", env={"PREFECT_API_URL": prefect_api}
    )
    assert result.returncode == 1
    assert "no notification block custom-webhook/nowhere" in result.stderr


def test_feeds_changed_prints_nothing_when_nothing_changed(tmp_path: Path) -> None:
    feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"a": "http://127.0.0.1:9/feed"})
    db = str(tmp_path / "news.duckdb")
    assert ingest(feeds_file=str(feeds_file), db=db).changes == ()  # one failure: a blip
    result = newsdesk("feeds", "--changed", "--since", "2w", "--db", db)
    assert (result.returncode, result.stdout) == (0, "")
