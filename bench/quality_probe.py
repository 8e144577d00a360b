"""Measure extraction quality of `tasks.extract.extract_article` on the shared corpus.

    uv run python bench/quality_probe.py [CORPUS_DIR] [--json FILE]

With --json, also writes the extract_article bodies as {page id: text} for the shared scorer:
`uv run python /work/shared/tools/extract_f1.py CORPUS_DIR --json FILE`.

Prints, against bare trafilatura as the anchor:
- body token F1 on the 181 `aeb-*` pages (scorer: /work/shared/tools/extract_f1.py);
- publication-date accuracy on the `wcxb-*`/`traf-*` pages, with a feed entry that has no date;
- title accuracy (exact match after whitespace normalization) on the same pages.

A measurement, not a test: figures go in reports, nothing here asserts.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import trafilatura
from w3lib.encoding import html_to_unicode

from tasks.extract import extract_article
from tasks.models import FeedEntry, Page

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT / "shared" / "corpus"
SCORER = ROOT / "shared" / "tools" / "extract_f1.py"


def load_scorer():
    spec = importlib.util.spec_from_file_location("extract_f1", SCORER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_html(corpus: Path, page_id: str) -> str:
    body = (corpus / "articles" / f"{page_id}.html").read_bytes()
    return html_to_unicode(None, body)[1]


def article_for(corpus: Path, row: dict):
    html = read_html(corpus, row["id"])
    entry = FeedEntry(feed_name="probe", url=row["url"])
    page = Page(url=row["url"], final_url=row["url"], http_status=200, html=html)
    return extract_article(entry, page), html


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


def probe_bodies(corpus: Path, scorer, dump: Path | None = None) -> None:
    truth = scorer.load_truth(corpus)
    ours, bare, bare_precision = {}, {}, {}
    seconds = 0.0
    for row in truth:
        html = read_html(corpus, row["id"])
        start = time.perf_counter()
        article, _ = article_for(corpus, row)
        seconds += time.perf_counter() - start
        ours[row["id"]] = article.text if article.extraction == "page" else ""
        bare[row["id"]] = trafilatura.extract(html, url=row["url"]) or ""
        bare_precision[row["id"]] = (
            trafilatura.extract(html, url=row["url"], favor_precision=True, include_comments=False)
            or ""
        )
    print(f"body F1 on {len(truth)} aeb pages (mean P / R / F1):")
    for label, preds in (
        ("bare trafilatura.extract", bare),
        ("extract(favor_precision, no comments)", bare_precision),
        ("extract_article", ours),
    ):
        precision, recall, f1 = scorer.score(truth, preds)
        print(f"  {label:<40} P={precision:.3f} R={recall:.3f} F1={f1:.3f}")
    if dump:
        dump.write_text(json.dumps(ours, ensure_ascii=False), encoding="utf-8")
    print(f"  extract_article seconds/page (incl. metadata, language): {seconds / len(truth):.4f}")


def probe_dates_and_titles(corpus: Path) -> None:
    rows = [
        json.loads(line)
        for line in (corpus / "articles" / "ground_truth.jsonl").read_text().splitlines()
        if line.strip()
    ]
    rows = [r for r in rows if r["id"].startswith(("wcxb-", "traf-"))]
    dated = [r for r in rows if r.get("date")]
    exact = near = missing = 0
    bare_exact = bare_near = 0
    by_precision: dict[str, int] = {}
    misses: list[str] = []
    titles_ours = titles_bare = titled = 0
    title_misses: list[str] = []
    for row in rows:
        article, html = article_for(corpus, row)
        meta = trafilatura.bare_extraction(html, url=row["url"], with_metadata=True)
        want_day = date.fromisoformat(row["date"][:10]) if row.get("date") else None
        if want_day:
            bare_day = date.fromisoformat(meta.date) if meta and meta.date else None
            bare_exact += bare_day == want_day
            bare_near += bare_day is not None and abs(bare_day - want_day) <= timedelta(days=1)
            got = article.published_at
            if got is None:
                missing += 1
                misses.append(f"{row['id']}: none (want {want_day})")
            else:
                by_precision[article.published_at_precision] = (
                    by_precision.get(article.published_at_precision, 0) + 1
                )
                if got.date() == want_day:
                    exact += 1
                if abs(got.date() - want_day) <= timedelta(days=1):
                    near += 1
                else:
                    misses.append(
                        f"{row['id']}: {got.isoformat()} {article.published_at_precision}"
                        f" (want {want_day})"
                    )
        if row.get("title"):
            titled += 1
            want = norm(row["title"])
            titles_ours += norm(article.title) == want
            bare_title = norm(meta.title if meta else None)
            titles_bare += bare_title == want
            if norm(article.title) != want:
                title_misses.append(f"{row['id']}: {article.title!r} (want {row['title']!r})")
    n = len(dated)
    print(f"\npublication date on {n} wcxb/traf pages (feed entry without a date):")
    print(
        f"  extract_article  exact day {exact}/{n} = {exact / n:.3f}, "
        f"±1 day {near}/{n} = {near / n:.3f}, none {missing}; precision {by_precision}"
    )
    print(
        f"  bare trafilatura exact day {bare_exact}/{n} = {bare_exact / n:.3f}, "
        f"±1 day {bare_near}/{n} = {bare_near / n:.3f}"
    )
    for miss in misses:
        print("    miss", miss)
    print(f"\ntitle exact match on {titled} pages:")
    print(f"  extract_article  {titles_ours}/{titled} = {titles_ours / titled:.3f}")
    print(f"  bare trafilatura {titles_bare}/{titled} = {titles_bare / titled:.3f}")
    for miss in title_misses:
        print("    miss", miss)


def main() -> None:
    args = sys.argv[1:]
    dump = None
    if "--json" in args:
        at = args.index("--json")
        dump = Path(args[at + 1])
        del args[at : at + 2]
    corpus = Path(args[0]) if args else DEFAULT_CORPUS
    if not (corpus / "articles" / "ground_truth.jsonl").exists():
        sys.exit(f"corpus not found at {corpus}")
    probe_bodies(corpus, load_scorer(), dump)
    probe_dates_and_titles(corpus)


if __name__ == "__main__":
    main()
