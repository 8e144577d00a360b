"""A page that would hold an extraction worker for minutes, a worker that dies mid-page, and a
feed body that would hold the parser for hours, through the real `ingest` flow (Prefect test
harness, real DuckDB, real trafilatura): the run completes, the other pages come from the page,
the lost one from its feed's text with why, and the stalling feed is recorded as failed."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import pytest

from flows.ingest import ingest
from harness.httpserver import LocalServer, Reply
from harness.pages import HTML, article_page
from harness.sites import write_feeds_file

pytestmark = pytest.mark.usefixtures("prefect_api")

HEALTHY = 5


def stalling_page() -> bytes:
    """Valid HTML well under the size cap that costs trafilatura seconds to minutes: tens of
    thousands of one-line paragraphs (its cost grows with their square; this one is ~10 s)."""
    paragraphs = "".join(f"<p>line {i}</p>" for i in range(50_000))
    return (
        "<html><head><title>Endless</title></head><body><article><h1>Endless</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


def serve_site(server: LocalServer, tmp: Path) -> Path:
    links = {f"story-{n}": article_page(f"Story {n}", n) for n in range(HEALTHY)}
    links["endless"] = stalling_page()
    items = []
    for name, body in links.items():
        server.routes[f"/{name}.html"] = Reply(headers=HTML, body=body)
        link = escape(server.url(f"/{name}.html"))
        items.append(
            f"<item><title>{name}</title><link>{link}</link><guid>{link}</guid>"
            f"<description>Feed text of {name}.</description></item>"
        )
    server.routes["/feed.xml"] = Reply(
        headers={"Content-Type": "application/rss+xml"},
        body=(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{server.url('/')}</link>{''.join(items)}</channel></rss>"
        ).encode(),
    )
    return write_feeds_file(tmp / "feeds.toml", {"site": server.url("/feed.xml")})


def stored(db: Path) -> dict[str, tuple[str, str | None, str]]:
    """URL path -> (extraction, extraction_error, text)."""
    with duckdb.connect(str(db), read_only=True) as con:
        sql = "SELECT url, extraction, extraction_error, text FROM articles"
        rows = con.execute(sql).fetchall()
        return {url.rsplit("/", 1)[1]: (how, error, text) for url, how, error, text in rows}


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_NETWORK", "1")
    monkeypatch.setenv("NEWSDESK_WORKERS", "2")


def run(feeds_file: Path, db: Path) -> None:
    ingest(feeds_file=str(feeds_file), db=str(db), max_articles_per_feed=0)


def test_a_page_past_the_time_limit_is_stored_from_the_feed_and_the_run_goes_on(
    limits, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSDESK_EXTRACT_TIMEOUT", "2")
    db = tmp_path / "news.duckdb"
    with LocalServer() as server:
        started = time.monotonic()
        run(serve_site(server, tmp_path), db)
        seconds = time.monotonic() - started

    rows = stored(db)
    assert rows["endless.html"] == (
        "feed",
        "extraction took longer than 2 s",
        "Feed text of endless.",
    )
    for n in range(HEALTHY):
        how, error, text = rows[f"story-{n}.html"]
        assert (how, error) == ("page", None)
        assert len(text.split()) > 200
    # Not the ~10 s (minutes on a real page of this kind) the page would have held a worker.
    assert seconds < 60


def test_a_worker_killed_mid_page_costs_only_that_page(
    limits, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSDESK_EXTRACT_TIMEOUT", "120")  # the kill, not the limit, ends it
    db = tmp_path / "news.duckdb"
    killed: list[int] = []
    done = threading.Event()

    def kill_the_busy_worker() -> None:
        # The healthy pages cost a worker well under a second of CPU in all; one that has
        # used two seconds is at the endless page.
        while not done.is_set() and not killed:
            for pid in extraction_workers():
                if cpu_seconds(pid) > 2:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.1)

    killer = threading.Thread(target=kill_the_busy_worker, daemon=True)
    with LocalServer() as server:
        feeds_file = serve_site(server, tmp_path)
        killer.start()
        try:
            run(feeds_file, db)
        finally:
            done.set()
            killer.join()

    assert killed, "no worker was ever busy for two seconds"
    rows = stored(db)
    assert rows["endless.html"] == (
        "feed",
        "extraction worker died (SIGKILL)",
        "Feed text of endless.",
    )
    assert all(rows[f"story-{n}.html"][:2] == ("page", None) for n in range(HEALTHY))


def test_a_feed_past_the_parse_time_limit_fails_its_poll_and_the_run_goes_on(
    limits, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSDESK_PARSE_TIMEOUT", "2")
    db = tmp_path / "news.duckdb"
    # 2.7 MiB of valid RSS whose one element of 300,000 attributes costs feedparser hours.
    attributes = " ".join(f'a{i}="1"' for i in range(300_000))
    stalling = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link>'
        f"<item><title>a</title><link>/a</link><x {attributes}/></item></channel></rss>"
    ).encode()
    with LocalServer() as server:
        healthy = serve_site(server, tmp_path).read_text()
        server.routes["/stalling.xml"] = Reply(
            headers={"Content-Type": "application/rss+xml"}, body=stalling
        )
        feeds_file = tmp_path / "both.toml"
        feeds_file.write_text(
            healthy + f'[[feeds]]\nname = "stalling"\nurl = "{server.url("/stalling.xml")}"\n'
        )
        started = time.monotonic()
        run(feeds_file, db)
        seconds = time.monotonic() - started

    rows = stored(db)
    assert all(rows[f"story-{n}.html"][:2] == ("page", None) for n in range(HEALTHY))
    with duckdb.connect(str(db), read_only=True) as con:
        feed = con.execute(
            "SELECT last_status, last_error, consecutive_failures, next_poll_at IS NOT NULL "
            "FROM feeds WHERE name = 'stalling'"
        ).fetchone()
    assert feed == ("failed", "feed parsing took longer than 2 s", 1, True)
    assert seconds < 60


def extraction_workers() -> list[int]:
    """This process's extraction workers: the children of its multiprocessing fork server."""
    parents = _parents()
    servers = [pid for pid in _descendants(os.getpid(), parents) if _is_fork_server(pid)]
    return [pid for pid, parent in parents.items() if parent in servers]


def _is_fork_server(pid: int) -> bool:
    try:
        return b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    return parents


def _descendants(root: int, parents: dict[int, int]) -> list[int]:
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
