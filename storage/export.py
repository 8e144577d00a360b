"""Copies of the warehouse for analysts: a consistent snapshot, and days exported to Parquet."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from storage.connection import LOCK_MARKERS, WarehouseError, sql_literal
from storage.schemas import ARTICLE_KEY_COLUMNS


def snapshot(db: Path | str, target: Path | str) -> None:
    """Copy the warehouse, consistently, to `target` (replaced atomically if it exists).

    The source is attached read-only for the copy's few seconds only; an analyst who works on
    the copy never blocks a run, however long the session.
    """
    db, target = Path(db), Path(target)
    if not db.exists():
        raise WarehouseError(f"{db}: no warehouse here yet (run `newsdesk ingest` first)")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 30.0
    while True:
        con = duckdb.connect()
        try:
            # ATTACH takes no bound parameters: the paths (the operator's, not data) are quoted.
            con.execute(f"ATTACH {sql_literal(str(db))} AS source (READ_ONLY)")
            con.execute(f"ATTACH {sql_literal(str(partial))} AS copy")
            con.execute("COPY FROM DATABASE source TO copy")
            con.execute("DETACH copy")
            break
        except duckdb.IOException as exc:
            if not any(m in str(exc) for m in LOCK_MARKERS) or time.monotonic() >= deadline:
                raise WarehouseError(f"{db}: cannot copy the warehouse: {exc}") from None
            time.sleep(0.5)
        finally:
            con.close()
    partial.replace(target)


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the write-ahead log into the database file."""
    con.execute("CHECKPOINT")


def export_day(con: duckdb.DuckDBPyConnection, day: date, export_dir: Path) -> tuple[Path, int]:
    """Write the articles first seen on `day` (UTC) to Parquet under
    `export_dir/articles/first_seen_date=YYYY-MM-DD/`, replacing that day's partition.

    Returns the partition directory and the number of rows written. Running it again for the
    same day gives the same files, so a retried or repeated export never duplicates rows. The
    lookup keys stay behind: they are the pipeline's, not the analysts'.
    """
    root = export_dir / "articles"
    partition = root / f"first_seen_date={day.isoformat()}"
    if partition.exists():
        shutil.rmtree(partition)
    root.mkdir(parents=True, exist_ok=True)
    where = "first_seen_at >= ? AND first_seen_at < ?"
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    bounds = [start, start + timedelta(days=1)]
    (count,) = con.execute(f"SELECT count(*) FROM articles WHERE {where}", bounds).fetchone() or (
        0,
    )
    if count:
        con.execute(
            f"""
            COPY (
                SELECT * EXCLUDE ({ARTICLE_KEY_COLUMNS}),
                       CAST(timezone('UTC', first_seen_at) AS DATE) AS first_seen_date
                FROM articles WHERE {where}
            ) TO {sql_literal(root)}
            (FORMAT PARQUET, PARTITION_BY (first_seen_date), OVERWRITE_OR_IGNORE)
            """,
            bounds,
        )
    return partition, int(count)
