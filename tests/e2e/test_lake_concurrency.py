"""Concurrent writers on one lake: `newsdesk ingest` processes over overlapping feeds, started at
once, while an analyst queries the lake (a table and a view) every second. Every run must exit 0,
no query may fail, and the lake must hold every article and sighting once; a repeat run adds
nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lakes import postgres  # noqa: F401

from harness.cli import start_ingest
from harness.httpserver import LocalServer
from harness.invariants import check_warehouse
from harness.sites import OverlapSite, write_feeds_file
from storage import Warehouse

pytestmark = pytest.mark.prefect

FEEDS = 6
STORIES = 40

ANALYST = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from storage import Warehouse
    wh, stop = Warehouse(sys.argv[1]), Path(sys.argv[2])
    queries = failures = 0
    while not stop.exists():
        try:
            wh.query("SELECT feed_name, count(*) FROM articles GROUP BY ALL")
            queries += 1
            # A view a later migration adds: the first runs may still be migrating the lake.
            wh.query("SELECT * FROM feed_health")
        except Exception as exc:
            # Until the first run has created the lake and its tables, there is nothing to ask.
            if queries:
                failures += 1
                print("query failed:", exc, file=sys.stderr, flush=True)
        time.sleep(1.0)
    print(queries, failures, flush=True)
    """
)


def run_writers(tmp_path: Path, db: str, writers: int, env: dict[str, str]) -> None:
    with LocalServer() as server:
        site = OverlapSite(server, FEEDS, STORIES)
        urls = site.feed_urls()
        names = list(urls)
        files = []
        for i in range(writers):
            # Writer i polls four of the six feeds, starting two further on than writer i - 1:
            # every feed is polled by two or more writers at once, every story comes twice.
            mine = {names[(2 * i + k) % FEEDS]: urls[names[(2 * i + k) % FEEDS]] for k in range(4)}
            files.append(write_feeds_file(tmp_path / f"feeds-{i}.toml", mine))
        stop = tmp_path / "analyst.stop"
        analyst = subprocess.Popen(
            [sys.executable, "-c", ANALYST, db, str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        procs = [start_ingest(f, db, env) for f in files]
        for proc in procs:
            code = proc.wait(timeout=600)
            assert code == 0, proc.stderr.read().decode() if proc.stderr else ""
        stop.touch()
        out, errors = analyst.communicate(timeout=60)
        queries, failures = (int(x) for x in out.split())
        assert failures == 0, errors
        assert queries >= 1

        counts = check_warehouse(db)
        assert counts["articles"] == STORIES
        assert counts["sightings"] == site.sightings()
        assert counts["feeds"] == FEEDS
        assert counts["runs"] == writers
        _, rows = Warehouse(db).query("SELECT url FROM articles")
        assert {url for (url,) in rows} == site.listed()

        everything = write_feeds_file(tmp_path / "feeds-all.toml", urls)
        repeat = start_ingest(everything, db, env)
        assert repeat.wait(timeout=300) == 0, repeat.stderr.read().decode() if repeat.stderr else ""
        again = check_warehouse(db)
        assert {**again, "runs": counts["runs"]} == counts
        _, rows = Warehouse(db).query(
            "SELECT articles_new FROM ingest_runs ORDER BY written_at DESC LIMIT 1"
        )
        assert rows == [(0,)]
    print(f"{writers} writers on {db.split(':')[1]}: {counts}; analyst ran {queries} queries")


def _env(prefect_api: str, **extra: str) -> dict[str, str]:
    return {
        "PREFECT_API_URL": prefect_api,
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        "NEWSDESK_MAX_ARTICLES_PER_FEED": "0",
        **extra,
    }


@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_runs_on_a_sqlite_lake_store_everything_once(
    tmp_path, prefect_api, writers
) -> None:
    db = f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    run_writers(tmp_path, db, writers, _env(prefect_api))


@pytest.mark.load  # a PostgreSQL server of its own; part of CI, deselect with -m "not load"
@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_runs_on_a_postgres_lake_store_everything_once(
    tmp_path,
    prefect_api,
    postgres,  # noqa: F811
    writers,
) -> None:
    dsn = postgres.create_database(f"news{writers}")
    data = tmp_path / "lake-data"
    run_writers(
        tmp_path,
        f"ducklake:postgres:{dsn}",
        writers,
        _env(prefect_api, NEWSDESK_LAKE_DATA_PATH=f"{data}/"),
    )
