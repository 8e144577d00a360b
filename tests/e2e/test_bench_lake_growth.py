"""The lake growth benchmark's parts at a tiny size (a check of the harness, not a measurement:
the figures come from `python -m bench.lake_growth`, see docs/benchmarks.md): a day's small
commits leave many small files, compaction leaves few, and a week on one snapshot and only the
files it reads, with every article kept."""

from datetime import timedelta

from bench.lake import lake_url
from bench.lake_growth import FILE_GRACE, KEEP_SNAPSHOTS, Day, lake_size, lean_commit
from storage.lake import LakeWarehouse


def _articles(lake: LakeWarehouse) -> int:
    return int(lake.query("SELECT count(DISTINCT article_id) FROM articles")[1][0][0])


def test_compaction_merges_a_days_small_files_and_keeps_every_article(tmp_path) -> None:
    lake = LakeWarehouse(lake_url(tmp_path / "lake"))
    lake.prepare()
    day = Day(lake, rows=20, polls=20)
    with lake.connect() as con:
        for _ in range(12):
            lean_commit(con, lake, day.batch(20, "lean"))
        grown = lake_size(lake, con)
    assert _articles(lake) == 240
    assert grown["live_files"] >= 24  # articles and sightings: a file each per commit

    lake.compact(keep_snapshots=KEEP_SNAPSHOTS, file_grace=FILE_GRACE)
    with lake.connect(read_only=True) as con:
        compacted = lake_size(lake, con)
    assert compacted["live_files"] <= 5
    # Within the maintenance flow's window the merged files stay for time travel.
    assert compacted["disk_files"] > grown["live_files"]

    lake.compact(keep_snapshots=timedelta(0), file_grace=timedelta(0))
    with lake.connect(read_only=True) as con:
        week_on = lake_size(lake, con)
    assert week_on["snapshots"] == 1
    assert week_on["disk_files"] == week_on["live_files"] <= 5
    assert _articles(lake) == 240
    assert lake.query("SELECT count(*) FROM articles")[1][0][0] == 240
