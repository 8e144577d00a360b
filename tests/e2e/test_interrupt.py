"""Ctrl-C and SIGTERM end a busy `newsdesk ingest` within seconds: the real CLI process, its
extraction workers at pages that would hold them for minutes, a warehouse from an earlier run.

Ctrl-C is sent as a terminal sends it, to the whole process group (the run, its workers and
Prefect's temporary API alike); SIGTERM as `kill` or a supervisor sends it, to the run alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import pytest

from harness.cli import NEWSDESK
from harness.httpserver import LocalServer, Reply, Seen
from harness.kills import group_alive
from harness.pages import HTML, article_page
from harness.sites import write_feeds_file

FIRST_RUN = 3
EXIT_WITHIN = 15.0
"""Seconds from the signal to the exit: generous for 2 busy cores; the point is not minutes."""


STALLING_PAGE = (
    "<html><body><article><h1>Endless</h1>"
    + "".join(f"<p>line {i}</p>" for i in range(150_000))
    + "</article></body></html>"
).encode()
"""Minutes of trafilatura for one worker (tens of thousands of one-line paragraphs)."""


class Site:
    """A feed of healthy stories; `stall()` adds entries whose pages stall extraction."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.links = [f"/story-{n}.html" for n in range(FIRST_RUN)]
        for n, link in enumerate(self.links):
            server.routes[link] = Reply(headers=HTML, body=article_page(f"Story {n}", n))
        server.routes["/feed.xml"] = self._feed
        server.routes["/robots.txt"] = Reply(status=404)

    def stall(self) -> None:
        for n in range(4):
            link = f"/endless-{n}.html"
            self.server.routes[link] = Reply(headers=HTML, body=STALLING_PAGE)
            self.links.append(link)

    def _feed(self, seen: Seen) -> Reply:
        items = "".join(
            f"<item><title>{link}</title><link>{escape(self.server.url(link))}</link>"
            f"<description>Feed text of {link}.</description></item>"
            for link in self.links
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{self.server.url('/')}</link>{items}</channel></rss>"
        ).encode()
        return Reply(headers={"Content-Type": "application/rss+xml"}, body=body)


def start_ingest(feeds_file: Path, db: Path, env: dict[str, str]) -> subprocess.Popen:
    # No PREFECT_API_URL: each run starts Prefect's temporary API, which must be stopped too.
    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return subprocess.Popen(
        [NEWSDESK, "ingest", "--feeds", str(feeds_file), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**environment, **env},
        start_new_session=True,  # its own process group, as a terminal gives a command
        cwd=db.parent,
    )


def wait_until_extracting(server: LocalServer, proc: subprocess.Popen) -> None:
    """Until the run has downloaded a stalling page, and a little longer."""
    deadline = time.monotonic() + 240
    while not any("/endless-" in p for p in server.paths()):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the run never reached the article pages"
        time.sleep(0.1)
    time.sleep(1.5)


def articles(db: Path) -> tuple[set[str], int]:
    """Stored URL paths, and the runs recorded; opening the file also proves it is whole."""
    with duckdb.connect(str(db), read_only=True) as con:
        urls = {url for (url,) in con.execute("SELECT url FROM articles").fetchall()}
        row = con.execute("SELECT count(*) FROM ingest_runs").fetchone()
    return {"/" + url.rsplit("/", 1)[1] for url in urls}, row[0] if row else 0


@pytest.mark.parametrize(
    ("signum", "to_group", "code", "extracting"),
    [
        (signal.SIGINT, True, 130, True),
        (signal.SIGTERM, False, 143, True),
        (signal.SIGINT, True, 130, False),
    ],
    ids=["ctrl-c-to-the-group", "sigterm-to-the-run", "ctrl-c-at-start-up"],
)
def test_a_signal_ends_a_busy_run_promptly_and_keeps_the_warehouse_whole(
    tmp_path: Path, signum: signal.Signals, to_group: bool, code: int, extracting: bool
) -> None:
    db = tmp_path / "news.duckdb"
    env = {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        "NEWSDESK_EXTRACT_TIMEOUT": "600",
        "NEWSDESK_WORKERS": "2",
    }
    with LocalServer() as server:
        site = Site(server)
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"site": server.url("/feed.xml")})
        first = start_ingest(feeds_file, db, env)
        assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
        before = articles(db)
        assert before == ({f"/story-{n}.html" for n in range(FIRST_RUN)}, 1)

        site.stall()
        proc = start_ingest(feeds_file, db, env)
        if extracting:
            wait_until_extracting(server, proc)
        else:
            time.sleep(1.0)  # importing Prefect, or starting its temporary API
        sent = time.monotonic()
        if to_group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        try:
            returncode = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        seconds = time.monotonic() - sent
        stderr = proc.stderr.read() if proc.stderr else ""

    assert returncode == code, stderr
    assert seconds < EXIT_WITHIN, f"exited {seconds:.1f} s after the signal"
    # One line, and it says what was kept (Prefect's own crash report goes to its API).
    assert stderr.strip().splitlines() == [
        "interrupted: nothing written; the next run fetches these feeds again"
    ]
    # Workers, the fork server and the temporary API went with it.
    deadline = time.monotonic() + 10
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_alive(proc.pid) == []
    assert articles(db) == before
