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
FEEDS = ("stopped", "collapsed", "steady-1", "steady-2")


def rss(server: LocalServer, feed: str, times: list[datetime]) -> bytes:
    """A feed of one entry at each of `times`."""
    items = [
        f"<item><title>{feed} {n}</title><link>{server.url(f'/{feed}/{n}')}</link>"
        f"<guid>{feed}-{n}</guid><pubDate>{format_datetime(published)}</pubDate></item>"
        for n, published in enumerate(times)
    ]
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>'
        f"{feed}</title>{''.join(items)}</channel></rss>"
    ).encode()


def daily(last: timedelta, days: int = 42) -> list[datetime]:
    """One entry a day for `days` days, the newest `last` ago."""
    return [NOW - last - timedelta(days=n) for n in range(days)]


def collapsed() -> list[datetime]:
    """Four entries a day for five weeks, then one a day for the last seven whole days (UTC):
    still publishing, at a quarter of its usual volume."""
    midnight = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [(d, (12,)) for d in range(1, 8)] + [(d, (3, 9, 15, 21)) for d in range(8, 43)]
    return [midnight - timedelta(days=d, hours=-h) for d, hours in days for h in hours]


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
            times = {
                "stopped": daily(timedelta(days=8)),
                "collapsed": collapsed(),
            }.get(feed, daily(timedelta(hours=3)))
            server.routes[f"/{feed}.xml"] = conditional(
                rss(server, feed, times), "application/rss+xml"
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

        # Six weeks of one entry a day; `stopped` published nothing in the last eight days, and
        # `collapsed` fell from four entries a day to one.
        first = ingest(feeds_file=str(feeds_file), db=db)
        assert sorted((c.feed, c.previous, c.current.status) for c in first.changes) == [
            ("collapsed", None, "low"),
            ("stopped", None, "silent"),
        ]
        sent = wait_for(lambda: hooks() if len(hooks()) >= 2 else None)
        by_feed = {h["subject"].split()[2]: h for h in sent}
        assert sorted(by_feed) == ["collapsed", "stopped"]
        stopped, low = by_feed["stopped"], by_feed["collapsed"]
        assert "silent" in stopped["subject"] and "nothing new for 8.0 days" in stopped["body"]
        assert stopped["text"].startswith("newsdesk: feed stopped is silent\n")
        assert "low" in low["subject"]
        assert "7 entries in the last 7 days, against a usual 28" in low["body"]

        # The run's summary artifact and `newsdesk feeds --changed` list the change.
        summary = _artifact("ingest-summary")
        assert "## Feeds that changed status" in summary and "| stopped |  | silent |" in summary
        assert "| collapsed |  | low |" in summary
        changed = newsdesk("feeds", "--changed", "--db", db, "--format", "json")
        assert changed.returncode == 0, changed.stderr
        rows = sorted(
            (r["feed"], r["status"], r["alerted"])
            for r in map(json.loads, changed.stdout.splitlines())
        )
        assert rows == [("collapsed", "low", True), ("stopped", "silent", True)]
        health = newsdesk("feeds", "--db", db, "--format", "json")
        statuses = {r["feed"]: r["status"] for r in map(json.loads, health.stdout.splitlines())}
        assert statuses == {
            "stopped": "silent",
            "collapsed": "low",
            "steady-1": "ok",
            "steady-2": "ok",
        }

        # Unchanged feeds (304): nothing changed, nothing emitted.
        second = ingest(feeds_file=str(feeds_file), db=db)
        assert second.changes == ()

        # An outage: every feed fails twice in a row (the second time polled by name, as they
        # rest after the first). `stopped` and `collapsed` were announced minutes ago: their
        # changes are recorded inside their cool-down, and the two others go out as one digest.
        for feed in FEEDS:
            server.routes[f"/{feed}.xml"] = Reply(status=500)
        monkeypatch.setenv("NEWSDESK_ALERT_DIGEST", "1")
        assert ingest(feeds_file=str(feeds_file), db=db).changes == ()
        outage = ingest(feeds_file=str(feeds_file), db=db, feeds=list(FEEDS))
        assert sorted((c.feed, c.current.status, c.alerted) for c in outage.changes) == [
            ("collapsed", "failing", False),
            ("steady-1", "failing", True),
            ("steady-2", "failing", True),
            ("stopped", "failing", False),
        ]
        *_, digest = wait_for(lambda: hooks() if len(hooks()) >= 3 else None)
        assert digest["subject"] == "newsdesk: 2 feeds changed status: 2 failing"
        assert "steady-1: failing: 2 polls failed in a row" in digest["body"]
        assert "HTTP 500" in digest["body"]
        # The digest came after the unchanged run: had that run sent anything, it would be here.
        assert len(hooks()) == 3


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
