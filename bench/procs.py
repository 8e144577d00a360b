"""Peak memory of a process and all its descendants, sampled from /proc (Linux)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and every process below it (shared pages counted in each)."""
    children = _children()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        total += rss_bytes(pid)
    return total


def rss_bytes(pid: int) -> int:
    """Resident memory of one process; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


@dataclass
class Measured:
    seconds: float
    returncode: int
    peak_rss_bytes: int
    output: str
    peak_main_rss_bytes: int = 0
    """The command's own process, without the ones below it."""


def run_measured(args: list[str], env: dict[str, str], interval: float = 0.05) -> Measured:
    """Run a command to completion; its wall time, exit code, combined output and the peak of
    the summed RSS of its process tree, sampled every `interval` seconds."""
    peak = main = 0
    started = time.perf_counter()
    process = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, main
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            main = max(main, rss_bytes(process.pid))
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return Measured(seconds, process.returncode, peak, output, main)
