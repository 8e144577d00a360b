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

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lakes import OverlapSite, PostgresServer, postgres  # noqa: F401

from bench.fleet import DEPLOY, kill_session, start_in_session
from bench.throughput import PrefectServer
from deployments.definitions import ingest_name, ingest_parameters
from harness.httpserver import LocalServer
from harness.invariants import check_warehouse
from harness.sites import write_feeds_file
from storage import Warehouse
from tasks.models import FeedSpec
from tasks.run.shards import in_shard

pytestmark = pytest.mark.load

BIN = Path(sys.executable).parent
REPO = Path(__file__).parents[2]
POOL = "newsdesk-two-workers"
SHARDS = 2
FEEDS = 6
STORIES = 40
WORKERS = ("worker-a", "worker-b")


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSDESK_"))}
    return env | {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
        **extra,
    }


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
    bare = tmp_path / "newsdesk.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(REPO), str(bare)], check=True)
    db = f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    client_env = base_env(PREFECT_API_URL=api, PREFECT_HOME=str(tmp_path / "client-home"))
    prefect = str(BIN / "prefect")
    subprocess.run(
        [prefect, "work-pool", "create", POOL, "--type", "process"], env=client_env, check=True
    )
    workers: list[subprocess.Popen] = []
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
        shards = [
            (ingest_name(s, SHARDS), ingest_parameters(s, SHARDS)) for s in range(1, SHARDS + 1)
        ]
        subprocess.run(
            [
                sys.executable,
                "-c",
                DEPLOY,
                str(bare),
                POOL,
                json.dumps(shards),
                json.dumps(job_env),
            ],
            env=client_env,
            check=True,
            cwd=tmp_path,
        )
        try:
            for name in WORKERS:
                workers.append(
                    start_in_session(
                        [
                            prefect,
                            "worker",
                            "start",
                            "--pool",
                            POOL,
                            "--name",
                            name,
                            "--limit",
                            "1",
                        ],
                        base_env(
                            PREFECT_API_URL=api,
                            PREFECT_HOME=str(tmp_path / f"{name}-home"),
                            PREFECT_WORKER_QUERY_SECONDS="1",
                        ),
                        tmp_path / f"{name}.log",
                    )
                )

            # Both workers polling before the runs exist: else a worker that starts slowly on a
            # busy machine finds the first one's second run already taken.
            def online() -> bool:
                found = client.post(f"/work_pools/{POOL}/workers/filter", json={}).json()
                return {w["name"] for w in found if w["status"] == "ONLINE"} >= set(WORKERS)

            wait_for(online, 180, "both workers to come online", interval=1)
            runs = []
            for name, _ in shards:
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
        finally:
            for worker in workers:
                kill_session(worker)

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
