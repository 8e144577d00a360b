"""`newsdesk shell`: the DuckDB CLI on a warehouse written by real runs, as an analyst uses it:
one-off `-c` queries, and an interactive session kept open on a pipe while a run writes."""

from __future__ import annotations

import importlib.metadata
import os
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from harness.cli import NEWSDESK, newsdesk
from harness.httpserver import LocalServer
from harness.sites import OverlapSite, write_feeds_file
from newsdesk.shell import split_arguments
from storage import Warehouse

STORIES = 4
WAIT = 180.0
"""Seconds any one state (an answer, an exit) may take on a loaded machine."""


def ingest_env(prefect_api: str) -> dict[str, str]:
    return {
        "PREFECT_API_URL": prefect_api,
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        "NEWSDESK_MAX_ARTICLES_PER_FEED": "0",
    }


def ingest(feeds: Path, db: str, prefect_api: str) -> None:
    result = newsdesk("ingest", "--feeds", str(feeds), "--db", db, env=ingest_env(prefect_api))
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory, prefect_api) -> dict[str, str]:
    """A DuckDB file and a SQLite-catalog lake, each written by one run of one feed of
    STORIES stories."""
    root = tmp_path_factory.mktemp("shell")
    dbs = {"file": str(root / "news.duckdb"), "lake": f"ducklake:sqlite:{root / 'lake/c.sqlite'}"}
    with LocalServer() as server:
        feeds = write_feeds_file(root / "feeds.toml", OverlapSite(server, 1, STORIES).feed_urls())
        for db in dbs.values():
            ingest(feeds, db, prefect_api)
    return dbs


def shell(*args: str) -> subprocess.CompletedProcess[str]:
    return newsdesk("shell", *args, timeout=WAIT)


@pytest.mark.prefect
@pytest.mark.parametrize("kind", ["file", "lake"])
def test_shell_answers_a_query_on_the_views_and_passes_the_cli_its_options(warehouses, kind):
    db = warehouses[kind]
    counted = shell("--db", db, "-csv", "-c", "SELECT count(*) AS n FROM latest_articles")
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.split() == ["n", str(STORIES)]
    # After `--`, everything is the CLI's, even an option of ours.
    as_json = shell(
        "--db", db, "--", "-json", "-c", "SELECT feed, last_http_status FROM feed_health"
    )
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stdout.split() == ['[{"feed":"feed-0","last_http_status":200}]']
    # NEWSDESK_DB is the default, as for every command.
    default = newsdesk("shell", "-csv", "-c", "FROM articles SELECT 1", env={"NEWSDESK_DB": db})
    assert default.returncode == 0, default.stderr
    assert default.stdout.split() == ["1"] * (STORIES + 1)


@pytest.mark.prefect
@pytest.mark.parametrize("kind", ["file", "lake"])
def test_the_shell_is_read_only(warehouses, kind):
    refused = shell("--db", warehouses[kind], "-c", "DELETE FROM articles")
    assert refused.returncode == 1
    assert "read-only" in refused.stderr
    assert Warehouse(warehouses[kind]).query("SELECT count(*) FROM articles")[1] == [(STORIES,)]


