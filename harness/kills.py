"""Killing a process and its group the way a power cut or the OOM killer would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def start_in_session(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`args` in a session (and process group) of its own, its output in `log`, so that
    `kill_group` reaches whatever it starts."""
    return subprocess.Popen(
        args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process and its group (it was started with `start_new_session`), and wait
    until nothing of the group is left (extraction workers, the fork server)."""
    with contextlib.suppress(ProcessLookupError):  # the run may have ended already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = group_alive(proc.pid)
    assert not left, f"process group {proc.pid} outlived SIGKILL: {left}"


def group_alive(pgid: int) -> list[str]:
    """The command lines of the processes of group `pgid` still running (zombies aside)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) != pgid or fields[0] == "Z":
                    continue
                alive.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue  # it ended while we looked
    return alive
