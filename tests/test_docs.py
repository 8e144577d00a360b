"""The README is part of the contract: every warehouse column, setting and command is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsdesk.cli import parser
from newsdesk.settings import Settings
from storage import connect

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def documented_columns(table: str) -> set[str]:
    section = README.split(f"### `{table}`", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))


def test_every_warehouse_column_of_tables_and_views_is_documented(tmp_path):
    with connect(tmp_path / "news.duckdb") as con:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main'"
        ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    assert set(tables) == {
        "articles",
        "article_versions",
        "feed_entries",
        "feed_status",
        "feeds",
        "ingest_runs",
        "page_retries",
        "schema_migrations",
        "story_sketches",
        # views
        "latest_articles",
        "stories",
        "feed_health",
        "daily_counts",
    }
    for table, columns in tables.items():
        assert documented_columns(table) == columns, table


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field):
    assert f"`NEWSDESK_{field.upper()}`" in README


def test_every_command_is_documented():
    commands = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"`newsdesk {name}" in README, name


def test_the_quickstart_is_two_make_commands_that_ci_runs():
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make (\w+)", quickstart, re.MULTILINE)
    assert commands == ["ingest", "test"]
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "make test" in ci
