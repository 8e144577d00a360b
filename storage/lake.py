"""The warehouse as a DuckLake: a catalog database (SQLite on one machine, PostgreSQL for many)
and Parquet data files, which any number of processes read and write at once.

`Warehouse("ducklake:sqlite:data/lake/catalog.sqlite")` (or `ducklake:postgres:dbname=news
host=…`) opens one; the tables, columns and migrations are the file's, translated in one place
(`lake_sql`) for what DuckLake lacks:

- no PRIMARY KEY, UNIQUE or ON CONFLICT: writers take turns at committing (`commit_lock`),
  and each commit looks before it inserts, as the file's single writer does;
- updating rows of a table conflicts with any concurrent write to it, so feed states, which
  every run rewrites, are appended, one row per poll, to `feed_polls`, and `feeds` is a view
  of each feed's latest poll.

A run's write is one lake transaction, made by the file's writer (`storage.writer`) while the
run holds the lake's commit lock: fetching and extracting stay parallel, only commits wait,
for one another. A commit that still loses a race (to maintenance, or SQLite's `database is
locked`) is redone from a fresh snapshot. Readers take no lock.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, ClassVar, Literal, TypeVar

import duckdb
import pyarrow as pa

from storage import export, reads, search, writer
from storage.connection import WarehouseError, migrate, sql_literal
from storage.extensions import load_extension
from storage.migrations import MIGRATIONS
from storage.schemas import stage_batch, writable
from storage.warehouse import Compaction, Warehouse, update_search
from tasks.models import (
    Batch,
    BatchResult,
    FeedState,
    FeedStatus,
    RunRecord,
    WriteOutcome,
)

T = TypeVar("T")

PREFIX = "ducklake:"
ALIAS = "lake"
METADATA = f"__ducklake_metadata_{ALIAS}"
CATALOG_ALIAS = "lake_catalog"
MAX_RETRY_COUNT = 100
"""DuckLake's own retries of a commit that raced another without conflicting (default 10)."""
RETRYABLE = (
    "Transaction conflict",
    "database is locked",
    "could not serialize",
    "deadlock",
    # A connection attached before maintenance flushed the inlined rows reads tables that are
    # gone (duckdb/ducklake#1305); a fresh attach reads the flushed files.
    "ducklake_inlined_data",
)
"""What a commit that lost a race says; redone from a fresh snapshot. DuckLake itself decides
by message text (duckdb/ducklake#1311), which is why catalogs are made with English messages."""


def is_lake(location: str | Path) -> bool:
    return str(location).startswith(PREFIX)


@dataclass(frozen=True)
class LakeSpec:
    """Where a lake is: its catalog as DuckDB's ATTACH spells it, and its data files."""

    url: str
    catalog: Literal["sqlite", "postgres"]
    target: str
    data_path: str | None

    @classmethod
    def parse(cls, url: str, data_path: str | None = None) -> LakeSpec:
        rest = url[len(PREFIX) :]
        kind, _, target = rest.partition(":")
        if kind not in ("sqlite", "postgres") or not target:
            raise WarehouseError(
                f"{url}: a lake is spelled ducklake:sqlite:PATH or ducklake:postgres:DSN"
            )
        if kind == "sqlite" and data_path is None:
            # Beside the catalog, as DuckDB's CLI users would look for it.
            data_path = str(Path(target).parent / "data") + "/"
        return cls(url, kind, target, data_path)  # type: ignore[arg-type]

    @property
    def catalog_path(self) -> Path | None:
        return Path(self.target) if self.catalog == "sqlite" else None


def lake_sql(sql: str) -> str:
    """A migration's statements as a lake takes them: keys dropped (the commit lock keeps
    them), and the feeds table kept as appended polls behind a `feeds` view.

    DuckLake refuses `SET NOT NULL` on a table without statistics, which every table of a new
    lake is, and takes no constraint in `ADD COLUMN`: the lookup keys (migration 7) stay
    nullable there. The writer computes each key in the INSERT that stores its row.
    """
    sql = re.sub(r"ALTER TABLE \w+ ALTER COLUMN \w+ SET NOT NULL;", "", sql)
    sql = re.sub(r",\s*PRIMARY KEY\s*\([^)]*\)", "", sql)
    sql = re.sub(r"\s+PRIMARY KEY\b", "", sql)
    sql = re.sub(
        r"\b(CREATE TABLE|ALTER TABLE|UPDATE|INSERT INTO)\s+feeds\b", r"\1 feed_polls", sql
    )
    if re.search(r"\bCREATE TABLE feed_polls\b", sql):
        sql += f";\n{FEEDS_VIEW}"
    return sql


