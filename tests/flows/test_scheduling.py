"""Which feeds a run polls: its shard only, and, for scheduled runs, only the feeds that are due.
Real Prefect (test harness), a real local HTTP server, a real DuckDB file."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from flows.ingest import ingest
from harness.httpserver import LocalServer
from harness.sites import conditional, write_feeds_file
from storage import Warehouse
from tasks.run.shards import shard_of

pytestmark = pytest.mark.usefixtures("prefect_api")

EMPTY_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title>
<link>https://example.com/</link><description>quiet</description></channel></rss>"""


@pytest.fixture
def twelve_feeds(tmp_path: Path):
    with LocalServer() as server:
        feeds = {}
        for i in range(12):
            name = f"feed-{i}"
            server.routes[f"/{name}.xml"] = conditional(EMPTY_RSS % name.encode(), "text/xml")
            feeds[name] = server.url(f"/{name}.xml")
        yield server, write_feeds_file(tmp_path / "feeds.toml", feeds)


def polled(server: LocalServer, since: int = 0) -> set[str]:
    return {seen.path.strip("/").removesuffix(".xml") for seen in server.requests[since:]}


def test_each_shard_polls_only_its_own_feeds_and_together_they_poll_all(twelve_feeds, tmp_path):
    server, feeds_file = twelve_feeds
    db = tmp_path / "news.duckdb"
    seen: list[set[str]] = []
    for shard in (1, 2, 3):
        before = len(server.requests)
        report = ingest(feeds_file=str(feeds_file), db=str(db), shard=shard, shards=3)
        seen.append(polled(server, before))
        assert {f.name for f in report.feeds} == seen[-1]
        assert all(shard_of(name, 3) == shard for name in seen[-1])
    assert set.union(*seen) == {f"feed-{i}" for i in range(12)}
    assert sum(len(s) for s in seen) == 12


def test_scheduled_runs_poll_a_feed_again_only_when_it_is_due(twelve_feeds, tmp_path):
    server, feeds_file = twelve_feeds
    # One feed's server says its body stays fresh for two hours.
    fresh = conditional(EMPTY_RSS % b"fresh", "text/xml")
    server.routes["/feed-0.xml"] = lambda seen: replace(
        fresh(seen), headers={**fresh(seen).headers, "Cache-Control": "max-age=7200"}
    )
    db = tmp_path / "news.duckdb"
    first = ingest(feeds_file=str(feeds_file), db=str(db), due_only=True)
    assert len(first.feeds) == 12  # never polled: all due

    before = len(server.requests)
    second = ingest(feeds_file=str(feeds_file), db=str(db), due_only=True, feeds=["feed-3"])
    assert polled(server, before) == {"feed-3"}  # the others wait; a named feed never does
    assert [f.name for f in second.feeds] == ["feed-3"]

    before = len(server.requests)
    ingest(feeds_file=str(feeds_file), db=str(db))  # not due_only: a run by hand polls all
    assert len(polled(server, before)) == 12

    columns, rows = Warehouse(db).feed_health()
    health = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    # Two hours from max-age, then a quarter longer since the last poll found it unchanged.
    assert health["feed-0"]["interval"] == timedelta(hours=2.5)
    wait = health["feed-0"]["next_poll"] - health["feed-0"]["last_polled_at"]
    assert timedelta(hours=2.25) <= wait <= timedelta(hours=2.75)
    # Undated, empty feeds start at the lower bound (5 minutes), and grow while unchanged.
    assert health["feed-1"]["interval"] == timedelta(minutes=5 * 1.25)
