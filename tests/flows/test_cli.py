"""The `newsdesk` command as a user runs it: a real process, real exit codes and output."""

from __future__ import annotations

import pytest

from harness.analyst import AnalystSession
from harness.cli import newsdesk
from harness.httpserver import LocalServer, Reply, free_port
from harness.sites import serve_sample_pages, write_feeds_file
from storage import connect

COMMANDS = [
    "ingest",
    "demo",
    "sql",
    "search",
    "shell",
    "snapshot",
    "migrate",
    "feeds",
    "pending",
    "server",
    "alerts",
]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command):
    result = newsdesk(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "usage: newsdesk" in result.stdout
    if command is None:
        assert all(c in result.stdout for c in COMMANDS)


def test_a_bad_feeds_file_is_rejected_before_any_fetch(tmp_path):
    bad = tmp_path / "feeds.toml"
    bad.write_text('[[feeds]]\nname = "a"\nurl = "https://x/feed"\n\n[[feeds]]\nname = "b"\n')
    result = newsdesk("ingest", "--feeds", str(bad), "--db", str(tmp_path / "n.duckdb"))
    assert result.returncode == 2
    assert f"{bad}:5: feed 'b' is missing a 'url'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "n.duckdb").exists()


def test_an_unknown_feed_name_is_a_usage_error(tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.toml", {"a": "https://x/feed"})
    result = newsdesk("ingest", "--feeds", str(feeds), "--feed", "b")
    assert result.returncode == 2
    assert "unknown feed name(s): b" in result.stderr


def test_a_shard_past_the_count_is_a_usage_error(tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.toml", {"a": "https://x/feed"})
    result = newsdesk("ingest", "--feeds", str(feeds), "--shard", "5/4")
    assert result.returncode == 2
    assert "shard must be between 1 and 4, not 5" in result.stderr


def test_usage_errors_exit_2():
    assert newsdesk("ingest", "--max-articles-per-feed", "many").returncode == 2
    assert newsdesk("frobnicate").returncode == 2


def test_sql_on_a_missing_warehouse_names_it_and_fails(tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    result = newsdesk("sql", "SELECT 1", env={"NEWSDESK_DB": str(missing)})
    assert result.returncode == 1
    assert f"{missing}: no warehouse here yet" in result.stderr


def test_when_no_feed_can_be_reached_the_run_says_so_in_one_line(tmp_path, prefect_api):
    feeds = write_feeds_file(
        tmp_path / "feeds.toml",
        {name: f"http://127.0.0.1:{free_port()}/feed.xml" for name in ("a", "b", "c")},
    )
    result = newsdesk(
        "ingest",
        "--feeds",
        str(feeds),
        "--db",
        str(tmp_path / "news.duckdb"),
        env={"PREFECT_API_URL": prefect_api},
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "none of the 3 feeds could be reached" in lines[0]
    assert "newsdesk demo" in lines[0]


def test_demo_ingests_the_bundled_sample_then_sql_and_feeds_read_it(tmp_path, prefect_api):
    db = tmp_path / "demo.duckdb"
    env = {"PREFECT_API_URL": prefect_api}
    result = newsdesk("demo", "--db", str(db), env=env)
    assert result.returncode == 0, result.stderr
    assert "9 new articles" in result.stdout
    assert "sample-dach" in result.stdout and "sample-world" in result.stdout

    counts = newsdesk(
        "sql",
        "--db",
        str(db),
        "--format",
        "csv",
        "SELECT language, count(*) AS n FROM articles GROUP BY ALL ORDER BY language",
    )
    assert counts.returncode == 0
    assert counts.stdout.splitlines() == ["language,n", "de,6", "en,2", "fr,1"]

    health = newsdesk("feeds", "--db", str(db))
    assert health.returncode == 0
    # The bundled sample's stories are years old: judged against their own rhythm, its feeds
    # have been silent for long.
    assert "sample-dach" in health.stdout and "silent" in health.stdout

    bad_sql = newsdesk("sql", "--db", str(db), "SELEC nonsense")
    assert bad_sql.returncode == 2
    assert "Parser Error" in bad_sql.stderr

    again = newsdesk("demo", "--db", str(db), env=env)
    assert again.returncode == 0
    assert "0 new articles" in again.stdout


OPML = b"""<?xml version="1.0"?><opml version="2.0"><head><title>reader</title></head><body>
<outline text="World"><outline text="BBC World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
<outline text="Already here" xmlUrl="https://x/feed"/></outline>
<outline text="Not web" xmlUrl="ftp://x/feed"/></body></opml>"""


def test_feeds_import_then_export_round_trips_through_opml(tmp_path):
    feeds = tmp_path / "feeds.toml"
    feeds.write_text('# my feeds\n[[feeds]]\nname = "a"\nurl = "https://x/feed"\n')
    opml = tmp_path / "reader.opml"
    opml.write_bytes(OPML)

    result = newsdesk("feeds", "import", str(opml), "--feeds", str(feeds), "--tag", "imported")
    assert result.returncode == 0, result.stderr
    assert "imported 1 feeds" in result.stdout and "1 already there" in result.stdout
    assert "skipped 1 that are not http(s)" in result.stdout
    text = feeds.read_text()
    assert text.startswith('# my feeds\n[[feeds]]\nname = "a"')
    assert 'name = "bbc-world"' in text and 'tags = ["world", "imported"]' in text

    exported = newsdesk("feeds", "export", "--feeds", str(feeds))
    assert exported.returncode == 0
    assert exported.stdout.startswith("<?xml")
    assert 'xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"' in exported.stdout
    assert 'category="/world,/imported"' in exported.stdout


def test_feeds_import_of_a_broken_file_is_a_usage_error(tmp_path):
    opml = tmp_path / "broken.opml"
    opml.write_text("<opml><body>")
    result = newsdesk("feeds", "import", str(opml), "--feeds", str(tmp_path / "feeds.toml"))
    assert result.returncode == 2
    assert "not valid XML" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "feeds.toml").exists()


def test_feeds_add_discovers_the_feed_of_a_home_page(tmp_path):
    feeds = tmp_path / "feeds.toml"
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Times</title>'
        b"<item><title>t</title><link>http://h/1</link></item></channel></rss>"
    )
    with LocalServer() as server:
        server.routes["/"] = Reply(
            headers={"Content-Type": "text/html"},
            body=b'<html><head><link rel="alternate" type="application/rss+xml" '
            b'href="/rss"></head><body>home</body></html>',
        )
        server.routes["/rss"] = Reply(headers={"Content-Type": "application/rss+xml"}, body=rss)
        added = newsdesk("feeds", "add", server.url("/"), "--feeds", str(feeds), "--tag", "local")
        again = newsdesk("feeds", "add", server.url("/"), "--feeds", str(feeds))
        nothing = newsdesk("feeds", "add", server.url("/rss-missing"), "--feeds", str(feeds))

    assert added.returncode == 0, added.stderr
    assert f"added harbour-times = {server.url('/rss')}" in added.stdout
    assert 'tags = ["local"]' in feeds.read_text()
    assert again.returncode == 0 and "already in" in again.stdout
    assert nothing.returncode == 1 and "HTTP 404" in nothing.stderr


def test_a_run_that_cannot_get_the_lock_spools_and_says_so(tmp_path, prefect_api) -> None:
    db = tmp_path / "news.duckdb"
    env = {"PREFECT_API_URL": prefect_api, "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1"}
    with LocalServer() as server:
        feeds = write_feeds_file(tmp_path / "feeds.toml", serve_sample_pages(server))
        missing = newsdesk("snapshot", str(tmp_path / "copy.duckdb"), "--db", str(db))
        assert missing.returncode == 1 and "no warehouse here yet" in missing.stderr
        with connect(db):  # a migrated warehouse, held read-only by an analyst
            pass
        with AnalystSession(db, read_only=True):
            locked = newsdesk(
                "ingest",
                "--feeds",
                str(feeds),
                "--db",
                str(db),
                env={**env, "NEWSDESK_LOCK_WAIT": "0.5"},
            )
        assert locked.returncode == 1, locked.stderr
        assert "9 new articles" not in locked.stdout
        assert (
            "batch is kept in" in locked.stderr
            and str(tmp_path / "spool" / "news") in locked.stderr
        )
        assert "the next run merges it" in locked.stderr

        after = newsdesk("ingest", "--feeds", str(feeds), "--db", str(db), env=env)
    assert after.returncode == 0, after.stderr
    assert "merged 1 batch(es) spooled by earlier runs" in after.stdout
    counts = newsdesk(
        "sql", "--db", str(db), "--format", "csv", "SELECT count(*) AS n FROM articles"
    )
    assert counts.stdout.splitlines() == ["n", "9"]

    copy = tmp_path / "copy.duckdb"
    snap = newsdesk("snapshot", str(copy), "--db", str(db))
    assert snap.returncode == 0 and copy.exists()


def test_empty_setting_values_as_compose_writes_them_mean_the_default(tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    result = newsdesk(
        "sql",
        "SELECT 1",
        env={
            "NEWSDESK_DB": str(missing),
            "NEWSDESK_ALLOW_PRIVATE_NETWORK": "",
            "NEWSDESK_WORKERS": "",
        },
    )
    assert "invalid NEWSDESK_* setting" not in result.stderr
    assert f"{missing}: no warehouse here yet" in result.stderr
