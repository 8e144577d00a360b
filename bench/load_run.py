"""The load run: many feeds on local servers, some failing, some slow, some hostile.

    .venv/bin/python -m bench.load_run [FEEDS]        # default 1000

Serves FEEDS feeds from loopback servers on 127.0.1.x (ten feeds per address, so per-host
politeness applies as it would across real sites): 5% fail (HTTP 500/404/410, connection
refused, an HTML page), 5% are slow (2 s before the first byte, well within the timeouts), 1%
are hostile (gzip bomb, 30 MiB body, trickling, never answering, redirect loop, billion laughs).
Every other feed lists one article page. Runs `newsdesk ingest` once, as a user would, and
checks that every healthy and slow feed was ingested with its article's page text.

Timeouts are shortened (10 s per response) so hostile servers cost seconds, not minutes; the
per-host spacing keeps its default. `tests/e2e/test_load.py` runs this at a smaller size in CI.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb

from harness.cli import NEWSDESK
from harness.httpserver import LocalServer, Reply, Seen, free_port, redirect
from harness.pages import article_page, item, rss
from harness.sites import write_feeds_file

FEEDS_PER_HOST = 10
FAILING = ("http-500", "http-404", "http-410", "refused", "html-page")
HOSTILE = ("gzip-bomb", "huge", "trickle", "never-answers", "redirect-loop", "billion-laughs")
ENV = {
    "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",  # every "site" is on loopback
    "NEWSDESK_CONNECT_TIMEOUT": "5",
    "NEWSDESK_READ_TIMEOUT": "5",
    "NEWSDESK_TOTAL_TIMEOUT": "10",
    "NEWSDESK_PER_HOST_DELAY": "0.5",
}
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">'.encode()
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + b']><rss version="2.0"><channel><title>&i;</title><item><title>Laughs &i;</title>'
    b"<link>{link}</link></item></channel></rss>"
)


@dataclass
class LoadResult:
    feeds: int
    kinds: Counter[str]
    seconds: float
    exit_code: int
    peak_rss_mib: float
    statuses: Counter[str] = field(default_factory=Counter)
    healthy_ingested: int = 0
    healthy_expected: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected_ok: list[str] = field(default_factory=list)
    articles: int = 0
    summary: str = ""
    output_tail: str = ""


def assign_kinds(count: int, seed: int = 7) -> list[str]:
    """5% failing, 5% slow, 1% hostile (at least one of each), the rest healthy."""
    failing = max(1, round(count * 0.05))
    slow = max(1, round(count * 0.05))
    hostile = max(1, round(count * 0.01))
    kinds = (
        [FAILING[i % len(FAILING)] for i in range(failing)]
        + ["slow"] * slow
        + [HOSTILE[i % len(HOSTILE)] for i in range(hostile)]
    )
    kinds += ["healthy"] * (count - len(kinds))
    random.Random(seed).shuffle(kinds)
    return kinds


def _delayed(reply: Reply, seconds: float):
    def route(seen: Seen) -> Reply:
        time.sleep(seconds)
        return reply

    return route


def route_feed(server: LocalServer, index: int, kind: str) -> str:
    """Route feed `index` of kind `kind` on `server`; return its URL."""
    path = f"/feeds/{index}.xml"
    page = f"/stories/{index}.html"
    link = server.url(page)
    ok = Reply(
        headers={"Content-Type": "application/rss+xml"}, body=rss([item(link, f"Story {index}")])
    )
    if kind in ("healthy", "slow", "billion-laughs"):
        server.routes[page] = Reply(
            headers={"Content-Type": "text/html"},
            body=article_page(f"Story {index}", str(index), paragraphs=5),
        )
    if kind == "refused":
        return f"http://{server.host}:{free_port()}{path}"
    server.routes[path] = _feed_route(kind, ok, path, link)
    return server.url(path)


def _feed_route(kind: str, ok: Reply, path: str, link: str):
    rss_type = {"Content-Type": "application/rss+xml"}
    if kind == "healthy":
        return ok
    if kind == "slow":
        return _delayed(ok, 2.0)
    if kind.startswith("http-"):
        return Reply(status=int(kind.removeprefix("http-")))
    if kind == "html-page":
        return Reply(
            headers={"Content-Type": "text/html"},
            body=article_page("Story home", "home", paragraphs=5),
        )
    if kind == "gzip-bomb":
        return Reply(
            headers={**rss_type, "Content-Encoding": "gzip"},
            body=gzip.compress(b" " * (100 * 1024 * 1024), compresslevel=1),
        )
    if kind == "huge":
        return Reply(headers=rss_type, body=b"<rss>" + b" " * (30 << 20))
    if kind == "trickle":
        return Reply(headers=rss_type, body=ok.body, trickle=0.5)
    if kind == "never-answers":
        return _delayed(ok, 60.0)
    if kind == "redirect-loop":
        return redirect(path)
    if kind == "billion-laughs":
        return Reply(headers=rss_type, body=LAUGHS.replace(b"{link}", escape(link).encode()))
    raise ValueError(kind)


def run_load(count: int = 1000, env: dict[str, str] | None = None, seed: int = 7) -> LoadResult:
    kinds = assign_kinds(count, seed)
    hosts = max(1, -(-count // FEEDS_PER_HOST))
    servers = [LocalServer(host=f"127.0.1.{1 + h}") for h in range(hosts)]
    for server in servers:
        server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            feeds = {
                f"load-{i:04d}": route_feed(servers[i // FEEDS_PER_HOST], i, kind)
                for i, kind in enumerate(kinds)
            }
            feeds_file = write_feeds_file(Path(tmp) / "feeds.toml", feeds)
            db = Path(tmp) / "news.duckdb"
            log = Path(tmp) / "ingest.log"
            started = time.monotonic()
            # Output to a file, not a pipe: the extraction fork server may hold the pipe open
            # for a while after the command has exited.
            with log.open("w") as out:
                proc = subprocess.Popen(
                    [NEWSDESK, "ingest", "--feeds", str(feeds_file), "--db", str(db)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "COLUMNS": "200", **ENV, **(env or {})},
                )
                _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.monotonic() - started
            stdout = log.read_text()
            result = LoadResult(
                feeds=count,
                kinds=Counter(kinds),
                seconds=seconds,
                exit_code=os.waitstatus_to_exitcode(status),
                peak_rss_mib=usage.ru_maxrss / 1024,
                summary=next(
                    (line for line in stdout.splitlines() if re.match(r"\d+ feeds \(", line)), ""
                ),
            )
            proc.returncode = result.exit_code
            result.output_tail = stdout[-2000:]
            _check(result, db, feeds, kinds)
            return result
    finally:
        stoppers = [threading.Thread(target=s.stop) for s in servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()


def _check(result: LoadResult, db: Path, feeds: dict[str, str], kinds: list[str]) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        status = dict(con.execute("SELECT name, last_status FROM feeds").fetchall())
        with_page_text = {
            name
            for (name,) in con.execute(
                "SELECT DISTINCT e.feed_name FROM feed_entries e "
                "JOIN articles a USING (article_id) WHERE a.extraction = 'page'"
            ).fetchall()
        }
        (result.articles,) = con.execute("SELECT count(*) FROM articles").fetchone() or (0,)
    result.statuses = Counter(status.values())
    for name, kind in zip(feeds, kinds, strict=True):
        if kind in ("healthy", "slow"):
            result.healthy_expected += 1
            if status.get(name) == "ok" and name in with_page_text:
                result.healthy_ingested += 1
            else:
                result.missing.append(f"{name} ({kind}): {status.get(name)}")
        elif kind != "billion-laughs" and status.get(name) != "failed":
            result.unexpected_ok.append(f"{name} ({kind}): {status.get(name)}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    result = run_load(count)
    print(f"feeds: {result.feeds} {dict(result.kinds)}")
    print(
        f"exit code {result.exit_code}, {result.seconds:.1f} s wall, "
        f"peak RSS {result.peak_rss_mib:.0f} MiB"
    )
    print(f"summary: {result.summary}")
    print(f"feed statuses: {dict(result.statuses)}; articles stored: {result.articles}")
    print(f"healthy and slow feeds ingested: {result.healthy_ingested}/{result.healthy_expected}")
    if result.missing or result.unexpected_ok:
        print("missing:", result.missing[:20], "unexpected:", result.unexpected_ok[:20])
        sys.exit(1)


if __name__ == "__main__":
    main()
