"""Claims: the unique keys a lake cannot keep, kept in its catalog database instead.

DuckLake enforces no PRIMARY KEY or UNIQUE, and two appends never conflict, so two runs that
store the same new article at once would both store it. Before its lake commit a run claims the
keys of the articles and sightings it is about to add, in a table of the catalog database that
has a real primary key (`INSERT … ON CONFLICT DO NOTHING`); it adds only what it holds, and
marks its claims stored after the commit. What another run holds, that run stores.

The claim and the lake commit are two transactions (one DuckDB transaction cannot write two
databases), so a run can die between them. Its claims stay unsettled, and the next run to open
the lake settles them (`settle_stale`): a claim whose row reached the lake is marked stored, one
whose row did not is released, so the article is fetched again rather than lost. A claim is
stale when its holder is a process of this machine that no longer runs, or, for a holder on
another machine, when it is older than the lease.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

TABLE = "newsdesk_claims"
ARTICLE = "article"
"""Kind of claim on an `articles.article_id`."""
SIGHTING = "sighting"
"""Kind of claim on a `feed_entries` (feed_name, entry_url): `sighting_key` spells it."""


SCHEMA = "schema"
"""Kind of the one claim a process holds while it migrates the lake."""


SEPARATOR = "\x1f"
"""Between a sighting key's feed name and URL: a control character neither holds, and one
PostgreSQL text takes (NUL it refuses)."""


def sighting_key(feed_name: str, entry_url: str) -> str:
    return f"{feed_name}{SEPARATOR}{entry_url}"


@dataclass(frozen=True)
class Claim:
    kind: str
    key: str
    run_id: str
    holder: str
    claimed_at: float


def holder() -> str:
    """This process, as a claim records it: host, pid and the process's start time (a pid
    reused by a later process is another holder)."""
    return f"{socket.gethostname()}/{os.getpid()}/{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:
            # The command name (field 2) may hold spaces; the fields after it do not.
            return file.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def is_stale(claim: Claim, now: float, lease_seconds: float) -> bool:
    """A claim no live run will settle: its holder, on this machine, is gone, or the lease is
    over."""
    host, _, rest = claim.holder.partition("/")
    pid, _, started = rest.partition("/")
    if host == socket.gethostname() and pid.isdigit():
        alive = _start_time(int(pid)) == started and (started != "" or _pid_exists(int(pid)))
        if not alive:
            return True
    return now - claim.claimed_at > lease_seconds


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ClaimStore(Protocol):
    def claim(self, kind: str, keys: Sequence[str], run_id: str) -> set[str]:
        """Claim `keys` for `run_id`; return the ones it holds (claimed now or before)."""
        ...

    def mark_stored(self, run_id: str) -> None:
        """The run's lake commit is done: its claims are settled."""
        ...

    def unsettled(self) -> list[Claim]:
        """Claims not yet marked stored."""
        ...

    def settle(
        self, stored: Iterable[tuple[str, str]], released: Iterable[tuple[str, str]]
    ) -> None:
        """Mark (kind, key) claims stored, and delete released ones."""
        ...


