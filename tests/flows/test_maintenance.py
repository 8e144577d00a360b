"""The daily maintenance flow on a real warehouse: checkpoint, Parquet export, failing feeds."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from flows.ingest import ingest
from flows.maintenance import maintenance
from harness.httpserver import LocalServer, free_port
from harness.sites import serve_sample_pages, write_feeds_file

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_maintenance_exports_the_day_and_reports_failing_feeds(tmp_path, private_network):
    db = tmp_path / "news.duckdb"
    with LocalServer() as server:
        feeds = serve_sample_pages(server)
        feeds["dead"] = f"http://127.0.0.1:{free_port()}/feed.xml"
        ingest(feeds_file=str(write_feeds_file(tmp_path / "feeds.toml", feeds)), db=str(db))

    today = datetime.now(UTC).date()
    result = maintenance(day=today, failing_hours=0, db=str(db))

    assert result["exported_rows"] == 9
    assert result["failing_feeds"] == ["dead"]
    partition = tmp_path / "export" / "articles" / f"first_seen_date={today}"
    assert partition.is_dir()
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT count(*), count(DISTINCT article_id) FROM read_parquet(?)",
            [str(partition / "*.parquet")],
        ).fetchone()
    assert rows == (9, 9)

    # Exporting the same day again replaces the partition instead of adding to it.
    maintenance(day=today, failing_hours=0, db=str(db))
    with duckdb.connect() as con:
        (again,) = con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(partition / "*.parquet")]
        ).fetchone()
    assert again == 9

    # A feed failing for less than the threshold is not reported.
    assert maintenance(day=today, failing_hours=24, db=str(db))["failing_feeds"] == []
