"""Cold ingest of the corpus `aeb-*` pages through the real CLI; body F1 of what was stored.

    .venv/bin/python -m bench.corpus_ingest [CORPUS_DIR]

Serves the 181 pages at their original paths from a loopback server, behind three RSS feeds,
runs `newsdesk ingest` into a fresh warehouse, then scores the stored `text` with the shared
scorer (`../shared/tools/extract_f1.py`) next to bare `trafilatura.extract` on the same pages.
A measurement, not a test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import trafilatura

from harness.cli import NEWSDESK
from harness.corpus import CORPUS, load_scorer
from harness.httpserver import LocalServer
from harness.sites import corpus_pages, local_path, serve_corpus_feeds, write_feeds_file
from tasks.urls import normalize_url


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    if not (corpus / "articles").is_dir():
        sys.exit(f"corpus not found at {corpus}: pass its path (../shared/corpus)")
    scorer = load_scorer(corpus)
    pages = corpus_pages(corpus, ["aeb-"])
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        feeds = serve_corpus_feeds(server, corpus, pages)
        feeds_file = write_feeds_file(Path(tmp) / "feeds.toml", feeds)
        db = Path(tmp) / "news.duckdb"
        env = {**os.environ, "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1"}
        args = [NEWSDESK, "ingest", "--feeds", str(feeds_file), "--db", str(db)]
        started = time.perf_counter()
        subprocess.run(
            [*args, "--max-articles-per-feed", "0"], env=env, check=True, capture_output=True
        )
        wall = time.perf_counter() - started
        with duckdb.connect(str(db), read_only=True) as con:
            stored = dict(con.execute("SELECT url, text FROM articles").fetchall())
            (flow_seconds,) = con.execute("SELECT duration_seconds FROM ingest_runs").fetchone()
        by_url = {normalize_url(server.url(local_path(p))): p.id for p in pages}

    ours = {by_url[url]: text for url, text in stored.items() if url in by_url}
    truth = scorer.load_truth(str(corpus))
    bare = {}
    for row in truth:
        html = (corpus / "articles" / f"{row['id']}.html").read_bytes()
        bare[row["id"]] = trafilatura.extract(html, url=row["url"]) or ""
    ours_prf, bare_prf = scorer.score(truth, ours), scorer.score(truth, bare)

    print(f"{'':38} {'P':>6} {'R':>6} {'F1':>6}")
    print(f"{'bare trafilatura.extract':38} " + " ".join(f"{x:6.3f}" for x in bare_prf))
    print(f"{'newsdesk (stored articles.text)':38} " + " ".join(f"{x:6.3f}" for x in ours_prf))
    print()
    print(f"pages served: {len(pages)}   articles stored: {len(stored)}   matched: {len(ours)}")
    print(f"cold ingest wall time (CLI, incl. Prefect start-up): {wall:.1f} s")
    print(f"flow run duration (ingest_runs.duration_seconds):    {flow_seconds:.1f} s")
    print(
        json.dumps(
            {"f1": ours_prf[2], "bare_f1": bare_prf[2], "wall_s": wall, "flow_s": flow_seconds}
        )
    )


if __name__ == "__main__":
    main()
