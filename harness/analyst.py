"""Another process with a DuckDB file open, as an analyst's `duckdb` session holds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType


class AnalystSession:
    """A process that opens `db` (read-only, or read-write) and keeps it open until `close()`;
    it is holding the file once the constructor returns. Use it as a context manager, or close
    it yourself."""

    def __init__(self, db: Path, *, read_only: bool = True) -> None:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import duckdb, sys; c = duckdb.connect({str(db)!r}, read_only={read_only}); "
                "print('ok', flush=True); sys.stdin.read()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        assert self._process.stdout.readline().strip() == "ok", f"{db} could not be opened"

    def close(self) -> None:
        """Let go of the file: the process ends."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)

    def __enter__(self) -> AnalystSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
