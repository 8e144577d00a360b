"""Real Prefect for tests and benchmarks: a `prefect server start`, and a work pool of workers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from deployments.definitions import ingest_name, ingest_parameters
from harness.cli import BIN, clean_env
from harness.httpserver import free_port
from harness.kills import kill_group, start_in_session

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = textwrap.dedent(
    """
    import json, sys
    from prefect import flow
    from prefect.runner.storage import GitRepository
    repo, pool = sys.argv[1], sys.argv[2]
    shards, env = json.loads(sys.argv[3]), json.loads(sys.argv[4])
    for name, parameters in shards:
        flow.from_source(GitRepository(url=repo), "flows/ingest.py:ingest").deploy(
            name=name, work_pool_name=pool, parameters=parameters,
            job_variables={"env": env}, print_next_steps=False,
        )
    """
)
"""Registers one deployment per shard: python -c DEPLOY REPO POOL SHARDS_JSON ENV_JSON."""


class PrefectServer:
    """`prefect server start` on a free loopback port with its own PREFECT_HOME; on its own
    SQLite database, or on `database_url` (`postgresql+asyncpg://…`). Use it as a context
    manager; `api` is its API's URL."""

    def __init__(self, home: Path, database_url: str | None = None) -> None:
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.home = home
        self.database_url = database_url
        home.mkdir(parents=True, exist_ok=True)
        self._log = (home / "server.log").open("w")

    def __enter__(self) -> PrefectServer:
        env = clean_env(
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_UI_ENABLED="false",
        )
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        self._process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self._process.poll() is not None:
                break
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"the Prefect server did not start; see {self.home / 'server.log'}")

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._log.close()


@contextmanager
def work_pool(
    workdir: Path, api: str, pool: str, workers: Sequence[str], job_env: Mapping[str, str]
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """A process work pool `pool` on the server at `api`, with one `ingest` deployment per shard
    (as many shards as `workers`) whose code the workers clone from git (a bare clone of this
    checkout's HEAD), its flow runs in `job_env`, and a worker of each name, one flow run at a
    time. Yields the workers by name; on exit they are killed, and the flow runs they started."""
    bare = workdir / "newsdesk.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(bare)], check=True)
    client_env = clean_env(PREFECT_API_URL=api, PREFECT_HOME=str(workdir / "client-home"))
    prefect = str(BIN / "prefect")
    subprocess.run(
        [prefect, "work-pool", "create", pool, "--type", "process"],
        env=client_env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    count = len(workers)
    shards = [(ingest_name(s, count), ingest_parameters(s, count)) for s in range(1, count + 1)]
    subprocess.run(
        [sys.executable, "-c", DEPLOY, str(bare), pool, json.dumps(shards), json.dumps(job_env)],
        env=client_env,
        check=True,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in workers:
            started[name] = start_in_session(
                [prefect, "worker", "start", "--pool", pool, "--name", name, "--limit", "1"],
                clean_env(
                    PREFECT_API_URL=api,
                    PREFECT_HOME=str(workdir / f"{name}-home"),
                    PREFECT_WORKER_QUERY_SECONDS="1",
                ),
                workdir / f"{name}.log",
            )
        yield started
    finally:
        # SIGKILL: a worker may sit out its first SIGTERM for 30 s.
        for process in started.values():
            kill_group(process)
        # A process worker starts each flow run in a session of its own, which outlives the
        # worker; one still flushing to an API about to stop would linger for minutes.
        for pid in _flow_runs_of(api):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _flow_runs_of(api: str) -> list[int]:
    """The flow-run processes reporting to `api`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry.name}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"PREFECT_API_URL={api}".encode() in environ and any(
            e.startswith(b"PREFECT__FLOW_RUN_ID=") for e in environ
        ):
            found.append(int(entry.name))
    return found
