"""One local Prefect server kept running in the background, so a run does not start its own.

Without `PREFECT_API_URL`, Prefect starts a temporary API in a subprocess for every run and
stops it at the end: about 6 of the 8 seconds an empty run costs (docs/benchmarks.md). A run
instead uses, in this order: `PREFECT_API_URL` when set; the server this module started,
when it answers; any Prefect server answering on the default local address; else (with
`NEWSDESK_PREFECT_SERVER=background`, the default) it starts one, which the next runs reuse
and whose UI shows every run. `newsdesk server stop` ends it.

The server's state (Prefect's SQLite database, its log and `server.json`, which names the
process and its URL) lives in `prefect/` beside the warehouse: `data/prefect/` by default. A
SQLite catalog lives in a directory of its own, with its data files (`data/lake/`), so the
state goes beside that directory (the default lake and the demo's share `data/prefect/`); a
PostgreSQL catalog's goes to `data/prefect/`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
START_TIMEOUT = 120.0
"""Seconds to wait for a new server to answer: about 10 on 2 cores, more on a busy machine."""


class ServerError(RuntimeError):
    """The background server could not be started or stopped; the message says why."""


@dataclass(frozen=True, slots=True)
class ServerState:
    """What `server.json` records about the server we started."""

    pid: int
    api_url: str
    home: Path
    started_at: float

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")


def state_dir(db: Path | str) -> Path:
    """Where the background server keeps its state for the warehouse `db`: beside the file, or
    beside the directory of a lake's SQLite catalog, or under `data/` for a lake whose catalog
    is a database (without importing DuckDB to say so)."""
    location = str(db)
    if location.startswith("ducklake:"):
        kind, _, target = location.removeprefix("ducklake:").partition(":")
        home = Path(target).parent.parent if kind == "sqlite" and target else Path("data")
        return home / "prefect"
    return Path(location).parent / "prefect"


def api_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    return f"http://{host}:{port}/api"


def healthy(api: str, timeout: float = 1.0) -> bool:
    """Whether a Prefect API answers at `api`. (urllib, not httpx: this runs before every
    run, and importing httpx alone costs more than the request.)"""
    try:
        with urllib.request.urlopen(f"{api.rstrip('/')}/health", timeout=timeout) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def read_state(home: Path) -> ServerState | None:
    """The recorded server, if its process is still alive."""
    try:
        data = json.loads((home / "server.json").read_text(encoding="utf-8"))
        state = ServerState(int(data["pid"]), str(data["api_url"]), home, float(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if _alive(state.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) answers the signal but serves nothing.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def running_api(home: Path) -> str | None:
    """The API a run should use without `PREFECT_API_URL`: ours, else one on the default
    address; None when neither answers."""
    state = read_state(home)
    if state is not None and healthy(state.api_url):
        return state.api_url
    default = api_url()
    if (state is None or state.api_url != default) and healthy(default):
        return default
    return None


def start(home: Path, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> ServerState:
    """Start `prefect server start` detached from this process (it outlives the command),
    with its state under `home`; return once its API answers."""
    api = api_url(host, port)
    state = read_state(home)
    if state is not None:
        if healthy(state.api_url, timeout=5):
            return state
        raise ServerError(
            f"the server started earlier (pid {state.pid}) does not answer at {state.api_url}; "
            f"see {home / 'server.log'}, or `newsdesk server stop` it"
        )
    if healthy(api):
        raise ServerError(
            f"another Prefect server already answers at {api}: runs use it as it is "
            "(or give --port for one of newsdesk's own)"
        )
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_HOME": str(home.resolve()),
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    }
    env.pop("PREFECT_API_URL", None)
    prefect = Path(sys.executable).with_name("prefect")
    with (home / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [str(prefect), "server", "start"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: not ended by the terminal's ^C
            cwd=home,
        )
    state = ServerState(process.pid, api, home, time.time())
    (home / "server.json").write_text(
        json.dumps({"pid": state.pid, "api_url": api, "started_at": state.started_at}) + "\n",
        encoding="utf-8",
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy(api):
        if process.poll() is not None or time.monotonic() > deadline:
            _end(process.pid)
            (home / "server.json").unlink(missing_ok=True)
            tail = _tail(home / "server.log")
            raise ServerError(f"the Prefect server did not start at {api}:\n{tail}")
        time.sleep(0.25)
    return state


def stop(home: Path, grace: float = 20.0) -> ServerState | None:
    """End the server we started (its whole process group); None when none was running."""
    state = read_state(home)
    if state is None:
        # A record left by a server that died on its own names nothing to stop.
        (home / "server.json").unlink(missing_ok=True)
        return None
    _end(state.pid, grace)
    (home / "server.json").unlink(missing_ok=True)
    return state


def _end(pid: int, grace: float = 20.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
