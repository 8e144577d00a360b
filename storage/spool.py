"""The spool: batches kept on disk while another process holds the warehouse.

A run that cannot get the warehouse's write lock in time does not lose what it fetched: its
batch is written here as Parquet, one directory per run under `<warehouse dir>/spool/<warehouse
name>/`, named so that directories sort by the time the run finished. A directory appears whole
or not at all: it is written as a hidden `.partial` directory, synced, then renamed. The next run
that gets the lock merges every spooled batch, oldest first (`storage.warehouse.merge_spool`),
and deletes each one after its transaction commits; a crash in between replays it, which
changes nothing because writes are idempotent.

No SQL here: this module only moves Arrow tables to and from files.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PARTIAL_SUFFIX = ".partial"
STALE_PARTIAL_SECONDS = 3600.0
"""A `.partial` directory this old was left by a process that died while writing it."""


def spool_dir(db: Path) -> Path:
    """Where batches for the warehouse `db` wait: `data/spool/news/` for `data/news.duckdb`."""
    return db.parent / "spool" / db.stem


def write_spool(db: Path, run_id: str, finished_at: datetime, tables: dict[str, pa.Table]) -> Path:
    """Write `tables` (name -> table) as one spooled batch; return its directory."""
    root = spool_dir(db)
    root.mkdir(parents=True, exist_ok=True)
    name = f"{finished_at:%Y%m%dT%H%M%S%f}-{_safe(run_id)}"
    partial = root / f".{name}{PARTIAL_SUFFIX}"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    for table_name, table in tables.items():
        with open(partial / f"{table_name}.parquet", "wb") as file:
            pq.write_table(table, file)
            file.flush()
            os.fsync(file.fileno())
    _fsync_dir(partial)
    final = root / name
    partial.rename(final)
    _fsync_dir(root)
    return final


def pending(db: Path) -> list[Path]:
    """Complete spooled batches for `db`, oldest first; stale partial ones are removed."""
    root = spool_dir(db)
    if not root.is_dir():
        return []
    batches = []
    for path in root.iterdir():
        if path.name.endswith(PARTIAL_SUFFIX):
            if time.time() - path.stat().st_mtime > STALE_PARTIAL_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        elif path.is_dir() and not path.name.startswith("."):
            batches.append(path)
    return sorted(batches, key=lambda p: p.name)


def read_spool(path: Path) -> dict[str, pa.Table]:
    """The tables of one spooled batch."""
    return {file.stem: pq.read_table(file) for file in sorted(path.glob("*.parquet"))}


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def set_aside(path: Path) -> Path:
    """Rename a batch that cannot be read to `.<name>.unreadable`: kept, no longer pending."""
    target = path.with_name(f".{path.name}.unreadable")
    path.rename(target)
    return target


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:80]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