# A view's `*` is bound when it is read, so columns later migrations add to feed_polls appear.
FEEDS_VIEW = """
CREATE VIEW feeds AS SELECT * FROM feed_polls
QUALIFY row_number() OVER (PARTITION BY name ORDER BY last_polled_at DESC NULLS LAST) = 1
"""


class Migrating(Exception):
    """A read that found the lake part-way through its migrations: a run creating or
    migrating it commits one migration at a time, so a reader can see `articles` before the
    views later migrations add. Redone, like a lost race, until the lake is migrated."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, Migrating) or (
        isinstance(exc, duckdb.Error) and any(marker in str(exc) for marker in RETRYABLE)
    )


def _migrations_pending(con: duckdb.DuckDBPyConnection) -> str | None:
    """How far a lake's schema is behind the migrations this version knows, or None."""
    latest = max(m.version for m in MIGRATIONS)
    try:
        row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    except duckdb.CatalogException:
        row = None
    applied = int(row[0]) if row and row[0] is not None else 0
    return None if applied >= latest else f"its schema is at migration {applied} of {latest}"


@contextmanager
def connect_lake(
    spec: LakeSpec,
    *,
    read_only: bool = False,
    inline_rows: int | None = None,
    refuse_writes: bool = True,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the lake attached as its default database (migrated first when
    writable), closed on leaving. A read-only one refuses writes unless `refuse_writes` is
    off: then a process that writes reads through its writable attach.

    It is a cursor of the DuckDB instance this process keeps for the lake in this mode
    (`_Instance`): the extensions are loaded, and the lake attached and migrated, once per
    process rather than on every open. A cursor has its own transactions, temp tables,
    registered objects and settings; databases attached on it are detached on leaving, so each
    use finds the instance as the first one did.
    """
    path = spec.catalog_path
    if path is not None:
        if read_only and not path.exists():
            raise WarehouseError(f"{spec.url}: no lake here yet (run `newsdesk ingest` first)")
        path.parent.mkdir(parents=True, exist_ok=True)
    instance, con = _Instance.open(
        spec, read_only=read_only, inline_rows=inline_rows, refuse_writes=refuse_writes
    )
    try:
        yield con
    except BaseException as exc:
        if _breaks_instance(exc):
            instance.retire()
        raise
    finally:
        instance.release(con)


def _breaks_instance(exc: BaseException) -> bool:
    """Whether `exc` says an instance's attach is of no more use: it read inlined rows that
    another process's maintenance has flushed away since (duckdb/ducklake#1305), or its link
    to the catalog broke. The next open attaches afresh."""
    return isinstance(exc, duckdb.Error) and (
        "ducklake_inlined_data" in str(exc) or _broken_link(exc)
    )


def _broken_link(exc: duckdb.Error) -> bool:
    """Whether `exc` says the instance lost its catalog (or DuckDB gave up on it)."""
    return isinstance(
        exc,
        duckdb.ConnectionException
        | duckdb.FatalException
        | duckdb.InternalException
        | duckdb.IOException,
    )


def _file_identity(path: Path | None) -> tuple[int, int] | None:
    """Which file a SQLite catalog is (device and inode), or None (no file, or PostgreSQL)."""
    if path is None:
        return None
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


_InstanceKey = tuple[int, LakeSpec, bool, int | None]


class _Instance:
    """One DuckDB instance with the extensions loaded and the lake attached, which a process
    makes once per lake and mode (read-only, or writable with its inlining limit) and hands out
    as cursors, one per use.

    Loading the two extensions is most of what opening a lake costs (about 150 ms: DuckDB
    checks the signature of each 35 MB extension file in every new instance); attaching is a
    few milliseconds, a cursor next to nothing. Each cursor has its own transaction and each
    use its own cursor, so threads share the instance. The key holds the process id: a forked
    child makes its own instance and never touches its parent's (nor closes it: the SQLite and
    PostgreSQL handles in it are the parent's). An instance leaves nothing in the catalog or
    on disk, so a process killed while holding one leaves nothing a later open trips on.

    An instance is retired, and the next open makes a new one, when its SQLite catalog file
    was replaced, when a table of inlined rows it may have read is gone (another process's
    maintenance flushed it: an attach made before fails every query on it,
    duckdb/ducklake#1305), or when a use failed in a way that says the attach is broken
    (`_breaks_instance`). A retired instance is closed with its last cursor.
    """

    _all: ClassVar[dict[_InstanceKey, _Instance]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()
    """Held to look up, count and retire instances and to make or close their cursors (the
    root connection is not for threads to share); never while attaching."""
    _making: ClassVar[dict[_InstanceKey, threading.Lock]] = {}
    """One lock per key, held while its instance is made: one attach per process."""

    def __init__(
        self, root: duckdb.DuckDBPyConnection, catalog_file: tuple[int, int] | None
    ) -> None:
        self.root = root
        self.catalog_file = catalog_file
        self.databases = {name for (name,) in root.execute(_DATABASES).fetchall()}
        """What the instance has attached of its own; any other database is a use's."""
        self.inlined: set[str] = set()
        """The tables of inlined rows this instance may have read."""
        self.users = 0
        self.retired = False

    @classmethod
    def open(
        cls, spec: LakeSpec, *, read_only: bool, inline_rows: int | None, refuse_writes: bool
    ) -> tuple[_Instance, duckdb.DuckDBPyConnection]:
        """This process's instance for the lake in this mode, made when there is none still
        good, and a new cursor of it with the lake as default database."""
        key = (os.getpid(), spec, read_only, None if read_only else inline_rows)
        for _ in range(5):
            instance = cls._current(
                key, spec, read_only=read_only, inline_rows=inline_rows, shared=not refuse_writes
            )
            con = instance._cursor()
            try:
                con.execute(f"USE {ALIAS}")
                con.execute("SET enable_progress_bar = false")
                # Kept by each connection of the Python client, not by the instance.
                con.execute("SET python_enable_replacements = false")
                stale = instance._flushed_since(con)
            except duckdb.Error as exc:
                # A catalog connection that died while the instance was idle (a PostgreSQL
                # server restarted) is found here, before the use.
                stale = _broken_link(exc)
                if not stale:
                    instance.release(con)
                    raise
            except BaseException:
                instance.release(con)
                raise
            if not stale:
                return instance, con
            instance.retire()
            instance.release(con)
        raise WarehouseError(f"{spec.url}: every new attach of the lake was found stale")

    @classmethod
    def _current(
        cls,
        key: _InstanceKey,
        spec: LakeSpec,
        *,
        read_only: bool,
        inline_rows: int | None,
        shared: bool,
    ) -> _Instance:
        path = spec.catalog_path
        catalog_file = _file_identity(path)
        with cls._guard:
            if read_only and shared:
                # A process that writes does its own reads through its writable instance: a
                # second one would load the extensions again (most of an idle run's cost).
                for (pid, other, other_read_only, _), writable in cls._all.items():
                    if (pid, other, other_read_only) == (key[0], spec, False) and (
                        writable.catalog_file == catalog_file
                    ):
                        writable.users += 1
                        return writable
            making = cls._making.setdefault(key, threading.Lock())
        with making:
            with cls._guard:
                instance = cls._all.get(key)
                if instance is not None and instance.catalog_file == catalog_file:
                    instance.users += 1
                    return instance
            if instance is not None:
                instance.retire()
            with _opening(path if not read_only else None):
                if path is not None and not read_only:
                    _write_ahead_log(path)
                root = _attach(spec, read_only=read_only, inline_rows=inline_rows)
                try:
                    if not read_only:
                        _migrate(root, spec)
                    # The file as attached: a first writer has just created it.
                    made = cls(root, _file_identity(path))
                except BaseException:
                    root.close()
                    raise
            with cls._guard:
                made.users += 1
                cls._all[key] = made
            return made

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._guard:
            return self.root.cursor()

    def _flushed_since(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Whether a table of inlined rows this instance may have read is gone (and note the
        ones there are now). A check that cannot read the catalog for a moment (a commit holds
        a SQLite catalog) passes: a use that reads a flushed table retires the instance all the
        same (`_breaks_instance`)."""
        try:
            rows = con.execute(
                f"SELECT table_name FROM {METADATA}.ducklake_inlined_data_tables"
            ).fetchall()
        except duckdb.Error as exc:
            if _broken_link(exc):
                raise
            return False
        now = {name for (name,) in rows}
        with self._guard:
            if self.inlined - now:
                return True
            self.inlined |= now
        return False

    def retire(self) -> None:
        """Hand out no more cursors: the next open makes a new instance."""
        with self._guard:
            self.retired = True
            for key, instance in list(self._all.items()):
                if instance is self:
                    del self._all[key]
            if self.users == 0:
                self.root.close()

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        """End a use: close its cursor (which rolls back a transaction it left open), detach
        the databases it attached when no other use is under way, and close a retired
        instance with its last cursor."""
        with self._guard:
            try:
                con.close()
                if self.users == 1 and not self.retired:
                    self._detach_strays()
            finally:
                self.users -= 1
                if self.retired and self.users == 0:
                    self.root.close()

    def _detach_strays(self) -> None:
        cursor = self.root.cursor()
        try:
            for (name,) in cursor.execute(_DATABASES).fetchall():
                if name not in self.databases and name != CATALOG_ALIAS:
                    cursor.execute(f'DETACH DATABASE "{name}"')
        finally:
            cursor.close()

    @classmethod
    def close_all(cls, spec: LakeSpec | None = None) -> None:
        """Close this process's instances (of `spec`'s lake, or all) that no use holds (at
        exit: a PostgreSQL catalog sees its connections closed rather than dropped)."""
        with cls._guard:
            for key, instance in list(cls._all.items()):
                if key[0] == os.getpid() and instance.users == 0 and spec in (None, key[1]):
                    del cls._all[key]
                    instance.root.close()

    @classmethod
    def forked(cls) -> None:
        """In a forked child: locks of its own (one held by another thread of the parent at
        the fork would never be released); the parent's instances stay unused under its key."""
        cls._guard = threading.Lock()
        cls._making = {}


_DATABASES = "SELECT database_name FROM duckdb_databases() WHERE NOT internal"
os.register_at_fork(after_in_child=_Instance.forked)
atexit.register(_Instance.close_all)


@contextmanager
def _opening(catalog: Path | None) -> Iterator[None]:
    """Writers of one SQLite catalog open it one at a time: the first ones to create or
    migrate a new lake otherwise lose to each other's `database is locked` until they run out
    of tries on a busy machine. The file lock beside the catalog is held only while attaching
    and migrating (milliseconds once the lake exists) and dies with its process."""
    if catalog is None:
        yield
        return
    with open(catalog.with_name(catalog.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_ahead_log(catalog: Path) -> None:
    """Keep a SQLite catalog in write-ahead-log mode, made so when it is created and switched
    when an older lake is found in SQLite's default rollback journal. There, a reader's open
    transaction (`BEGIN` in `newsdesk shell`, a notebook's) holds a shared lock on the catalog
    until it ends, and every commit of every run waits for it, then fails; with the log,
    readers and the one committing writer never wait for each other. The mode is kept in the
    file; a switch that finds the catalog in use is tried again by the next writer to open it.
    """
    try:
        with contextlib.closing(sqlite3.connect(catalog, timeout=1.0)) as db:
            if db.execute("PRAGMA journal_mode").fetchone() != ("wal",):
                db.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError:  # in use by someone: the next open tries again
        pass


def _attach(
    spec: LakeSpec, *, read_only: bool, inline_rows: int | None
) -> duckdb.DuckDBPyConnection:
    """A fresh DuckDB with the lake attached; first runs racing to create the catalog's
    tables lose with `database is locked` or `already exists`, and try again."""
    options = ["READ_ONLY"] if read_only else []
    if spec.data_path and not read_only:
        options.append(f"DATA_PATH {sql_literal(spec.data_path)}")
    if inline_rows is not None and not read_only:
        options.append(f"DATA_INLINING_ROW_LIMIT {int(inline_rows)}")
    attach = f"ATTACH {sql_literal(PREFIX + spec.catalog + ':' + spec.target)} AS {ALIAS}"
    if options:
        attach += f" ({', '.join(options)})"
    for attempt in range(1, 41):
        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            # As for a file (`storage.connection.connect`): a view a migration has not made yet
            # is a catalog error, which `_read` waits out, not a Python variable of that name.
            con.execute("SET python_enable_replacements = false")
            load_extension(con, "ducklake")
            load_extension(con, spec.catalog)
            if spec.data_path and "://" in spec.data_path:
                load_extension(con, "httpfs")
            con.execute(attach)
            con.execute(f"USE {ALIAS}")
            con.execute(f"SET ducklake_max_retry_count = {MAX_RETRY_COUNT}")
            return con
        except duckdb.Error as exc:
            con.close()
            if attempt < 40 and (_retryable(exc) or "already exists" in str(exc)):
                time.sleep(min(0.05 * attempt, 1.0))
                continue
            if read_only and "does not exist" in str(exc):
                raise WarehouseError(
                    f"{spec.url}: no lake here yet (run `newsdesk ingest` first)"
                ) from None
            hint = " (set NEWSDESK_LAKE_DATA_PATH)" if "data_path" in str(exc) else ""
            raise WarehouseError(f"{spec.url}: cannot open the lake{hint}: {exc}") from None
    raise AssertionError("unreachable")


def _migrate(con: duckdb.DuckDBPyConnection, spec: LakeSpec) -> None:
    """Apply pending migrations, one process at a time: DuckLake would let two processes'
    ALTERs of a table both commit, so the migrating process holds the commit lock."""
    try:
        applied = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    except duckdb.CatalogException:
        applied = set()
    if not {m.version for m in MIGRATIONS} - applied:
        return
    # A SQLite catalog's lock is `_opening`'s, held by this process already.
    held = spec.catalog_path is not None
    with contextlib.nullcontext() if held else commit_lock(con, spec, wait=300):
        for attempt in range(20):
            try:
                migrate(con, lake_sql)
                return
            except duckdb.Error as exc:
                if attempt == 19 or not _retryable(exc):
                    raise
                time.sleep(0.05 * (attempt + 1))


_COMMIT_LOCK = 0x6E657773  # "news": the advisory lock key of a PostgreSQL catalog's lake


@contextmanager
def commit_lock(con: duckdb.DuckDBPyConnection, spec: LakeSpec, *, wait: float) -> Iterator[None]:
    """Hold the lake's commit lock: its writers commit (and migrate) one at a time, so each
    commit may look before it inserts, as the file's single writer does.

    Beside a SQLite catalog it is a file lock (`CATALOG.lock`, the one `_opening` takes); in a
    PostgreSQL catalog, a transaction-level advisory lock in the catalog's database, held by a
    transaction of a cursor of its own. Either dies with its holder: a killed writer never
    leaves the lake locked. Raises `WarehouseError` after `wait` seconds of someone else's.
    """
    deadline = time.monotonic() + wait
    path = spec.catalog_path
    if path is not None:
        with open(path.with_name(path.name + ".lock"), "a+b") as lock:
            _waiting(deadline, spec, lambda: _try_flock(lock))
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    attach_catalog(con, spec)
    cursor = con.cursor()
    try:

        def take() -> bool:
            cursor.execute("BEGIN TRANSACTION")
            (got,) = cursor.execute(
                f"SELECT * FROM postgres_query('{CATALOG_ALIAS}', "
                f"'SELECT pg_try_advisory_xact_lock({_COMMIT_LOCK})')"
            ).fetchone() or (False,)
            if not got:
                cursor.execute("ROLLBACK")
            return bool(got)

        _waiting(deadline, spec, take)
        try:
            yield
        finally:
            cursor.execute("ROLLBACK")
    finally:
        cursor.close()


def _try_flock(lock: BinaryIO) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _waiting(deadline: float, spec: LakeSpec, take: Callable[[], bool]) -> None:
    """Try `take` until it succeeds, a little longer apart each time, up to `deadline`."""
    pause = 0.005
    while not take():
        if time.monotonic() > deadline:
            raise WarehouseError(f"{spec.url}: another writer has held the commit lock too long")
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def attach_catalog(con: duckdb.DuckDBPyConnection, spec: LakeSpec) -> None:
    """Attach a PostgreSQL catalog's database itself (as `CATALOG_ALIAS`), once per DuckDB."""
    attached = con.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [CATALOG_ALIAS]
    ).fetchone()
    if attached == (0,):
        con.execute(f"ATTACH {sql_literal(spec.target)} AS {CATALOG_ALIAS} (TYPE postgres)")


class LakeWarehouse(Warehouse):
    """The warehouse as a DuckLake (see the module's docstring); what `Warehouse(url)` gives
    for a `ducklake:` URL. `data_path`: where a new lake keeps its Parquet files;
    `inline_rows`: DuckLake's data inlining limit, 0 (off) unless given: a reader attached
    across `compact`'s flush of inlined rows fails every later query (duckdb/ducklake#1305),
    and an analyst's session must outlive maintenance. None leaves DuckLake's own."""

    compacts = True
    readers_block_writers = False

    def __init__(
        self,
        path: Path | str,
        *,
        lock_wait: float = 30.0,
        data_path: str | None = None,
        inline_rows: int | None = 0,
    ) -> None:
        self.spec = LakeSpec.parse(str(path), data_path)
        self.path = Path(self.spec.target) if self.spec.catalog == "sqlite" else Path(".")
        self.lock_wait = lock_wait
        self.inline_rows = inline_rows

    @property
    def commit_wait(self) -> float:
        """How long a commit waits for the others' (each holds the lock for its own commit
        only, but on a busy machine eight of them queue for a while)."""
        return max(self.lock_wait, 120.0)

    def __repr__(self) -> str:
        return f"Warehouse({self.spec.url!r})"

    def __str__(self) -> str:
        return self.spec.url

    @property
    def export_root(self) -> Path:
        """Where maintenance exports go by default: beside a SQLite catalog, else `data/`."""
        path = self.spec.catalog_path
        return path.parent if path is not None else Path("data")

    @contextmanager
    def connect(
        self, *, read_only: bool = False, refuse_writes: bool = True
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect_lake(
            self.spec,
            read_only=read_only,
            inline_rows=self.inline_rows,
            refuse_writes=refuse_writes,
        ) as con:
            yield con

    def prepare(self, *, merge: bool = True) -> tuple[RunRecord, ...]:
        """Create or migrate the lake; a lake has no spool to merge."""

        def attempt() -> None:
            with self.connect():
                pass

        self._retrying(attempt)
        return ()

    def close(self) -> None:
        """Close what this process keeps open of the lake (see `connect_lake`): its catalog
        connections end, as they do at exit. The next use attaches again."""
        _Instance.close_all(self.spec)

    def _read(self, read: Callable[[duckdb.DuckDBPyConnection], T], *, user_sql: bool = False) -> T:
        """`read` on a read-only attach (the writable one this process keeps, when it has one
        and the read is the pipeline's own rather than `user_sql`); a SQLite catalog that a
        commit holds for a moment answers `database is locked`, and the read is tried again.
        So is a read that misses a table, view or column of a lake that a run is still
        creating or migrating (see `Migrating`), and once more in a new transaction when the
        lake is migrated by the time it looks (the migration may have landed just after the
        read); a second miss on a migrated lake is the query's own error."""
        missed = 0

        def attempt() -> T:
            nonlocal missed
            with self.connect(read_only=True, refuse_writes=user_sql) as con:
                try:
                    return read(con)
                except (duckdb.CatalogException, duckdb.BinderException) as exc:
                    behind = _migrations_pending(con)
                    if behind is None:
                        missed += 1
                        if missed > 1:
                            raise
                    raise Migrating(f"{behind or 'it was being migrated'}: {exc}") from exc

        return self._retrying(attempt)

    def write(self, batch: Batch) -> WriteOutcome:
        """Commit the batch in one lake transaction, holding the commit lock, redone from a
        fresh snapshot while it loses races (for `lock_wait` seconds at least five times). An
        article whose row cannot be built is left out and reported (`schemas.writable`)."""
        batch, rejected = writable(batch)
        staged_articles, staged_sightings = stage_batch(batch.articles, batch.sightings, batch.run)

        def attempt() -> tuple[BatchResult, str | None]:
            with self.connect() as con, commit_lock(con, self.spec, wait=self.commit_wait):
                return self._commit(con, staged_articles, staged_sightings, batch)

        result, index_error = self._retrying(attempt)
        return WriteOutcome(result, index_error=index_error, rejected=rejected)

    @staticmethod
    def _commit(
        con: duckdb.DuckDBPyConnection,
        staged_articles: pa.Table,
        staged_sightings: pa.Table,
        batch: Batch,
    ) -> tuple[BatchResult, str | None]:
        """What `write` does holding the commit lock: the batch's transaction, then the search
        index's; returns the batch's result and the index step's error, if any."""
        result = writer.write_staged(
            con,
            staged_articles,
            staged_sightings,
            batch.feed_states,
            batch.run,
            batch.sketches,
            batch.retries,
            batch.last,
            feed_polls=True,
        )
        # Still holding the lock: every index update rewrites the index's one `stats` row, so
        # two writers' updates would always conflict. A failure here costs search freshness
        # only, never the batch: the next write or `maintain` adds what it missed.
        return result, update_search(con, result)

    def record_feed_status(self, rows: Sequence[FeedStatus]) -> int:
        """Append feeds' new `feed_status` rows holding the commit lock, as `write` does."""
        if not rows:
            return 0

        def attempt() -> int:
            with self.connect() as con, commit_lock(con, self.spec, wait=self.commit_wait):
                return writer.record_feed_status(con, rows)

        return self._retrying(attempt)

    def _index_search(self, ids: set[str], *, thorough: bool = False) -> int:
        """Index `ids` (and whatever is missing, with `thorough`), holding the commit lock."""

        def attempt() -> int:
            with self.connect() as con, commit_lock(con, self.spec, wait=self.commit_wait):
                return search.index_articles(con, ids, thorough=thorough)

        return self._retrying(attempt)

    def _retrying(self, action: Callable[[], T]) -> T:
        """`action`, redone while it loses races (for `lock_wait` seconds, two minutes and
        five tries at least)."""
        # A lost race costs a redo, not a wait on someone's lock: on a loaded machine a SQLite
        # catalog shared by several writers can refuse more than lock_wait's worth of tries.
        deadline = time.monotonic() + max(self.lock_wait, 120.0)
        attempt = 0
        while True:
            attempt += 1
            try:
                return action()
            except (duckdb.Error, Migrating) as exc:
                if not _retryable(exc):
                    raise
                if attempt >= 5 and time.monotonic() > deadline:
                    raise WarehouseError(
                        f"{self.spec.url}: still losing races after {attempt} tries: {exc}"
                    ) from None
                time.sleep(min(0.05 * 2**attempt, 2.0))

    def snapshot(self, target: Path | str) -> None:
        """Copy the lake's current snapshot into a DuckDB file at `target`."""
        target = Path(target)
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.connect(read_only=True) as con:
            con.execute(f"ATTACH {sql_literal(partial)} AS copy")
            con.execute(f"COPY FROM DATABASE {ALIAS} TO copy")
            con.execute("DETACH copy")
        partial.replace(target)

    def maintain(
        self, day: date, export_dir: Path, failing_since: datetime
    ) -> tuple[Path, int, list[FeedState]]:
        """Catch the search index up, export `day` to Parquet and list feeds failing since
        `failing_since`; compaction is `compact`'s."""
        # Whatever a run's index step left out (it failed, or was killed) is added here.
        self._index_search(set(), thorough=True)
        with self.connect(read_only=True) as con:
            partition, rows = export.export_day(con, day, export_dir)
            return partition, rows, reads.failing_feeds(con, failing_since)

    def compact(self, *, keep_snapshots: timedelta, file_grace: timedelta) -> Compaction:
        """Compact the lake (see `compact`), beside running ingests."""

        def attempt() -> Compaction:
            with self.connect() as con:
                return compact(con, keep_snapshots=keep_snapshots, file_grace=file_grace)

        return self._retrying(attempt)


def compact(
    con: duckdb.DuckDBPyConnection, *, keep_snapshots: timedelta, file_grace: timedelta
) -> Compaction:
    """Flush inlined rows, merge small files, expire snapshots older than `keep_snapshots`
    (time travel reaches no further back) and delete the files they alone read, once they have
    been unused for `file_grace` (a reader that opened an older snapshot may still read them).

    Each step is a lake transaction of its own, redone by DuckLake when a run's commit races
    it, so it runs beside ingests. The files due for deletion are deleted first: the ones this
    call schedules are younger than any grace but none.
    """
    now = datetime.now(UTC)
    removed = _cleanup(con, now - file_grace) if file_grace > timedelta(0) else 0
    flushed = con.execute(f"CALL ducklake_flush_inlined_data('{ALIAS}')").fetchall()
    search.rewrite_lake_index(con)
    merged = con.execute(f"CALL ducklake_merge_adjacent_files('{ALIAS}')").fetchall()
    expired = _expire(con, now - keep_snapshots)
    if file_grace <= timedelta(0):
        removed = len(
            con.execute(
                f"CALL ducklake_cleanup_old_files('{ALIAS}', cleanup_all => true)"
            ).fetchall()
        )
    (live,) = con.execute(
        f"SELECT count(*) FROM {METADATA}.ducklake_data_file WHERE end_snapshot IS NULL"
    ).fetchone() or (0,)
    return Compaction(
        rows_flushed=sum(int(row[2]) for row in flushed),
        files_merged=sum(int(row[2]) for row in merged),
        files_created=sum(int(row[3]) for row in merged),
        snapshots_expired=expired,
        files_removed=removed,
        live_files=int(live),
    )


# DuckLake 1.5.5's `older_than` of `ducklake_expire_snapshots` and `ducklake_cleanup_old_files`
# compares the catalog's times with the cutoff as text, and a SQLite catalog keeps them as text
# in another spelling ('2026-12-02 02:18:01+00' against '2026-12-02T01:18:01+00'): everything
# of the cutoff's day counts as older, so a 1-hour grace deleted files merged a second before.
# Times are read here as times instead.


def _expire(con: duckdb.DuckDBPyConnection, older_than: datetime) -> int:
    """Expire the snapshots taken before `older_than` but the latest, by their ids."""
    versions = [
        int(snapshot_id)
        for (snapshot_id,) in con.execute(
            f"""
            SELECT snapshot_id FROM {METADATA}.ducklake_snapshot
            WHERE snapshot_time::TIMESTAMPTZ < ?
              AND snapshot_id < (SELECT max(snapshot_id) FROM {METADATA}.ducklake_snapshot)
            """,
            [older_than],
        ).fetchall()
    ]
    if not versions:
        return 0
    return len(
        con.execute(
            f"CALL ducklake_expire_snapshots('{ALIAS}', versions => ?)", [versions]
        ).fetchall()
    )


def _cleanup(con: duckdb.DuckDBPyConnection, older_than: datetime) -> int:
    """Delete the files scheduled for deletion before `older_than`: with that cutoff when
    DuckLake's own reading of it picks no younger file, else with the end of the day before
    (the younger ones wait for a later call); the number deleted."""
    due = {
        Path(path).name
        for (path,) in con.execute(
            f"""
            SELECT path FROM {METADATA}.ducklake_files_scheduled_for_deletion
            WHERE schedule_start::TIMESTAMPTZ < ?
            """,
            [older_than],
        ).fetchall()
    }
    day_before = datetime.combine(older_than.astimezone(UTC).date(), datetime.min.time(), UTC)
    for cutoff in (older_than, day_before - timedelta(seconds=1)):
        call = f"CALL ducklake_cleanup_old_files('{ALIAS}', older_than => ?, dry_run => ?)"
        planned = {Path(path).name for (path,) in con.execute(call, [cutoff, True]).fetchall()}
        if planned <= due:
            return len(con.execute(call, [cutoff, False]).fetchall()) if planned else 0
    return 0


# The tables a file warehouse holds and a lake holds too, in the order they are copied; a
# file's `feeds` (one row per feed) becomes the lake's first poll of each feed.
MIGRATED_TABLES = (
    ("feeds", "feed_polls"),
    ("ingest_runs", "ingest_runs"),
    ("articles", "articles"),
    ("article_versions", "article_versions"),
    ("feed_entries", "feed_entries"),
    ("story_sketches", "story_sketches"),
    ("page_retries", "page_retries"),
    ("feed_status", "feed_status"),
)


@dataclass(frozen=True)
class TableCopy:
    """One table of `migrate_into`: its rows in the file and in the lake afterwards."""

    table: str
    source_rows: int
    lake_rows: int
    copied: bool
    """False when the lake already held the table's rows (a resumed migration)."""


def migrate_into(lake: Warehouse, source: Path) -> list[TableCopy]:
    """Copy the DuckDB-file warehouse `source` into `lake`, one table per lake transaction.

    Resumable: a table whose rows are already all in the lake (an earlier migration that was
    interrupted after it) is passed over, and an interrupted table left nothing behind. A lake
    that holds other rows of a table (runs wrote to it already) is refused rather than mixed.
    The counts are checked after each table. The file's search index is not copied: the lake's
    is built from the copied articles at the end (the same ranking; see `storage.search`).
    """
    if not isinstance(lake, LakeWarehouse):
        raise WarehouseError(f"{lake}: not a DuckLake (ducklake:sqlite:… or ducklake:postgres:…)")
    if not source.exists():
        raise WarehouseError(f"{source}: no warehouse here to migrate")
    # Brings the file to the current schema first, so both sides have the same columns.
    with Warehouse(source, lock_wait=lake.lock_wait).connect():
        pass
    done: list[TableCopy] = []
    with lake.connect() as con:
        con.execute(f"ATTACH {sql_literal(source)} AS source (READ_ONLY)")
        for table, target in MIGRATED_TABLES:
            (have,) = con.execute(f"SELECT count(*) FROM source.main.{table}").fetchone() or (0,)
            (there,) = con.execute(f"SELECT count(*) FROM {ALIAS}.{target}").fetchone() or (0,)
            if there == have:
                done.append(TableCopy(table, have, there, copied=False))
                continue
            if there:
                raise WarehouseError(
                    f"{lake.spec.url}: its {target} already holds {there} rows that are not "
                    f"{source}'s {have}: migrate into a new lake"
                )
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(
                    f"INSERT INTO {ALIAS}.{target} BY NAME SELECT * FROM source.main.{table}"
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            (there,) = con.execute(f"SELECT count(*) FROM {ALIAS}.{target}").fetchone() or (0,)
            if there != have:
                raise WarehouseError(
                    f"{lake.spec.url}: {target} holds {there} rows after the copy, not {have}"
                )
            done.append(TableCopy(table, have, there, copied=True))
    lake._index_search(set())
    return done
