"""End to end on a real `prefect server start`: `newsdesk serve` registers the deployments, runs
triggered through the API (as the UI does) and from a real browser complete and store articles.

Every process started here is torn down by PID (its whole process group).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import pytest

from harness.cli import BIN, clean_env
from harness.httpserver import LocalServer, free_port
from harness.sites import serve_sample_pages, write_feeds_file

ARTIFACTS = Path(
    os.environ.get("NEWSDESK_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)
CHROMIUM = "/usr/bin/chromium"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


# A process started from a non-interactive shell may inherit an ignored SIGINT; this launcher
# restores the default so the child sees Ctrl-C as an operator's terminal would send it.
RESTORE_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RESTORE_SIGINT, *args],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown reaches its children
    )


def stop(process: subprocess.Popen, grace: float = 20) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(check, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[str]:
    """A real Prefect server (API and UI) on a free loopback port with its own PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = clean_env() | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
    }
    server = start([str(BIN / "prefect"), "server", "start"], env, home / "server.log")
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(lambda: _healthy(api), 180, "the Prefect server")
        yield api
    finally:
        stop(server)


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Served:
    api: str
    client: httpx.Client
    deployment_id: str
    db: Path
    seconds_to_ready: float


@pytest.fixture(scope="module")
def served(prefect_server, tmp_path_factory) -> Iterator[Served]:
    """`newsdesk serve` against the server, with the sample feeds on a local HTTP server."""
    work = tmp_path_factory.mktemp("served")
    with LocalServer() as site:
        feeds = write_feeds_file(work / "feeds.toml", serve_sample_pages(site))
        env = clean_env() | {
            "PREFECT_API_URL": prefect_server,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "NEWSDESK_FEEDS": str(feeds),
            "NEWSDESK_DB": str(work / "served.duckdb"),
            "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        }
        started = time.monotonic()
        serve = start([str(BIN / "newsdesk"), "serve"], env, work / "serve.log")
        client = httpx.Client(base_url=prefect_server, timeout=30)
        try:
            deployment = wait_for(
                lambda: _deployment(client, "ingest/ingest"), 120, "the ingest deployment"
            )
            wait_for(lambda: "polling" in (work / "serve.log").read_text(), 60, "serve to poll")
            yield Served(
                prefect_server,
                client,
                deployment["id"],
                work / "served.duckdb",
                time.monotonic() - started,
            )
        finally:
            stop(serve)
            client.close()
        # Ctrl-C stops it cleanly.
        assert serve.returncode == 0
        assert "stopped serving" in (work / "serve.log").read_text()


def _deployment(client: httpx.Client, name: str) -> dict | None:
    response = client.get(f"/deployments/name/{name}")
    return response.json() if response.status_code == 200 else None


def create_run(served: Served, **parameters) -> str:
    """The call the UI's Run button makes. A busy server answers 503 (its database is locked);
    like Prefect's own client, try again."""
    for attempt in range(6):
        response = served.client.post(
            f"/deployments/{served.deployment_id}/create_flow_run",
            json={"parameters": parameters},
        )
        if response.status_code != 503 or attempt == 5:
            break
        time.sleep(2)
    response.raise_for_status()
    return response.json()["id"]


def wait_finished(served: Served, run_id: str, timeout: float = 240) -> dict:
    def finished():
        run = served.client.get(f"/flow_runs/{run_id}").json()
        return run if run["state_type"] in TERMINAL else None

    return wait_for(finished, timeout, f"flow run {run_id}")


def artifact_keys(served: Served, run_id: str) -> set[str]:
    response = served.client.post(
        "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run_id]}}}
    )
    return {a["key"] for a in response.json()}


def count(db: Path, sql: str) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()


def test_a_run_triggered_through_the_api_stores_articles_and_publishes_artifacts(served, tmp_path):
    db = tmp_path / "news.duckdb"
    run = wait_finished(served, create_run(served, db=str(db)))
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["name"].startswith("ingest ") and run["name"].endswith("all-feeds")
    assert count(db, "SELECT count(*) FROM articles") == (9,)
    assert artifact_keys(served, run["id"]) == {"ingest-feeds", "ingest-summary"}


def test_two_runs_started_at_once_both_complete_and_store_each_article_once(served, tmp_path):
    db = tmp_path / "news.duckdb"
    first, second = create_run(served, db=str(db)), create_run(served, db=str(db))
    runs = [wait_finished(served, first), wait_finished(served, second)]
    assert [r["state_type"] for r in runs] == ["COMPLETED", "COMPLETED"]
    assert count(db, "SELECT count(*), count(DISTINCT url) FROM articles") == (9, 9)
    assert count(db, "SELECT count(*), sum(articles_new) FROM ingest_runs") == (2, 9)


def test_a_dry_run_writes_nothing(served, tmp_path):
    db = tmp_path / "news.duckdb"
    run = wait_finished(served, create_run(served, db=str(db), dry_run=True))
    assert run["state_type"] == "COMPLETED"
    assert not db.exists() or count(db, "SELECT count(*) FROM articles") == (0,)


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt install chromium)"
)
def test_custom_run_and_quick_run_from_the_prefect_ui(served):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ui = served.api.removesuffix("/api")

    def runs() -> list[dict]:
        response = served.client.post(
            "/flow_runs/filter",
            json={
                "deployments": {"id": {"any_": [served.deployment_id]}},
                "sort": "EXPECTED_START_TIME_DESC",
            },
        )
        return [r for r in response.json() if r["state_type"] != "SCHEDULED"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def open_run_menu() -> None:
                page.goto(f"{ui}/deployments")
                page.get_by_role("link", name="ingest", exact=True).first.click()
                page.get_by_role("button", name="Run", exact=True).click()

            # Custom run: one feed, typed into the parameter form.
            before = {r["id"] for r in runs()}
            clicked = time.monotonic()
            open_run_menu()
            page.get_by_text("Custom run", exact=True).click()
            page.get_by_role("button", name="Add item").first.click()
            page.locator("textarea").first.fill("sample-dach")
            page.get_by_role("button", name="Submit").click()
            custom = wait_for(
                lambda: [r for r in runs() if r["id"] not in before], 120, "the custom run"
            )[0]
            custom = wait_finished(served, custom["id"])
            ui_seconds = time.monotonic() - clicked
            assert custom["state_type"] == "COMPLETED"
            assert custom["parameters"]["feeds"] == ["sample-dach"]
            assert count(served.db, "SELECT list(DISTINCT feed_name) FROM articles") == (
                ["sample-dach"],
            )

            # Quick run: defaults, every feed.
            before = {r["id"] for r in runs()}
            open_run_menu()
            page.get_by_text("Quick run", exact=True).click()
            quick = wait_for(
                lambda: [r for r in runs() if r["id"] not in before], 120, "the quick run"
            )[0]
            quick = wait_finished(served, quick["id"])
            assert quick["state_type"] == "COMPLETED"
            assert count(served.db, "SELECT count(*) FROM articles") == (9,)

            page.goto(f"{ui}/runs/flow-run/{quick['id']}")
            expect(page.get_by_text("Completed").first).to_be_visible(timeout=30_000)
            page.get_by_text("Artifacts", exact=True).click()
            expect(page.get_by_text("ingest-summary").first).to_be_visible(timeout=30_000)
            expect(page.get_by_text("ingest-feeds").first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "ui-finished-run.png"), full_page=True)
        finally:
            browser.close()
    (ARTIFACTS / "ui-timing.txt").write_text(
        f"newsdesk serve start to deployments ready: {served.seconds_to_ready:.1f} s\n"
        f"custom run: click to Completed: {ui_seconds:.1f} s\n"
    )
