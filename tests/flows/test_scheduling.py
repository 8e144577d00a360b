"""Which feeds a run polls: its shard only, and, for scheduled runs, only the feeds that are due.
Real Prefect (test harness), a real local HTTP server, a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest
from httpserver import LocalServer
from sites import conditional, write_feeds_file

from flows.ingest import ingest
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