_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    holder     TEXT NOT NULL,
    claimed_at DOUBLE PRECISION NOT NULL,
    stored     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (kind, key)
)
"""
# What mark_stored and unsettled look for: only unsettled claims, a handful at any time.
_INDEX = f"CREATE INDEX IF NOT EXISTS {TABLE}_unsettled ON {TABLE} (run_id) WHERE NOT stored"


_REQUESTS = f"""
CREATE UNLOGGED TABLE IF NOT EXISTS {TABLE}_requests (
    request TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, run_id TEXT NOT NULL,
    holder TEXT NOT NULL, claimed_at float8 NOT NULL
)
"""


_DDL_LOCK = 0x6E657773  # "news": the advisory lock key of the claims tables' creation


class SqliteClaims:
    """Claims in the SQLite catalog file, through Python's sqlite3 (DuckDB's SQLite scanner
    has no ON CONFLICT)."""

    def __init__(self, path: Path, busy_seconds: float = 30.0) -> None:
        self.path = path
        self.busy_seconds = busy_seconds
        with self._transaction() as db:
            db.execute(_DDL)
            db.execute(_INDEX)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=self.busy_seconds, isolation_level=None)
        try:
            # IMMEDIATE takes the write lock up front, so the busy timeout covers the wait
            # rather than a deadlock between two readers upgrading.
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.close()

    def claim(self, kind: str, keys: Sequence[str], run_id: str) -> set[str]:
        if not keys:
            return set()
        me, now = holder(), time.time()
        with self._transaction() as db:
            db.executemany(
                f"INSERT INTO {TABLE} (kind, key, run_id, holder, claimed_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(kind, key, run_id, me, now) for key in keys],
            )
            mine = db.execute(
                f"SELECT key FROM {TABLE} WHERE kind = ? AND run_id = ? AND NOT stored",
                [kind, run_id],
            ).fetchall()
        wanted = set(keys)
        return {key for (key,) in mine if key in wanted}

    def mark_stored(self, run_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                f"UPDATE {TABLE} SET stored = TRUE WHERE run_id = ? AND NOT stored", [run_id]
            )

    def unsettled(self) -> list[Claim]:
        db = sqlite3.connect(self.path, timeout=self.busy_seconds)
        try:
            rows = db.execute(
                f"SELECT kind, key, run_id, holder, claimed_at FROM {TABLE} WHERE NOT stored"
            ).fetchall()
        finally:
            db.close()
        return [Claim(*row) for row in rows]

    def settle(
        self, stored: Iterable[tuple[str, str]], released: Iterable[tuple[str, str]]
    ) -> None:
        with self._transaction() as db:
            db.executemany(
                f"UPDATE {TABLE} SET stored = TRUE WHERE kind = ? AND key = ?", list(stored)
            )
            db.executemany(
                f"DELETE FROM {TABLE} WHERE kind = ? AND key = ? AND NOT stored", list(released)
            )


class PostgresClaims:
    """Claims in the PostgreSQL catalog database, through DuckDB's postgres extension on the
    lake's own connection, attached as `alias`; each statement commits on its own."""

    def __init__(self, con: duckdb.DuckDBPyConnection, alias: str) -> None:
        self.con = con
        self.alias = alias
        # The alias is ours, not data; postgres_execute takes SQL text only. CREATE ... IF NOT
        # EXISTS is not safe in PostgreSQL when two sessions run it at once (the loser fails on
        # `pg_type_typname_nsp_index`), so the tables are made in one transaction that holds an
        # advisory lock until it commits: workers starting together take turns, for a moment.
        ddl = ";\n".join((_DDL.replace("DOUBLE PRECISION", "float8"), _INDEX, _REQUESTS))
        con.execute(
            f"CALL postgres_execute('{alias}', ?)",
            [f"DO $ddl$ BEGIN PERFORM pg_advisory_xact_lock({_DDL_LOCK}); {ddl}; END $ddl$"],
        )
        # The table was created behind the attached catalog's back.
        con.execute("CALL pg_clear_cache()")

    @property
    def _table(self) -> str:
        return f"{self.alias}.public.{TABLE}"

    def claim(self, kind: str, keys: Sequence[str], run_id: str) -> set[str]:
        if not keys:
            return set()
        me, now = holder(), time.time()
        wanted = pa.table(
            {
                "kind": [kind] * len(keys),
                "key": list(keys),
                "run_id": [run_id] * len(keys),
                "holder": [me] * len(keys),
                "claimed_at": [now] * len(keys),
            }
        )
        # DuckDB sends rows to PostgreSQL with COPY, which knows no ON CONFLICT: the keys go to
        # a request table first, and PostgreSQL itself inserts them where the primary key
        # decides which of two racing runs holds a key.
        request = uuid.uuid4().hex
        self.con.register("claim_keys", wanted)
        try:
            self.con.execute(
                f"INSERT INTO {self.alias}.public.{TABLE}_requests "
                "SELECT ?, kind, key, run_id, holder, claimed_at FROM claim_keys",
                [request],
            )
        finally:
            self.con.unregister("claim_keys")
        # The request id is a hex string of ours, not data: postgres_execute takes no parameters.
        self.con.execute(
            f"CALL postgres_execute('{self.alias}', ?)",
            [
                f"INSERT INTO {TABLE} (kind, key, run_id, holder, claimed_at, stored) "
                f"SELECT kind, key, run_id, holder, claimed_at, FALSE FROM {TABLE}_requests "
                f"WHERE request = '{request}' ON CONFLICT DO NOTHING; "
                f"DELETE FROM {TABLE}_requests WHERE request = '{request}'"
            ],
        )
        mine = self.con.execute(
            f"SELECT key FROM {self._table} WHERE run_id = ? AND kind = ? AND NOT stored",
            [run_id, kind],
        ).fetchall()
        asked = set(keys)
        return {key for (key,) in mine if key in asked}

    def mark_stored(self, run_id: str) -> None:
        self.con.execute(
            f"UPDATE {self._table} SET stored = TRUE WHERE run_id = ? AND NOT stored", [run_id]
        )

    def unsettled(self) -> list[Claim]:
        rows = self.con.execute(
            f"SELECT kind, key, run_id, holder, claimed_at FROM {self._table} WHERE NOT stored"
        ).fetchall()
        return [Claim(*row) for row in rows]

    def settle(
        self, stored: Iterable[tuple[str, str]], released: Iterable[tuple[str, str]]
    ) -> None:
        for kind, key in stored:
            self.con.execute(
                f"UPDATE {self._table} SET stored = TRUE WHERE kind = ? AND key = ?", [kind, key]
            )
        for kind, key in released:
            self.con.execute(
                f"DELETE FROM {self._table} WHERE kind = ? AND key = ? AND NOT stored",
                [kind, key],
            )
