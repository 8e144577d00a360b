"""No regular expression of ours backtracks for ever on text a feed or a page can carry.

A regex search runs in C and holds the interpreter: no pytest timeout, Prefect timeout or
Ctrl-C reaches it, so one pathological byline or sitemap prolog would stall a whole run. Two
patterns did (`sitemap._ROOT` on many processing instructions, `text._INITIALS` on a long
spaced-initials byline); fuzzing found the first, this probe the second.

Every compiled pattern at module level in `tasks/`, `storage/`, `flows/` and `newsdesk/` is
run against pumped inputs (its own literal characters and common markup, repeated 40 times,
then a character that makes the match fail) in one child process that reports each pattern as
it starts, so a hang names its pattern. Exponential backtracking at 40 repetitions takes
hours; linear and low-polynomial patterns take milliseconds.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
PER_PATTERN_SECONDS = 60
"""Generous for a loaded machine: the slowest healthy pattern took 5 s here under load."""

PROBE = textwrap.dedent(
    """
    import importlib, itertools, pkgutil, re, sys

    modules = []
    for package in ("tasks", "storage", "flows", "newsdesk"):
        root = importlib.import_module(package)
        modules.append(root)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            modules.append(importlib.import_module(info.name))
    patterns, seen = {}, set()
    for m in modules:
        for name, value in vars(m).items():
            if isinstance(value, re.Pattern) and id(value) not in seen:
                seen.add(id(value))
                patterns[f"{m.__name__}.{name}"] = value
    print("count", len(patterns), flush=True)
    for key, pattern in patterns.items():
        print("start", key, flush=True)
        source = pattern.pattern
        if isinstance(source, bytes):
            source = source.decode("latin1")
        chars = sorted(
            ({c for c in source if c.isprintable()} | set("Aa1 .-_<>?!/:;&#@,'\\"\\n\\t"))
            - set("\\\\()[]{}|*+^$")
        )
        pumps = chars + ["".join(p) for p in itertools.product(chars, repeat=2)]
        pumps += ["".join(p) for p in itertools.product("A. -<?>!", repeat=3)]
        for pump in pumps:
            for prefix in ("", "<", "A", "<?", "<!--", "by "):
                for suffix in ("", "!", "\\x00", "1", "<x>"):
                    text = prefix + pump * 40 + suffix
                    if isinstance(pattern.pattern, bytes):
                        text = text.encode("latin1", "replace")
                    pattern.search(text)
                    pattern.match(text)
                    pattern.fullmatch(text)
    print("done", flush=True)
    """
)


def test_no_pattern_backtracks_for_ever_on_pumped_input() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    current, started, seen = None, time.monotonic(), 0
    try:
        selector = selectors.DefaultSelector()
        selector.register(child.stdout, selectors.EVENT_READ)
        while True:
            if not selector.select(timeout=1):
                assert time.monotonic() - started < PER_PATTERN_SECONDS, (
                    f"{current} still matching after {PER_PATTERN_SECONDS} s: "
                    "it backtracks exponentially on repeated input"
                )
                continue
            line = child.stdout.readline()
            if not line:
                break
            word, _, rest = line.strip().partition(" ")
            if word == "count":
                assert int(rest) > 50  # the probe found the patterns it is meant to try
            elif word == "start":
                current, started, seen = rest, time.monotonic(), seen + 1
            elif word == "done":
                current = None
    finally:
        child.kill()
        child.wait()
    assert child.returncode in (0, -9), child.stderr.read() if child.stderr else ""
    assert current is None and seen > 50, child.stderr.read() if child.stderr else ""
