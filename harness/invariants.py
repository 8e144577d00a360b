"""What must hold in every warehouse, file or lake, after concurrent, crashed or killed runs.

The one checker of the kill -9 trials and the concurrency tests of every backend, and of the
benchmarks' writers."""

from __future__ import annotations

from pathlib import Path

from storage import Warehouse

# Each a count of violations, read in one query (one attach of a lake per check).
INVARIANTS = {
    "articles with the same article_id": (
        "SELECT count(*) - count(DISTINCT article_id) FROM articles"
    ),
    "articles with the same url": "SELECT count(*) - count(DISTINCT url) FROM articles",
    "articles with the same canonical_url": (
        "SELECT count(*) - count(DISTINCT canonical_url) FROM articles"
    ),
    "sightings recorded twice": (
        "SELECT count(*) FROM (SELECT feed_name, entry_url FROM feed_entries "
        "GROUP BY ALL HAVING count(*) > 1)"
    ),
    "story sketches of the same article": (
        "SELECT count(*) - count(DISTINCT article_id) FROM story_sketches"
    ),
    "feeds stored twice": "SELECT count(*) - count(DISTINCT name) FROM feeds",
    # Batches are atomic: every article arrived with its sighting, and the reverse.
    "sightings of no article": (
        "SELECT count(*) FROM feed_entries e WHERE NOT EXISTS "
        "(SELECT 1 FROM articles a WHERE a.article_id = e.article_id)"
    ),
    "articles without a sighting": (
        "SELECT count(*) FROM articles a WHERE NOT EXISTS "
        "(SELECT 1 FROM feed_entries e WHERE e.article_id = a.article_id)"
    ),
    # Versions are complete: version n has n - 1 earlier versions kept.
    "articles missing earlier versions": (
        "SELECT count(*) FROM articles a WHERE a.version - 1 <> "
        "(SELECT count(*) FROM article_versions v WHERE v.article_id = a.article_id)"
    ),
}
RUN_RECORDED = (
    "SELECT count(*) FROM articles a WHERE NOT EXISTS "
    "(SELECT 1 FROM ingest_runs r WHERE r.run_id = a.run_id)"
)
"""A run is recorded by its last batch: only a run written in several batches, killed between
them, leaves articles without its record (which the next run then finds known)."""
COUNTS = {
    "articles": "SELECT count(*) FROM articles",
    "versions": "SELECT count(*) FROM article_versions",
    "sightings": "SELECT count(*) FROM feed_entries",
    "feeds": "SELECT count(*) FROM feeds",
    "runs": "SELECT count(*) FROM ingest_runs",
}


def violations(
    db: str | Path, *, batched_runs: bool = False
) -> tuple[dict[str, int], dict[str, int]]:
    """Open the warehouse at `db` read-write (a file replays its log; either is migrated) and
    return the invariants that do not hold, with how many rows break each, and a few counts (all
    0 where no file was created yet). `batched_runs`: the runs wrote in several batches (see
    `RUN_RECORDED`)."""
    if not str(db).startswith("ducklake:") and not Path(db).exists():
        return {}, dict.fromkeys(COUNTS, 0)  # a file killed before its first write
    wh = Warehouse(db, lock_wait=30)
    wh.prepare(merge=False)
    checks = dict(INVARIANTS)
    if not batched_runs:
        checks["articles of an unrecorded run"] = RUN_RECORDED
    names = [*checks, *COUNTS]
    columns = ", ".join(f"({sql})" for sql in [*checks.values(), *COUNTS.values()])
    _, [row] = wh.query(f"SELECT {columns}")
    values = dict(zip(names, map(int, row), strict=True))
    broken = {name: values[name] for name in checks if values[name]}
    return broken, {name: values[name] for name in COUNTS}


def check_warehouse(db: str | Path, *, batched_runs: bool = False) -> dict[str, int]:
    """Assert every invariant of the warehouse at `db` (`violations`); return its counts."""
    broken, counts = violations(db, batched_runs=batched_runs)
    # A helper module's asserts are not rewritten by pytest: the message says what broke.
    assert not broken, f"{db}: {broken}"
    return counts