@pytest.mark.prefect
def test_a_lake_is_attached_as_lake_with_its_extensions_and_no_notice(warehouses):
    result = shell(
        "--db",
        warehouses["lake"],
        "-csv",
        "-noheader",
        "-c",
        "SELECT current_database(), (SELECT count(*) FROM duckdb_extensions() "
        "WHERE loaded AND extension_name IN ('ducklake', 'sqlite_scanner'))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["lake,2"]
    assert result.stderr == ""


@pytest.mark.prefect
def test_a_file_session_says_it_holds_runs_off_and_snapshot_opens_a_copy_that_does_not(
    warehouses, tmp_path
):
    db = warehouses["file"]
    # fts is loaded: the search index's BM25 macro answers as in the README.
    bm25 = "SELECT count(fts_main_articles.match_bm25(article_id, 'river')) FROM articles"
    one_off = shell("--db", db, "-csv", "-noheader", "-c", bm25)
    assert one_off.returncode == 0, one_off.stderr
    assert one_off.stdout.split() == [str(STORIES)]
    (notice,) = one_off.stderr.splitlines()
    assert "runs cannot write" in notice and "--snapshot" in notice and "newsdesk migrate" in notice

    with Session(["--db", db]) as live:
        live.ask("SELECT 'live' AS m", lambda line: line == "live")
        # What a run meets while the session is open: the file is locked for writing.
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(db).close()

    temp = tmp_path / "temp"
    temp.mkdir()
    with Session(["--db", db, "--snapshot"], env={"TMPDIR": str(temp)}) as copy:
        copy.ask("SELECT count(*) FROM articles", lambda line: line == str(STORIES))
        duckdb.connect(db).close()  # a run could write the file now
        assert [p.name for p in temp.glob("newsdesk-shell-*/*")] == ["snapshot.duckdb"]
    assert copy.returncode == 0
    assert copy.errors == [None]  # no notice: the copy holds no run off
    assert list(temp.iterdir()) == []  # the copy is gone with the session


def test_a_missing_warehouse_or_lake_is_named(tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    result = shell("--db", str(missing), "-c", "SELECT 1")
    assert result.returncode == 1
    assert f"{missing}: no warehouse here yet (run `newsdesk ingest` first)" in result.stderr
    lake = f"ducklake:sqlite:{tmp_path / 'none' / 'catalog.sqlite'}"
    result = shell("--db", lake, "-c", "SELECT 1")
    assert result.returncode == 1
    assert f"{lake}: no lake here yet (run `newsdesk ingest` first)" in result.stderr
    assert not (tmp_path / "none").exists()


def test_a_missing_cli_binary_names_its_package(tmp_path):
    # A duckdb_cli package without its binary, found before the environment's.
    (tmp_path / "duckdb_cli").mkdir()
    (tmp_path / "duckdb_cli" / "__init__.py").write_text("")
    db = tmp_path / "news.duckdb"
    duckdb.connect(str(db)).close()
    result = newsdesk("shell", "--db", str(db), env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1
    wanted = importlib.metadata.version("duckdb")
    assert f"the DuckDB CLI is not installed: it comes with the package duckdb-cli=={wanted}" in (
        result.stderr
    )


@pytest.mark.prefect
def test_a_shell_open_on_a_lake_does_not_stop_a_run_and_then_sees_its_articles(
    tmp_path, prefect_api
):
    """The issue's acceptance test: a `duckdb -readonly`-style session opened by `newsdesk shell`
    stays open, having run a query, while a run writes the lake; the run commits while the shell
    is open, and the shell then sees its articles."""
    db = f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    with LocalServer() as server:
        site = OverlapSite(server, 1, STORIES)
        feeds = write_feeds_file(tmp_path / "feeds.toml", site.feed_urls())
        ingest(feeds, db, prefect_api)
        count = "SELECT 'count', count(*) FROM latest_articles"
        with Session(["--db", db]) as analyst:
            analyst.ask(count, lambda line: line == f"count,{STORIES}")
            site.stories = 2 * STORIES  # the feed now lists new stories
            run = subprocess.Popen(
                [NEWSDESK, "ingest", "--feeds", str(feeds), "--db", db],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **ingest_env(prefect_api)},
            )
            _, errors = run.communicate(timeout=600)
            assert run.returncode == 0, errors
            assert analyst.alive(), "the shell closed while the run wrote"
            # The run committed while the shell was open…
            stored = Warehouse(db).query("SELECT count(*) FROM articles")[1]
            assert stored == [(2 * STORIES,)]
            # …and the open session sees its articles.
            analyst.ask(count, lambda line: line == f"count,{2 * STORIES}")
        assert analyst.returncode == 0, analyst.stderr_lines()


@pytest.mark.prefect
def test_a_transaction_left_open_in_the_shell_holds_no_run_back(tmp_path, prefect_api):
    """An analyst who typed BEGIN and ran a query holds a read transaction on the lake's SQLite
    catalog for as long as the session lasts: two runs commit beside it all the same, the
    transaction keeps seeing what it saw, and the session sees the runs' articles once it
    ends the transaction."""
    db = f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    with LocalServer() as server:
        site = OverlapSite(server, 1, STORIES)
        feeds = write_feeds_file(tmp_path / "feeds.toml", site.feed_urls())
        ingest(feeds, db, prefect_api)
        count = "SELECT 'count', count(*) FROM articles"
        with Session(["--db", db]) as analyst:
            analyst.ask(f"BEGIN; {count}", lambda line: line == f"count,{STORIES}")
            for more in (2, 3):
                site.stories = more * STORIES
                ingest(feeds, db, prefect_api)
            assert Warehouse(db).query("SELECT count(*) FROM articles")[1] == [(3 * STORIES,)]
            analyst.ask(count, lambda line: line == f"count,{STORIES}")
            analyst.ask(f"COMMIT; {count}", lambda line: line == f"count,{3 * STORIES}")
        assert analyst.returncode == 0, analyst.stderr_lines()


class Session:
    """`newsdesk shell ARGS -csv -noheader` kept open on pipes, as an analyst's session: SQL in,
    answers read as they come, without fixed sleeps."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.returncode: int | None = None

    def __enter__(self) -> Session:
        self.proc = subprocess.Popen(
            [NEWSDESK, "shell", *self.args, "-csv", "-noheader"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=self.env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: list[str | None] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.lines.put)),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.errors.append)),
        ]
        for reader in self._readers:
            reader.start()
        return self

    @staticmethod
    def _read(stream, put: Callable) -> None:
        for line in stream:
            put(line.rstrip("\n"))
        put(None)

    def ask(self, sql: str, answered: Callable[[str], bool]) -> str:
        """Send `sql` and wait for the line of output that `answered` accepts."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(sql.rstrip(";") + ";\n")
        self.proc.stdin.flush()
        seen = []
        for line in self._lines():
            if answered(line):
                return line
            seen.append(line)
        raise AssertionError(f"no answer to {sql!r}: printed {seen}, errors {self.errors}")

    def _lines(self) -> Iterator[str]:
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                return
            if line is None:
                return
            yield line

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_lines(self) -> list[str]:
        return [e for e in self.errors if e is not None]

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # end of input: the CLI exits
        try:
            self.returncode = self.proc.wait(timeout=WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for reader in self._readers:
                reader.join(timeout=WAIT)


@pytest.mark.parametrize(
    ("argv", "own", "cli"),
    [
        ([], [], []),
        (["--db", "x", "-csv", "-c", "SELECT 1"], ["--db", "x"], ["-csv", "-c", "SELECT 1"]),
        (["--db=x", "--snapshot", "-c", "--db"], ["--db=x", "--snapshot"], ["-c", "--db"]),
        (["--", "--db", "y"], [], ["--db", "y"]),
        (["-c", "SELECT 1", "--db", "x"], [], ["-c", "SELECT 1", "--db", "x"]),
    ],
)
def test_newsdesks_own_options_come_first_and_the_rest_is_the_clis(argv, own, cli):
    assert split_arguments(argv) == (own, cli)
