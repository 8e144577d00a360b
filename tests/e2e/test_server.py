"""`newsdesk server`: one background Prefect server that runs find without PREFECT_API_URL, so
they skip Prefect's temporary API, and that shows them in its UI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from harness.cli import BIN, clean_env
from harness.httpserver import free_port


def run(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "newsdesk"), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.prefect
def test_runs_use_the_background_server_and_show_in_it_until_it_is_stopped(tmp_path):
    db = tmp_path / "data" / "news.duckdb"
    env = clean_env() | {"NEWSDESK_DB": str(db), "COLUMNS": "200"}
    feeds = tmp_path / "feeds.toml"
    feeds.write_text("feeds = []\n")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"

    # (A Prefect server someone else runs on 127.0.0.1:4200 would be named here: not ours.)
    assert run("server", "status", env=env).stdout.startswith("not running")
    started = run("server", "start", "--port", str(port), env=env)
    try:
        assert started.returncode == 0, started.stderr
        assert f"UI at http://127.0.0.1:{port}" in started.stdout
        state = json.loads((tmp_path / "data" / "prefect" / "server.json").read_text())
        assert state["api_url"] == api
        status = run("server", "status", env=env)
        assert status.returncode == 0 and "running" in status.stdout

        ingest = run("ingest", "--feeds", str(feeds), env=env)
        assert ingest.returncode == 0, ingest.stderr
        assert "starting a background Prefect server" not in ingest.stderr
        runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=30).json()
        assert [(r["name"].split()[0], r["state_type"]) for r in runs] == [("ingest", "COMPLETED")]
        again = run("server", "start", "--port", str(port), env=env)
        assert again.returncode == 0 and f"pid {state['pid']}" in again.stdout
    finally:
        stopped = run("server", "stop", env=env)
    assert stopped.returncode == 0 and f"pid {state['pid']}" in stopped.stdout
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{api}/health", timeout=2)
    assert run("server", "status", env=env).stdout.startswith("not running")
    assert run("server", "stop", env=env).stdout.strip() == "not running"


def test_a_lakes_server_state_lives_beside_its_catalog_not_in_a_folder_named_after_its_url():
    from newsdesk.server import state_dir

    assert state_dir("data/news.duckdb") == Path("data/prefect")
    assert state_dir("ducklake:sqlite:/srv/lake/catalog.sqlite") == Path("/srv/prefect")
    assert state_dir("ducklake:sqlite:data/lake/catalog.sqlite") == Path("data/prefect")
    assert state_dir("ducklake:postgres:dbname=news host=db") == Path("data/prefect")
