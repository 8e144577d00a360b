"""Workers that a page or a feed body cannot stall or break (a run parses its feeds in one pool
and extracts its pages in another): a time limit per task, and a dead worker costs only the
task it was running.

`concurrent.futures.ProcessPoolExecutor` has neither: a task runs as long as it likes, and one
worker killed by a segfault or the OOM killer breaks the whole pool (`BrokenProcessPool`).
pebble's `ProcessPool` has both, but its workers share one pipe behind a cross-process lock:
a worker killed while it holds that lock (reading its task, writing its result) stalls every
other worker, and in our trials a worker SIGKILLed about once a second hung it in one run of
two. Here each worker has a pipe of its own and runs one task at a time, so killing one, on
purpose or not, touches nothing the others use.

Workers are forked from the forkserver, which preloads trafilatura and the language model once
for all of them (it halves a worker's start-up), so replacing one costs tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class WorkerLost(Exception):
    """The worker running a task was stopped (past the time limit) or died; the task has no
    result. The message says which, in words fit for `extraction_error`."""


class _Worker:
    """One process and our end of its pipe."""

    def __init__(self, context: Any, doing: str) -> None:
        self.doing = doing
        ours, theirs = context.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(
            target=_serve, args=(theirs,), name="newsdesk-extract", daemon=True
        )
        # The fork server and its workers ignore SIGINT (`tasks.fetch.forkserver_guard`): a
        # Ctrl-C reaches the whole process group, and the parent decides what to stop.
        self.process.start()
        theirs.close()  # only the worker holds its end: its death reads as end-of-file here
        self.conn: Connection = ours

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        """Ask an idle worker to leave (end-of-file on its pipe), then make sure it did."""
        self.conn.close()
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.kill()

    def died(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"{self.doing} worker died ({signal.Signals(-code).name})"
        return f"{self.doing} worker died (exit code {code})"


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """How many workers a run starts, and how long one page or feed body may take."""

    workers: int
    timeout: float | None = None
    """Seconds; a page past it is stored from its feed's text. None: no limit."""
    parse_timeout: float | None = None
    """Seconds; a feed body past it fails its poll. None: no limit."""


class WorkerPool:
    """`workers` processes running one task at a time each; a task that runs longer than
    `timeout` seconds has its worker killed and replaced, and raises `WorkerLost`.

    `preload` names modules the forkserver imports once for every worker (the fork server is
    one per process: every pool of a process should name the same). `doing` names the work in
    `WorkerLost`'s messages.
    Use as a context manager around the `asyncio.run` that calls `run`; leaving it stops every
    worker at once, busy or not, so an interrupted run ends without waiting for its pages.
    """

    def __init__(
        self,
        workers: int,
        timeout: float | None = None,
        preload: Sequence[str] = (),
        doing: str = "extraction",
    ) -> None:
        self.timeout = timeout
        self.doing = doing
        # forkserver keeps workers clear of the threads Prefect runs in this process (fork
        # could copy a held lock).
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["tasks.fetch.forkserver_guard", *preload])
        self._size = workers
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._free: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker: idle ones are asked to leave, busy ones are killed."""
        for worker in self._busy:
            worker.kill()
        for worker in self._idle:
            worker.stop()
        self._busy.clear()
        self._idle.clear()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in a worker; its exceptions are raised here. `function` and the
        arguments must pickle (a top-level function, dataclasses)."""
        loop = asyncio.get_running_loop()
        if self._free is None or self._loop is not loop:  # one per event loop that uses the pool
            self._free, self._loop = asyncio.Semaphore(self._size), loop
        async with self._free:
            while self._idle and not self._idle[-1].process.is_alive():
                self._idle.pop().kill()  # died idle (the OOM killer): no page is its loss
            if self._idle:
                worker = self._idle.pop()
            else:
                # Workers start on first use, off the loop: the first start waits for the fork
                # server's preload, and downloads go on meanwhile.
                worker = await loop.run_in_executor(None, _Worker, self._context, self.doing)
            self._busy.add(worker)
            try:
                status, value = await self._call(worker, function, args)
            except BaseException:
                # Lost, timed out or cancelled (an interrupted run): the worker may still be
                # at the task, and a late result on its pipe would answer the next one.
                self._busy.discard(worker)
                worker.kill()
                raise
            self._busy.discard(worker)
            self._idle.append(worker)
        if status == "error":
            raise value
        return value  # type: ignore[no-any-return]

    async def _call(
        self, worker: _Worker, function: Callable[..., Any], args: tuple[Any, ...]
    ) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        try:
            # Off the loop: a 10 MiB page takes a moment to pickle and write.
            await loop.run_in_executor(None, worker.conn.send, (function, args))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise WorkerLost(worker.died()) from None
        answered = loop.create_future()

        def readable() -> None:
            if not answered.done():
                answered.set_result(None)

        # The pipe becomes readable with the answer, or with end-of-file when the worker dies.
        loop.add_reader(worker.conn.fileno(), readable)
        try:
            await asyncio.wait_for(answered, self.timeout)
        except TimeoutError:
            raise WorkerLost(f"{self.doing} took longer than {self.timeout:g} s") from None
        finally:
            loop.remove_reader(worker.conn.fileno())
        try:
            answer: tuple[str, Any] = worker.conn.recv()
        except (EOFError, ConnectionResetError):
            raise WorkerLost(worker.died()) from None
        return answer


def _serve(conn: Connection) -> None:
    """A worker's life: run tasks from the pipe until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as the fork server does; the parent stops us
    while True:
        try:
            function, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", function(*args))
        except Exception as exc:
            answer = ("error", exc)
        try:
            conn.send(answer)
        except OSError:
            return
        except Exception as exc:  # a result or exception that does not pickle; nothing was sent
            conn.send(("error", RuntimeError(f"unpicklable answer: {exc!r}")))
