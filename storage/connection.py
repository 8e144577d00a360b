"""Opening the warehouse: DuckDB's file lock waited for, pending migrations applied.

DuckDB lets one process write a file or several read it. A writer that finds the file taken
waits up to `lock_wait_seconds`, then raises `WarehouseLocked`, which callers turn into a spooled
batch (`storage.writer`) rather than a lost run.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from storage.migrations import MIGRATIONS


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written; the message says why and where."""


class WarehouseLocked(WarehouseError):
    """Another process held the warehouse's lock for longer than we were willing to wait."""


LOCK_MARKERS = ("Could not set lock", "Conflicting lock")


@contextmanager
def connect(
    path: Path | str, *, read_only: bool = False, lock_wait_seconds: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, creating it and applying pending migrations when writable.

    Another process holding the file's lock is waited for, up to `lock_wait_seconds`.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no warehouse here yet (run `newsdesk ingest` first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait_seconds
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not any(m in str(exc) for m in LOCK_MARKERS):
                raise WarehouseError(f"{path}: cannot open warehouse: {exc}") from None
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"{path}: another process holds the warehouse lock "
                    f"(waited {lock_wait_seconds:.0f} s): {exc}"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    try:
        # A long statement (a migration on a big warehouse) would draw DuckDB's progress bar
        # over our own output.
        con.execute("SET enable_progress_bar = false")
        # A table or view that is not there is an error, never a Python variable of that name
        # in the calling code (DuckDB's replacement scans); our tables are registered by name.
        con.execute("SET python_enable_replacements = false")
        if not read_only:
            migrate(con)
        yield con
    finally:
        # Closing a writer checkpoints: the write-ahead log is folded into the file. Since
        # migration 4 that costs about the same in a big warehouse as in an empty one, so it
        # stays. Skipping it (`disable_checkpoint_on_shutdown`) would make every later open,
        # read-only ones too, replay the log (about 7 ms more per 1,000-article batch held in
        # it at 1M articles), and the checkpoint would still come, in whichever run's commit
        # crosses the log size threshold.
        con.close()


def migrate(
    con: duckdb.DuckDBPyConnection, translate: Callable[[str], str] = lambda sql: sql
) -> list[int]:
    """Apply migrations not yet recorded in `schema_migrations`; return the versions applied.

    `translate` rewrites each statement for another backend (`storage.lake.lake_sql`): the
    migrations are written once, for the file.
    """
    con.execute(
        translate(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER PRIMARY KEY,
                name       VARCHAR NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL
            )
            """
        )
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for migration in sorted(MIGRATIONS):
        if migration.version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(translate(migration.sql))
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [migration.version, migration.name, datetime.now(UTC)],
            )
            con.execute("COMMIT")
        except BaseException:
            # A COMMIT that failed (a lake's lost race) has already ended the transaction.
            with contextlib.suppress(duckdb.TransactionException):
                con.execute("ROLLBACK")
            raise
        done.append(migration.version)
    return done


def sql_literal(text: str | Path) -> str:
    """A SQL string literal, for the statements that take no bound parameter (ATTACH, COPY …
    TO) and only ever for the operator's paths, never for data."""
    return "'" + str(text).replace("'", "''") + "'"
