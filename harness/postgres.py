"""A PostgreSQL server on a free loopback port: a lake's catalog or the Prefect server's database.

Debian's package, for the tests and the benchmarks (`tests/lakes.py` wraps it in a session
fixture)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed here."""


class PostgresServer:
    """Started in `root` (which must be readable by the postgres user when we run as root);
    `stop()` ends it."""

    def __init__(self, root: Path) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise PostgresUnavailable(
                "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)"
            )
        self.bin = Path(binaries[-1]).parent
        self.root = root
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.data = root / "data"
        root.mkdir(parents=True, exist_ok=True)
        # initdb refuses root; the server's files belong to the postgres user.
        self._run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._run_as:
            shutil.chown(root, "postgres")
        # English messages: DuckLake recognises retryable conflicts by their text.
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--locale=C")
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(root / "server.log"),
            "-o",
            f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200",
            "-w",
            "start",
        )

    def _pg(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self._run_as, str(self.bin / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def dsn(self, dbname: str) -> str:
        return f"dbname={dbname} host=127.0.0.1 port={self.port} user=postgres"

    def url(self, dbname: str, driver: str = "postgresql+asyncpg") -> str:
        """An SQLAlchemy URL, as `PREFECT_API_DATABASE_CONNECTION_URL` takes it."""
        return f"{driver}://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        subprocess.run(
            [
                str(self.bin / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=True,
        )
        return self.dsn(name)

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
