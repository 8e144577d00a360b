"""The daily `maintenance` flow: checkpoint the warehouse, export a day to Parquet, report
feeds that have been failing for a day or more."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows import steps
from newsdesk.settings import Settings
from storage import Compaction


def _run_name() -> str:
    return f"maintenance {datetime.now(UTC):%Y-%m-%d %H:%M}"


@flow(name="maintenance", flow_run_name=_run_name, log_prints=False)
def maintenance(
    day: date | None = None,
    failing_hours: int = 24,
    export_dir: str | None = None,
    db: str | None = None,
) -> dict[str, object]:
    """Checkpoint the warehouse, export one day's articles to Parquet, and report failing feeds.

    Args:
        day: UTC day whose newly stored articles are exported (by `first_seen_at`); empty means
            yesterday, the last complete day. Exporting a day again replaces its partition.
        failing_hours: Report feeds that have failed on every poll for at least this many hours.
        export_dir: Where the Parquet files go; empty means `export/` next to the warehouse file
            (data/export/ by default).
        db: The warehouse, a lake URL or a DuckDB file; empty uses NEWSDESK_DB (default
            the lake ducklake:sqlite:data/lake/catalog.sqlite).
    """
    logger = get_run_logger()
    settings = Settings()
    warehouse = settings.warehouse(db)
    target = Path(export_dir) if export_dir else warehouse.export_root / "export"
    now = datetime.now(UTC)
    day = day or (now - timedelta(days=1)).date()

    partition, rows, failing = steps.maintain(
        warehouse, day, target, now - timedelta(hours=failing_hours)
    )
    compaction = None
    if warehouse.compacts:
        compaction = steps.compact_lake(
            warehouse,
            timedelta(hours=settings.lake_keep_snapshots_hours),
            timedelta(hours=settings.lake_file_grace_hours),
        )
        logger.info("compacted %s: %s", warehouse, compaction)
    logger.info(
        "checkpointed %s; exported %d articles of %s to %s", warehouse, rows, day, partition
    )
    for feed in failing:
        logger.warning(
            "feed %s failing since %s (%d polls): %s",
            feed.name,
            feed.failing_since,
            feed.consecutive_failures,
            feed.last_error,
        )

    lines = [
        "# Warehouse maintenance",
        "",
        f"- checkpointed `{warehouse}`",
        *(_compaction_lines(compaction) if compaction else []),
        f"- exported **{rows}** articles first seen on {day} to `{partition}`",
        "",
        f"## Feeds failing for {failing_hours} hours or more",
        "",
    ]
    if failing:
        lines += ["| feed | failing since | failed polls | last error |", "|---|---|---:|---|"]
        lines += [
            f"| {f.name} | {f.failing_since:%Y-%m-%d %H:%M} UTC | {f.consecutive_failures} "
            f"| {(f.last_error or '').replace('|', '/')} |"
            for f in failing
        ]
    else:
        lines.append("None.")
    create_markdown_artifact(
        key="maintenance-report",
        markdown="\n".join(lines) + "\n",
        description="Checkpoint, Parquet export and feed health.",
    )
    return {
        "day": day.isoformat(),
        "exported_rows": rows,
        "partition": str(partition),
        "failing_feeds": [f.name for f in failing],
        **({"compaction": asdict(compaction)} if compaction else {}),
    }


def _compaction_lines(c: Compaction) -> list[str]:
    return [
        f"- compacted the lake: merged **{c.files_merged}** small files into {c.files_created}, "
        f"flushed {c.rows_flushed} inlined rows, expired {c.snapshots_expired} snapshots, "
        f"removed **{c.files_removed}** unused files; {c.live_files} data files now",
    ]
