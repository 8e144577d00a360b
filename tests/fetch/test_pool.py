"""The extraction pool under a Ctrl-C: a terminal sends it to the whole process group, the
pool's fork server and workers included, and the run alone decides what stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, signal, sys
    from tasks.fetch.pool import WorkerPool

    async def main():
        with WorkerPool(2, timeout=60, preload=("tasks.page.worker_preload",)) as pool:
            first = asyncio.create_task(pool.run(max, 1, 3))
            print("submitted", flush=True)
            await asyncio.sleep(3)  # the Ctrl-C comes meanwhile
            print("first", await first, flush=True)
            print("next", await pool.run(max, 2, 5), flush=True)

    if __name__ == "__main__":
        signal.signal(signal.SIGINT, lambda *_: print("run saw the Ctrl-C", flush=True))
        asyncio.run(main())
    """
)


def test_a_ctrl_c_while_the_workers_start_neither_kills_nor_clutters_the_pool(tmp_path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "submitted"
    # The fork server is importing trafilatura and the language model (a second or more).
    time.sleep(0.2)
    os.killpg(child.pid, signal.SIGINT)
    out, err = child.communicate(timeout=120)

    assert child.returncode == 0, err
    assert out.split("\n")[:3] == ["run saw the Ctrl-C", "first 3", "next 5"]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
