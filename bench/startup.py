"""What `newsdesk ingest` costs before it does anything: the fixed cost of a run.

    .venv/bin/python -m bench.startup [REPEATS]

Measured in one run, each figure the median of REPEATS (3) wall times of a fresh process
after one untimed warm-up each (the disk cache then holds the code, as on a machine in use).
The three repeated measures are taken in rounds (floor, ephemeral, server; again), so a
machine whose load changes weighs on all of them alike:

* import floor: `python -c "import flows.ingest"` in a fresh interpreter, the least a run in
  a new process can cost;
* empty run, ephemeral API: `newsdesk ingest` over a feeds file with `feeds = []`, with
  `NEWSDESK_PREFECT_SERVER=ephemeral`, so Prefect starts its temporary API for the run, as
  every run did before the background server (the "before" figure);
* background server start: `newsdesk server start` on a free port (what the first run pays
  once when no server is running);
* empty run, background server: the same empty run using that server, as every later run.

Nothing here touches the default address 127.0.0.1:4200 or `~/.prefect`: the server gets a free
port and every process a temporary `PREFECT_HOME`; the server is stopped at the end. Prints a
table and the ratios to the import floor (the target: at most 2.5× with a running server).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.cli import BIN, clean_env
from harness.httpserver import free_port
from harness.sites import write_feeds_file


def _timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def run(repeats: int = 3) -> dict[str, float]:
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        feeds = write_feeds_file(work / "feeds.toml", {})
        env = clean_env(
            PREFECT_HOME=str(work / "prefect-home"), NEWSDESK_DB=str(work / "news.duckdb")
        )
        ingest = [str(BIN / "newsdesk"), "ingest", "--feeds", str(feeds)]
        commands = {
            "import_floor_s": ([sys.executable, "-c", "import flows.ingest"], env),
            "empty_ephemeral_s": (ingest, env | {"NEWSDESK_PREFECT_SERVER": "ephemeral"}),
            # The background server is found through its state beside the warehouse.
            "empty_server_s": (ingest, env),
        }
        server = [str(BIN / "newsdesk"), "server"]
        port = str(free_port())
        results = {"server_start_s": _timed([*server, "start", "--port", port], env, root)}
        try:
            for args, command_env in commands.values():
                _timed(args, command_env, root)  # warm-up
            # Round by round, so a machine whose load changes weighs on every figure alike.
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(repeats):
                for name, (args, command_env) in commands.items():
                    samples[name].append(_timed(args, command_env, root))
        finally:
            subprocess.run([*server, "stop"], env=env, cwd=root, check=False)
        results |= {name: statistics.median(values) for name, values in samples.items()}
    floor = results["import_floor_s"]
    results["ephemeral_ratio"] = results["empty_ephemeral_s"] / floor
    results["server_ratio"] = results["empty_server_s"] / floor
    return results


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    r = run(repeats)
    floor = r["import_floor_s"]
    rows = [
        ("import floor (`import flows.ingest`)", r["import_floor_s"], "1.00×"),
        (
            "empty run, ephemeral API (before)",
            r["empty_ephemeral_s"],
            f"{r['ephemeral_ratio']:.2f}×",
        ),
        ("background server start (once)", r["server_start_s"], ""),
        ("empty run, background server", r["empty_server_s"], f"{r['server_ratio']:.2f}×"),
    ]
    print(f"{'measure (median of ' + str(repeats) + ')':44} {'seconds':>8} {'/ floor':>8}")
    for name, seconds, ratio in rows:
        print(f"{name:44} {seconds:8.2f} {ratio:>8}")
    verdict = "met" if r["server_ratio"] <= 2.5 else "NOT met"
    print(f"target: empty run ≤ 2.5× the import floor ({2.5 * floor:.2f} s): {verdict}")


if __name__ == "__main__":
    main()
