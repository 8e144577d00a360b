"""Feed parsing speed: `tasks.feeds.parse.parse_feed` against plain feedparser, per entry.

    .venv/bin/python -m bench.feed_parsing [CORPUS_DIR]

For every feed of the corpus (`corpus/feeds/manifest.jsonl`) with at least one entry, times

* ours: `parse_feed(name, body, base_url)`, the whole step as the flow runs it: feedparser
  with `sanitize_html=False, resolve_relative_uris=False`, then links normalized, HTML turned
  into plain text, dates to UTC, authors cleaned. The corpus records no HTTP headers, so
  `content_type` is None and `base_url` is `/feed.xml` on the feed's site, as in the tests;
* feedparser: `feedparser.parse(body)` with its defaults (sanitizer and relative-URI
  resolution on). The body is wrapped in `BytesIO`, so feedparser never tries it as a file
  name first; that changes no parsing option.

Each is run three times in a row on the same bytes, with the garbage collector paused as
`timeit` does, and the best time is kept, divided by the feed's entry count in the manifest
(which is feedparser's count; `parse_feed` may keep fewer, dropping entries without a link and
repeated links, so both are divided by the same number of items read). Reported: the median
of those ms/entry over the feeds, for each parser; `speedup` (feedparser's median / ours,
above 1 when ours is faster); `total_speedup`, the same over the summed time of all compared
feeds (big feeds with much HTML weigh in); and how many feeds and entries were compared.

Only feeds both parsers read entries from are compared. That leaves out the JSON Feeds
(feedparser 6 does not read JSON; `parse_feed` has its own reader for them) and the feeds
whose items all lack a link (feedparser returns the items, `parse_feed` no entries).
"""

from __future__ import annotations

import gc
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser

from harness.corpus import CORPUS
from tasks.feeds.parse import parse_feed

TRIES = 3


def best_of(call: Callable[[], Any], tries: int = TRIES) -> tuple[float, Any]:
    """The fastest of `tries` calls, in seconds, and the last call's result."""
    best = float("inf")
    result = None
    for _ in range(tries):
        enabled = gc.isenabled()
        gc.disable()
        try:
            started = time.perf_counter()
            result = call()
            best = min(best, time.perf_counter() - started)
        finally:
            if enabled:
                gc.enable()
    return best, result


def plain_feedparser(body: bytes) -> Any:
    """feedparser with its defaults, on a fresh stream each call."""
    return feedparser.parse(io.BytesIO(body))


def corpus_feeds(corpus: Path) -> list[dict[str, Any]]:
    """Manifest rows of the corpus feeds that have at least one entry."""
    manifest = corpus / "feeds" / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    return [row for row in rows if row["entries"] >= 1]


def run(corpus: Path) -> dict[str, float]:
    """Median ms per entry of `parse_feed` and of plain feedparser over the corpus feeds that
    both read entries from; see the module docstring."""
    ours: list[float] = []
    theirs: list[float] = []
    entries = 0
    ours_total = theirs_total = 0.0
    for row in corpus_feeds(Path(corpus)):
        name = row["file"]
        body = (Path(corpus) / "feeds" / name).read_bytes()
        base_url = urljoin(row["site"] or "https://corpus.invalid/", "/feed.xml")
        ours_s, parsed = best_of(
            partial(parse_feed, name, body, base_url, content_type=None, default_language=None)
        )
        theirs_s, plain = best_of(partial(plain_feedparser, body))
        if not parsed.entries or not plain.entries:
            continue
        count = row["entries"]
        ours_total += ours_s
        theirs_total += theirs_s
        ours.append(ours_s * 1000 / count)
        theirs.append(theirs_s * 1000 / count)
        entries += count
    if not ours:
        raise ValueError(f"{corpus}: no corpus feed that both parsers read entries from")
    newsdesk_ms = statistics.median(ours)
    feedparser_ms = statistics.median(theirs)
    return {
        "newsdesk_ms_per_entry": newsdesk_ms,
        "feedparser_ms_per_entry": feedparser_ms,
        "speedup": feedparser_ms / newsdesk_ms,
        "total_speedup": theirs_total / ours_total,
        "feeds": float(len(ours)),
        "entries": float(entries),
    }


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    if not (corpus / "feeds" / "manifest.jsonl").is_file():
        sys.exit(f"corpus not found at {corpus}: pass its path (../shared/corpus)")
    result = run(corpus)
    print(f"{'measure':<24}{'value':>10}")
    print(f"{'feeds':<24}{result['feeds']:>10.0f}")
    print(f"{'entries':<24}{result['entries']:>10.0f}")
    print(f"{'newsdesk_ms_per_entry':<24}{result['newsdesk_ms_per_entry']:>10.3f}")
    print(f"{'feedparser_ms_per_entry':<24}{result['feedparser_ms_per_entry']:>10.3f}")
    print(f"{'speedup':<24}{result['speedup']:>9.2f}×")
    print(f"{'total_speedup':<24}{result['total_speedup']:>9.2f}×")


if __name__ == "__main__":
    main()
