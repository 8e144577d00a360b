"""What full-text search costs to keep current and to query, and how stemming changes ranking.

    .venv/bin/python -m bench.search scale [ROWS]     # index upkeep and queries at ROWS (1M)
    .venv/bin/python -m bench.search ranking [DB]     # stemmers on the corpus's stored pages

`scale` pre-fills a warehouse of ROWS synthetic articles with the warehouse benchmark's builder
(`bench.warehouse_scale.prefill`: about 60 words each, from a 70-word vocabulary, so every
vocabulary word is in a large share of the articles: the worst case for a query), then times,
through `storage.search`:

* the full build (`PRAGMA create_fts_index`, what a warehouse without an index gets once), with
  the process's peak RSS;
* after a checkpoint and a fresh open (as every run opens the warehouse): a run's index step
  with nothing new (comparing the counts of stored and indexed articles);
* the step for 1,000 new articles (copies of stored ones under new ids), and for 50 edited
  ones, given their ids as a run gives them;
* the maintenance flow's thorough check (the anti-join for articles the index lacks);
* queries: a word in one article, and two words each in about half of them.

`ranking` compares ways of indexing many languages on the corpus's real pages: it serves the
293 corpus pages from 127.0.0.1 behind three feeds and ingests them with `newsdesk ingest`
(or reads DB, a warehouse holding them), then for each article with a headline asks three
known-item questions and scores the mean reciprocal rank of that article in the top 10: its
headline words over headline and text; its headline words over the text only (where the
inflected forms of the body meet the headline's); and the last two headline words over the
text. Indexes compared: one index without stemming (what newsdesk uses), one with the Porter
(English) stemmer, and one index per language with that language's Snowball stemmer (`none`
where there is none). Each question of the per-language case is asked of its article's
language's index, so it knows the language; the others are asked of everything.
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from harness.cli import NEWSDESK
from harness.corpus import CORPUS
from harness.httpserver import LocalServer
from harness.sites import corpus_pages, serve_corpus_feeds, write_feeds_file
from storage import search
from storage.extensions import load_extension
from storage.migrations import lookup_key

STEMMERS = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "pt": "portuguese",
    "ru": "russian",
    "es": "spanish",
    "it": "italian",
    "id": "indonesian",
}


NEW_ID = "'new-' || article_id"


def _timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def scale(rows: int) -> dict[str, float]:
    from bench.warehouse_scale import prefill

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "news.duckdb"
        fill = prefill(db, rows, 1000)
        con = duckdb.connect(str(db))
        try:
            build, _ = _timed(lambda: search.rebuild_index(con))
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            checkpoint, _ = _timed(lambda: con.execute("CHECKPOINT"))
        finally:
            con.close()
        # Each run opens the warehouse afresh, as here.
        con = duckdb.connect(str(db))
        try:
            idle, _ = _timed(lambda: search.index_articles(con, set()))
            new_ids = {
                "new-" + r[0]
                for r in con.execute(
                    "SELECT article_id FROM articles ORDER BY first_seen_at DESC LIMIT 1000"
                ).fetchall()
            }
            con.execute(
                "INSERT INTO articles SELECT * REPLACE ('new-' || article_id AS article_id, "
                f"{lookup_key(NEW_ID)} AS article_id_key) "
                "FROM articles ORDER BY first_seen_at DESC LIMIT 1000"
            )
            new, added = _timed(lambda: search.index_articles(con, new_ids))
            assert added == 1000
            edited = {
                r[0] for r in con.execute("SELECT article_id FROM articles LIMIT 50").fetchall()
            }
            con.execute(
                "UPDATE articles SET title = title || ' revised' "
                "WHERE list_contains(?, article_id)",
                [sorted(edited)],
            )
            edit, _ = _timed(lambda: search.index_articles(con, edited))
            thorough, _ = _timed(lambda: search.index_articles(con, set(), thorough=True))
            rare, hits = _timed(lambda: search.search(con, str(rows // 2)))
            assert hits
            common, _ = _timed(lambda: search.search(con, "harbour storm"))
        finally:
            con.close()
    return {
        "rows": rows,
        "fill_s": fill,
        "full_build_s": build,
        "full_build_peak_rss_mib": rss,
        "checkpoint_after_build_s": checkpoint,
        "run_step_nothing_new_s": idle,
        "run_step_1000_new_s": new,
        "run_step_50_edited_s": edit,
        "maintenance_check_s": thorough,
        "query_rare_word_s": rare,
        "query_common_words_s": common,
    }


def ingest_corpus(work: Path) -> Path:
    """The corpus pages ingested through the CLI into `work/corpus.duckdb`."""
    pages = corpus_pages(CORPUS, ["aeb-", "wcxb-", "traf-"])
    db = work / "corpus.duckdb"
    with LocalServer() as server:
        feeds = serve_corpus_feeds(server, CORPUS, pages)
        feeds_file = write_feeds_file(work / "feeds.toml", feeds)
        env = {
            **os.environ,
            "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
            "NEWSDESK_PER_HOST_DELAY": "0",
            "NEWSDESK_PREFECT_SERVER": os.environ.get("NEWSDESK_PREFECT_SERVER", "ephemeral"),
        }
        cli = [NEWSDESK, "ingest"]
        cli += ["--feeds", str(feeds_file), "--db", str(db), "--max-articles-per-feed", "0"]
        subprocess.run(cli, env=env, check=True, capture_output=True)
    return db


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"\w+", text.lower()) if len(w) > 3]


def ranking(db: Path) -> dict[str, dict[str, float]]:
    source = duckdb.connect(str(db), read_only=True)
    rows = source.execute(
        "SELECT article_id, title, text, language FROM articles "
        "WHERE title IS NOT NULL AND length(text) > 200"
    ).fetchall()
    source.close()
    con = duckdb.connect()
    load_extension(con, "fts")
    languages = sorted({r[3] or "none" for r in rows})
    con.execute("CREATE TABLE articles (article_id VARCHAR, title VARCHAR, text VARCHAR)")
    con.executemany("INSERT INTO articles VALUES (?, ?, ?)", [r[:3] for r in rows])
    for lang in languages:
        con.execute(
            f"CREATE TABLE docs_{lang} AS SELECT article_id, title, text FROM articles "
            "WHERE article_id IN (SELECT unnest(?))",
            [[r[0] for r in rows if (r[3] or "none") == lang]],
        )

    def build(table: str, stemmer: str) -> None:
        con.execute(
            f"PRAGMA create_fts_index('{table}', 'article_id', 'title', 'text', "
            f"stemmer = '{stemmer}', stopwords = 'none', ignore = '{search.IGNORE}', "
            "overwrite = 1)"
        )

    def top(table: str, query: str, fields: str | None) -> list[str]:
        chosen = f", fields := '{fields}'" if fields else ""
        return [
            r[0]
            for r in con.execute(
                f"SELECT article_id FROM (SELECT article_id, "
                f"fts_main_{table}.match_bm25(article_id, ?{chosen}) AS s FROM {table}) "
                "WHERE s IS NOT NULL ORDER BY s DESC LIMIT 10",
                [query],
            ).fetchall()
        ]

    def evaluate(table_of) -> dict[str, float]:
        scores: dict[str, list[float]] = {}
        for article_id, title, _, lang in rows:
            words = _words(title)
            if not words:
                continue
            group = "en" if lang == "en" else "other languages"
            table = table_of(lang or "none")
            questions = {
                "headline words, headline and text": (" ".join(words[:6]), None),
                "headline words, text only": (" ".join(words[:6]), "text"),
                "last two headline words, text only": (" ".join(words[-2:]), "text"),
            }
            for name, (query, fields) in questions.items():
                found = top(table, query, fields)
                rank = 1 / (found.index(article_id) + 1) if article_id in found else 0.0
                scores.setdefault(f"{name} ({group})", []).append(rank)
        return {k: statistics.mean(v) for k, v in sorted(scores.items())}

    results = {}
    build("articles", "none")
    results["one index, no stemming"] = evaluate(lambda _: "articles")
    build("articles", "porter")
    results["one index, Porter stemmer"] = evaluate(lambda _: "articles")
    for lang in languages:
        build(f"docs_{lang}", STEMMERS.get(lang, "none"))
    results["an index per language"] = evaluate(lambda lang: f"docs_{lang}")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[3] or "none"] = counts.get(r[3] or "none", 0) + 1
    print(f"{len(rows)} articles: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return results


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "scale"
    if mode == "scale":
        rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
        for name, value in scale(rows).items():
            print(f"{name:28} {value:12.3f}")
    elif mode == "ranking":
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(sys.argv[2]) if len(sys.argv) > 2 else ingest_corpus(Path(tmp))
            results = ranking(db)
        questions = list(next(iter(results.values())))
        print(f"{'mean reciprocal rank (top 10)':48}" + "".join(f"{k:>28}" for k in results))
        for q in questions:
            print(f"{q:48}" + "".join(f"{r[q]:28.3f}" for r in results.values()))
    else:
        sys.exit("usage: python -m bench.search scale [ROWS] | ranking [DB]")


if __name__ == "__main__":
    main()
