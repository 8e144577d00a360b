"""Full-text search and the analyst views through the real CLI, on the demo warehouse (the
bundled sample ingested from 127.0.0.1): what the README shows is what they print."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from harness.cli import newsdesk
from storage.connection import connect

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
# A README example: a shell line running `newsdesk sql|search` on the demo warehouse (the
# README's quickstart sets NEWSDESK_DB to it), and what it printed in a 100-column terminal.
EXAMPLE = re.compile(r"```text\n\$ (newsdesk (?:sql|search) .*?)\n(.*?)```", re.DOTALL)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, prefect_api) -> str:
    """The demo's warehouse as `newsdesk demo` makes it by default: a SQLite-catalog lake."""
    db = f"ducklake:sqlite:{tmp_path_factory.mktemp('demo') / 'demo' / 'catalog.sqlite'}"
    result = newsdesk("demo", "--db", db, env={"PREFECT_API_URL": prefect_api})
    assert result.returncode == 0, result.stderr
    return db


def search_json(db: str, *args: str) -> list[dict]:
    result = newsdesk("search", "--db", str(db), "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.prefect
def test_search_ranks_the_headline_match_first_across_languages(demo_db):
    hits = search_json(demo_db, "China")
    assert [(h["language"], h["title"]) for h in hits] == [
        ("de", "Plant Tesla eine zweite Fabrik in China?"),
        ("en", "Losing face: 6,000 surgical masks stolen from Kobe hospital"),
    ]
    assert [h["rank"] for h in hits] == [1, 2]
    assert "China" in hits[1]["snippet"]  # the English article has it in its text only

    hospital = search_json(demo_db, "hospital")
    assert hospital[0]["title"].endswith("from Kobe hospital")
    assert hospital[1]["title"] == "Essequibo hunter found dead with gunshot wounds"


@pytest.mark.prefect
def test_search_matches_words_without_case_or_accents_and_filters(demo_db):
    (elephants,) = search_json(demo_db, "ELEPHANTS")
    assert elephants["title"] == "La perte des terres fertiles et les éléphants en Guinée-Conakry"
    assert search_json(demo_db, "china", "--lang", "en")[0]["language"] == "en"
    assert search_json(demo_db, "china", "--feed", "sample-world", "--limit", "1")[0]["feed"] == (
        "sample-world"
    )
    assert search_json(demo_db, "china", "--since", "2021-01-01") == [
        h for h in search_json(demo_db, "china") if h["published_at"] >= "2021"
    ]
    assert search_json(demo_db, "zyzzyva") == []


@pytest.mark.prefect
def test_search_prints_a_table_that_fits_and_csv_for_programs(demo_db):
    table = newsdesk("search", "--db", str(demo_db), "China", env={"COLUMNS": "80"})
    assert table.returncode == 0, table.stderr
    assert all(len(line) <= 80 for line in table.stdout.splitlines())
    assert "Plant Tesla" in table.stdout and "2 articles" in table.stdout
    csv_out = newsdesk("search", "--db", str(demo_db), "--format", "csv", "hospital")
    assert csv_out.stdout.splitlines()[0].startswith("rank,published_at,feed,language,title")
    assert newsdesk("search", "--db", str(demo_db), "x", "--since", "soon").returncode == 2


@pytest.mark.prefect
def test_every_readme_example_on_the_demo_warehouse_prints_what_the_readme_shows(demo_db):
    examples = EXAMPLE.findall(README)
    shown = {cmd.split()[1] for cmd, _ in examples}
    assert shown == {"sql", "search"}, "the README shows no example output to check"
    views = {"latest_articles", "stories", "feed_health", "daily_counts"}
    assert all(any(v in cmd for cmd, _ in examples) for v in views)
    for command, expected in examples:
        args = shlex.split(command)[1:]
        args[1:1] = ["--db", demo_db]
        result = newsdesk(*args, env={"COLUMNS": "100"})
        assert result.returncode == 0, result.stderr
        got = [line.rstrip() for line in result.stdout.rstrip().splitlines()]
        assert got == [line.rstrip() for line in expected.rstrip().splitlines()], command


@pytest.mark.prefect
def test_views_are_valid_json_rows(demo_db):
    for view in ("latest_articles", "stories", "feed_health", "daily_counts"):
        result = newsdesk("sql", "--db", str(demo_db), "--format", "json", f"FROM {view}")
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert rows, view
    stories = newsdesk(
        "sql", "--db", str(demo_db), "--format", "json", "SELECT articles, outlets FROM stories"
    )
    assert sum(json.loads(line)["articles"] for line in stories.stdout.splitlines()) == 9
    feeds = newsdesk("feeds", "--db", str(demo_db), "--format", "json")
    health = {row["feed"]: row for row in map(json.loads, feeds.stdout.splitlines())}
    assert set(health) == {"sample-dach", "sample-world"}
    # Its newest entries are years old: silent, with the reason.
    assert health["sample-dach"]["status"] == "silent" and health["sample-dach"]["articles"] == 6
    assert health["sample-dach"]["reason"].startswith("nothing new for")


def test_search_on_a_warehouse_without_an_index_finds_nothing_and_says_so(tmp_path):
    db = tmp_path / "news.duckdb"
    with connect(db):
        pass
    result = newsdesk("search", "--db", str(db), "anything")
    assert result.returncode == 0
    assert "no search index yet" in result.stderr
