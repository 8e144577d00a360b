"""Killing a process and its group the way a power cut or the OOM killer would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process and its group (it was started with `start_new_session`), and wait
    until nothing of the group is left (extraction workers, the fork server)."""
    with contextlib.suppress(ProcessLookupError):  # the run may have ended already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group_alive(proc.pid)


def group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False
