"""The shards of one ingest on a real work pool: a `prefect server start` backed by PostgreSQL (as
the README advises for many workers; its SQLite answered 503 under concurrent runs), a process
work pool,
two `prefect worker start` processes, and one deployment per shard (NEWSDESK_SHARDS=2) whose
code the workers clone from git (a bare clone of this checkout). Both shards are triggered at
once; they must run on both workers, poll each feed exactly once between them, and leave every
article once in one SQLite-catalog DuckLake.

Every process started here is torn down by its process group; workers with SIGKILL, since a
worker may sit out its first SIGTERM for 30 s.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lakes import postgres  # noqa: F401

from deployments.definitions import ingest_name
from harness.httpserver import LocalServer
from harness.invariants import check_warehouse
from harness.postgres import PostgresServer
from harness.prefect import PrefectServer, work_pool
from harness.sites import OverlapSite, write_feeds_file
from storage import Warehouse
from tasks.models import FeedSpec
from tasks.run.shards import in_shard

pytestmark = pytest.mark.load

POOL = "newsdesk-two-workers"
SHARDS = 2
FEEDS = 6
STORIES = 40
WORKERS = ("worker-a", "worker-b")


def wait_for(check, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def prefect_server(tmp_path, postgres: PostgresServer) -> Iterator[str]:  # noqa: F811
    postgres.create_database("prefect")
    with PrefectServer(tmp_path / "prefect-home", postgres.url("prefect")) as server:
        yield server.api


def test_the_shards_of_one_ingest_run_on_two_workers_into_one_lake(tmp_path, prefect_server):
    api = prefect_server
    db = f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    with LocalServer() as site_server, httpx.Client(base_url=api, timeout=30) as client:
        site = OverlapSite(site_server, FEEDS, STORIES)
        urls = site.feed_urls()
        specs = [FeedSpec(name=name, url=url) for name, url in urls.items()]
        assert all(in_shard(specs, s, SHARDS) for s in range(1, SHARDS + 1)), "a shard is empty"
        feeds = write_feeds_file(tmp_path / "feeds.toml", urls)
        job_env = {
            "NEWSDESK_DB": db,
            "NEWSDESK_FEEDS": str(feeds),
            "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
            "NEWSDESK_MAX_ARTICLES_PER_FEED": "0",
            "NEWSDESK_BATCH_SIZE": "8",
            "NEWSDESK_WORKERS": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        with work_pool(tmp_path, api, POOL, WORKERS, job_env):
            # Both workers polling before the runs exist: else a worker that starts slowly on a
            # busy machine finds the first one's second run already taken.
            def online() -> bool:
                found = client.post(f"/work_pools/{POOL}/workers/filter", json={}).json()
                return {w["name"] for w in found if w["status"] == "ONLINE"} >= set(WORKERS)

            wait_for(online, 180, "both workers to come online", interval=1)
            runs = []
            for shard in range(1, SHARDS + 1):
                name = ingest_name(shard, SHARDS)
                deployment = client.get(f"/deployments/name/ingest/{name}").json()
                created = client.post(f"/deployments/{deployment['id']}/create_flow_run", json={})
                created.raise_for_status()
                runs.append(created.json()["id"])

            def finished() -> list[dict] | None:
                states = [client.get(f"/flow_runs/{run}").json() for run in runs]
                types = [s["state"]["type"] for s in states]
                if any(t in ("FAILED", "CRASHED", "CANCELLED") for t in types):
                    raise AssertionError(f"a shard's run ended {types}: {_logs(tmp_path)}")
                return states if all(t == "COMPLETED" for t in types) else None

            wait_for(finished, 600, "both shards' runs to complete", interval=1)
            ran_on = {run: _worker_of(client, run) for run in runs}

        # The shards ran on both workers.
        assert sorted(ran_on.values()) == sorted(WORKERS), ran_on
        # Each feed was polled by exactly one run.
        polls = Counter(s.path for s in site_server.requests if s.path.startswith("/feed-"))
        assert polls == {f"/feed-{f}.xml": 1 for f in range(FEEDS)}
        # The lake holds every article once, though every story is in feeds of both shards.
        counts = check_warehouse(db)
        assert counts["articles"] == STORIES
        assert counts["sightings"] == site.sightings()
        assert counts["runs"] == SHARDS
        _, rows = Warehouse(db).query("SELECT url FROM articles")
        assert {url for (url,) in rows} == site.listed()


def _worker_of(client: httpx.Client, run: str) -> str | None:
    """The worker that submitted `run`, from the run's own log."""
    logs = client.post(
        "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run]}}, "limit": 200}
    ).json()
    for log in logs:
        for name in WORKERS:
            if f"Worker '{name}' submitting" in log["message"]:
                return name
    return None


def _logs(root: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(root.glob("worker-*.log"))
    )
