"""Running the real `newsdesk` command from tests and benchmarks, as a user or a scheduler would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

BIN = Path(sys.executable).parent
"""The virtual environment's scripts: `newsdesk`, `prefect`, `python`."""
NEWSDESK = str(BIN / "newsdesk")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without its PREFECT_* and NEWSDESK_* settings (a server or a
    run started from here must not reach the caller's Prefect API or warehouse), with Prefect's
    telemetry off, then `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSDESK_"))}
    env.update(
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY="false",
    )
    env.update(extra)
    return env


def newsdesk(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`newsdesk ARGS` run to its end in this environment plus `env`, in a terminal 200 columns
    wide: its exit code and output."""
    return subprocess.run(
        [NEWSDESK, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def start_ingest(
    feeds_file: Path, db: str | Path, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """`newsdesk ingest` started in this environment plus `env`, its stderr kept, in a process
    group of its own: a kill of the group (`harness.kills`) takes its workers too."""
    return subprocess.Popen(
        [NEWSDESK, "ingest", "--feeds", str(feeds_file), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        start_new_session=True,
    )
