"""Full-text search over article headlines and text: a BM25 index kept current by the runs.

The index is DuckDB's `fts` extension's (schema `fts_main_articles`: `docs`, `terms`,
`dict`, `stats`), built whole by `PRAGMA create_fts_index`. That pragma has no incremental
mode, and a build takes minutes and gigabytes at a million articles (docs/benchmarks.md), so
it runs only for a warehouse without an index. After that each run adds the articles it stored
and re-indexes the ones it changed (`index_articles`), in the same tables and with the index's
own tokenizer, so the result ranks exactly as a full build would; the maintenance flow adds any
article a failed index step left out.

One index serves every language, without stemming: words are matched as written, case and
accents folded. On the corpus's pages (11 languages) per-language stemmers ranked the article
searched for no better (docs/benchmarks.md), while one index keeps scores comparable across
languages and costs one rebuild. `--lang` filters.

Chinese, Japanese and Thai, written without spaces, come out of the tokenizer as whole runs of
characters; a query with words in those scripts is answered by a substring scan instead.

On a DuckLake, where `create_fts_index` cannot index a lake table (duckdb/ducklake#537), the
same four tables and the extension's `tokenize` macro are lake objects in the lake's
`fts_main_articles` schema, built by the incremental path from no index (`_build_lake_index`),
so every reader that attaches the lake searches it with the same SQL and ranks as a file holding
the same articles does. Each write's index update is a lake transaction that rewrites the one
row of `stats`: two writers' updates always conflict, the loser is redone from a fresh snapshot
(`LakeWarehouse._retrying`), and an update that failed is repaired by the next one, which
re-indexes the ids it is given from scratch and adds whatever the index lacks.

Ranking: articles that contain more of the query's words first; among those, articles whose
headline contains more of them; then BM25F, a headline occurrence counting `TITLE_WEIGHT`
times a body occurrence.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import duckdb

from storage.extensions import load_extension
from storage.migrations import lookup_key

SCHEMA = "fts_main_articles"
TITLE_WEIGHT = 3
K1, B = 1.2, 0.75
IGNORE = r"(\.|[^\p{L}\p{N}])+"
"""What separates words: anything but letters and digits, in every script. (The extension's
default keeps only a-z, which would drop every Cyrillic, Greek or Arabic word.)"""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One article found, with the part of its text that matched."""

    rank: int
    article_id: str
    published_at: datetime | None
    feed_name: str
    language: str | None
    title: str | None
    snippet: str
    url: str
    score: float
    text_partial: bool | None = None
    """The stored text is a paywalled article's teaser (`articles.text_partial`)."""


@dataclass(frozen=True, slots=True)
class IndexState:
    """What the index covers."""

    exists: bool
    indexed: int
    pending: int
    """Stored articles not in the index yet (a run whose index step failed, say)."""


# The pragma takes literals only; every argument is a constant of this module.
CREATE_INDEX = (
    "PRAGMA create_fts_index('articles', 'article_id', 'title', 'text', "
    f"stemmer = 'none', stopwords = 'none', ignore = '{IGNORE}', "
    "strip_accents = 1, lower = 1, overwrite = 1)"
)


def index_exists(con: duckdb.DuckDBPyConnection) -> bool:
    # The connection's own database only: another one attached to it (a file being copied
    # into a lake, say) may have an index of its own.
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = ? AND table_name = 'docs'",
        [SCHEMA],
    ).fetchone()
    return bool(row and row[0])


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con`'s tables are a DuckLake's (attached and in use), not a DuckDB file's."""
    row = con.execute(
        "SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return bool(row and row[0] == "ducklake")


def rebuild_index(con: duckdb.DuckDBPyConnection) -> int:
    """Build the index from scratch over every article; return the articles indexed."""
    if is_lake(con):
        return _build_lake_index(con)
    load_extension(con, "fts")
    # One transaction: a run killed mid-build leaves the previous index, or none, never half
    # of one.
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(CREATE_INDEX)
        row = con.execute(f"SELECT num_docs FROM {SCHEMA}.stats").fetchone()
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return int(row[0]) if row else 0


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # A lake's COMMIT that lost a race has ended the transaction already.
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("ROLLBACK")


LAKE_TABLES = {
    "docs": "docid BIGINT, name VARCHAR, len BIGINT",
    "terms": "docid BIGINT, fieldid BIGINT, termid BIGINT",
    "dict": "termid BIGINT, term VARCHAR, df BIGINT",
    "stats": "num_docs BIGINT, avgdl DOUBLE",
}
"""The index's tables as `create_fts_index` makes them (its `fields` and `stopwords` are not
read by this module's ranking)."""


def _build_lake_index(con: duckdb.DuckDBPyConnection) -> int:
    """Build a lake's index (replacing any) over every article, in one lake transaction: the
    tables and the tokenizer of `create_fts_index`, filled by the incremental path, which
    indexes exactly as the pragma does. Two processes building at once conflict on creating
    the tables; the one redone then finds the index and catches it up instead."""
    tokenize = tokenizer_definition()
    s = SCHEMA
    con.execute("BEGIN TRANSACTION")
    try:
        for table in LAKE_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {s}.{table}")
        con.execute(f"DROP MACRO IF EXISTS {s}.tokenize")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        for table, columns in LAKE_TABLES.items():
            con.execute(f"CREATE TABLE {s}.{table} ({columns})")
        con.execute(f"CREATE MACRO {s}.tokenize(s) AS {tokenize}")
        con.execute(f"INSERT INTO {s}.stats VALUES (0, NULL)")
        count = _index_incrementally(con, [], missing=True)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return count


def rewrite_lake_index(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite the files of a lake index's `dict` that hold deleted rows, for the lake's
    compaction; the number rewritten. Every write updates the document counts of its words,
    which deletes their rows from the files that hold them: merging small files leaves files
    with deletions alone, so without this every write's deletions would stay for every read
    of the index. A lake without an index has none to rewrite."""
    if not index_exists(con):
        return 0
    rows = con.execute(
        "CALL ducklake_rewrite_data_files(current_database(), 'dict', schema => ?, "
        "delete_threshold => 0)",
        [SCHEMA],
    ).fetchall()
    return sum(int(row[2]) for row in rows)


def tokenizer_definition() -> str:
    """The body of the `tokenize(s)` macro `create_fts_index` makes with this module's
    options, read from an index it builds over an empty table in memory: the lake's index
    tokenizes with the extension's own expression, whatever its release."""
    with duckdb.connect() as scratch:
        load_extension(scratch, "fts")
        scratch.execute("CREATE TABLE articles (article_id VARCHAR, title VARCHAR, text VARCHAR)")
        scratch.execute(CREATE_INDEX)
        row = scratch.execute(
            "SELECT macro_definition, parameters FROM duckdb_functions() "
            "WHERE schema_name = ? AND function_name = 'tokenize'",
            [SCHEMA],
        ).fetchone()
    if not row or list(row[1]) != ["s"]:
        raise RuntimeError(f"create_fts_index made no tokenize(s) macro: {row}")
    return str(row[0])


def index_articles(
    con: duckdb.DuckDBPyConnection,
    article_ids: set[str] | frozenset[str],
    *,
    thorough: bool = False,
) -> int:
    """Bring the index up to date after a write: (re-)index `article_ids` (the batch's new
    articles and those whose text or title changed) and any other article the index lacks.
    Builds the index whole when there is none. One transaction; returns the articles
    (re-)indexed.

    Articles the index lacks are looked for (an anti-join over every article, about a second
    at a million) only when the number of indexed articles differs from the number stored,
    or when `thorough`: the pipeline never deletes an article, so equal counts mean none is
    missing."""
    if not index_exists(con):
        return rebuild_index(con)
    con.execute("BEGIN TRANSACTION")
    try:
        count = _index_incrementally(con, sorted(article_ids), missing=False)
        if thorough or _missing_some(con):
            count += _index_incrementally(con, [], missing=True)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return count


def _missing_some(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        f"SELECT (SELECT count(*) FROM articles) <> (SELECT count(*) FROM {SCHEMA}.docs)"
    ).fetchone()
    return bool(row and row[0])


def _index_incrementally(con: duckdb.DuckDBPyConnection, ids: list[str], missing: bool) -> int:
    """Index the articles `ids`, or (`missing`) every article the index lacks."""
    s = SCHEMA
    if missing:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE search_new AS
            SELECT a.article_id, a.title, a.text FROM articles a
            WHERE NOT EXISTS (SELECT 1 FROM {s}.docs d WHERE d.name = a.article_id)
            """
        )
    else:
        if not ids:
            return 0
        # The rows of the wanted keys first (one pass over article_id_key), then the title and
        # text of just those rows: a join would read every article's text to match the keys.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE search_new AS
            WITH wanted AS (SELECT DISTINCT unnest(?::VARCHAR[]) AS article_id)
            SELECT article_id, title, text FROM articles WHERE rowid IN (
                SELECT rowid FROM articles
                WHERE article_id_key IN (SELECT {lookup_key("article_id")} FROM wanted)
            ) AND article_id IN (SELECT article_id FROM wanted)
            """,
            [ids],
        )
    # New document numbers continue the index's; replaced documents get new ones too.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE search_todo AS
        SELECT (SELECT coalesce(max(docid), -1) FROM {s}.docs)
                   + row_number() OVER (ORDER BY article_id) AS docid, *
        FROM search_new
        """
    )
    (count,) = con.execute("SELECT count(*) FROM search_todo").fetchone() or (0,)
    if not count:
        return 0
    # Re-indexed articles lose their old terms first (and their words' document counts).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE search_old AS
        SELECT docid FROM {s}.docs WHERE name IN (SELECT article_id FROM search_todo)
        """
    )
    # A batch of new articles has none: each statement below would scan every term for nothing.
    if con.execute("SELECT count(*) FROM search_old").fetchone() != (0,):
        con.execute(
            f"""
            UPDATE {s}.dict SET df = dict.df - gone.n
            FROM (SELECT termid, count(DISTINCT docid) AS n FROM {s}.terms
                  WHERE docid IN (SELECT docid FROM search_old) GROUP BY termid) AS gone
            WHERE dict.termid = gone.termid
            """
        )
        con.execute(f"DELETE FROM {s}.terms WHERE docid IN (SELECT docid FROM search_old)")
        con.execute(f"DELETE FROM {s}.docs WHERE docid IN (SELECT docid FROM search_old)")
    # Tokenized with the index's own macro, so new words match as the pragma's do.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE search_tokens AS
        WITH fields AS (
            SELECT docid, article_id, 0 AS fieldid, title AS body FROM search_todo
            UNION ALL
            SELECT docid, article_id, 1 AS fieldid, text AS body FROM search_todo
        )
        SELECT docid, article_id, fieldid, term FROM (
            SELECT docid, article_id, fieldid, unnest({s}.tokenize(body)) AS term FROM fields
        ) WHERE term <> ''
        """
    )
    con.execute(
        f"""
        INSERT INTO {s}.dict
        SELECT (SELECT coalesce(max(termid), -1) FROM {s}.dict)
                   + row_number() OVER (ORDER BY term), term, 0
        FROM (SELECT DISTINCT term FROM search_tokens
              WHERE term NOT IN (SELECT term FROM {s}.dict))
        """
    )
    con.execute(
        f"""
        INSERT INTO {s}.docs
        SELECT n.docid, n.article_id, coalesce(t.len, 0)
        FROM search_todo n
        LEFT JOIN (SELECT docid, count(*) AS len FROM search_tokens GROUP BY docid) t
               USING (docid)
        """
    )
    con.execute(
        f"""
        INSERT INTO {s}.terms
        SELECT t.docid, t.fieldid, d.termid
        FROM search_tokens t JOIN {s}.dict d USING (term)
        """
    )
    con.execute(
        f"""
        UPDATE {s}.dict SET df = dict.df + new.n
        FROM (SELECT term, count(DISTINCT docid) AS n FROM search_tokens GROUP BY term) AS new
        WHERE dict.term = new.term
        """
    )
    con.execute(
        f"""
        UPDATE {s}.stats SET num_docs = d.n, avgdl = d.avgdl
        FROM (SELECT count(*) AS n, avg(len) AS avgdl FROM {s}.docs) AS d
        """
    )
    for table in ("search_new", "search_todo", "search_old", "search_tokens"):
        con.execute(f"DROP TABLE {table}")
    return int(count)


def index_state(con: duckdb.DuckDBPyConnection) -> IndexState:
    if not index_exists(con):
        (total,) = con.execute("SELECT count(*) FROM articles").fetchone() or (0,)
        return IndexState(False, 0, int(total))
    row = con.execute(
        f"""
        SELECT (SELECT count(*) FROM {SCHEMA}.docs),
               (SELECT count(*) FROM articles a
                WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.docs d WHERE d.name = a.article_id))
        """
    ).fetchone() or (0, 0)
    return IndexState(True, int(row[0]), int(row[1]))


def search(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    since: datetime | None = None,
    language: str | None = None,
    feed: str | None = None,
    limit: int = 20,
    snippet_width: int = 160,
) -> list[SearchHit]:
    """The best `limit` articles for `query`, optionally published (or, undated, first seen)
    since `since`, in `language`, from `feed`, each with about `snippet_width` characters of
    its text around the words found. Empty when there is no index yet."""
    if not index_exists(con):
        return []
    filters: dict[str, object] = {
        "since": since,
        "language": language,
        "feed": feed,
        "limit": limit,
    }
    words = query_words(query)
    if any(unspaced(w) for w in words):
        rows = _search_substrings(con, sorted(words), filters)
    else:
        rows = _search_index(con, query, filters)
    return [
        SearchHit(
            rank=rank,
            article_id=article_id,
            published_at=published_at,
            feed_name=feed_name,
            language=lang,
            title=title,
            snippet=snippet(text or summary or "", words, snippet_width),
            url=url,
            score=float(score),
            text_partial=partial,
        )
        for rank, (
            article_id,
            published_at,
            feed_name,
            lang,
            title,
            text,
            summary,
            url,
            score,
            partial,
        ) in enumerate(rows, start=1)
    ]


_FILTERS = """
    ($since IS NULL OR coalesce(a.published_at, a.first_seen_at) >= $since)
    AND ($language IS NULL OR a.language = $language)
    AND ($feed IS NULL OR a.feed_name = $feed)
"""


def _search_substrings(
    con: duckdb.DuckDBPyConnection, words: list[str], filters: dict[str, object]
) -> list[tuple]:
    """Chinese, Japanese or Thai words: the tokenizer cannot split those scripts into words, so
    the articles are scanned for them as substrings (a full scan: seconds at a million
    articles). Ranked like the index: more words, more in the headline, then occurrences,
    a headline one counting `TITLE_WEIGHT`, per square root of the text's length."""
    return con.execute(
        f"""
        WITH q AS (SELECT unnest($words::VARCHAR[]) AS w),
        found AS (
            SELECT a.article_id, q.w,
                   (length(lower(coalesce(a.title, '')))
                    - length(replace(lower(coalesce(a.title, '')), q.w, ''))) // length(q.w)
                       AS in_title,
                   (length(lower(a.text)) - length(replace(lower(a.text), q.w, '')))
                       // length(q.w) AS in_text
            FROM articles a, q
            WHERE {_FILTERS}
              AND (contains(lower(coalesce(a.title, '')), q.w) OR contains(lower(a.text), q.w))
        ), scored AS (
            SELECT article_id, count(*) AS words, count(*) FILTER (WHERE in_title > 0)
                       AS title_words,
                   sum({TITLE_WEIGHT} * in_title + in_text) AS occurrences
            FROM found GROUP BY article_id
        )
        SELECT a.article_id, a.published_at, a.feed_name, a.language, a.title, a.text,
               a.summary, a.url, sc.occurrences / sqrt(1 + length(a.text)) AS score,
               a.text_partial
        FROM scored sc JOIN articles a USING (article_id)
        ORDER BY sc.words DESC, sc.title_words DESC, score DESC, a.article_id
        LIMIT $limit
        """,
        {"words": words, **filters},
    ).fetchall()


def _search_index(
    con: duckdb.DuckDBPyConnection, query: str, filters: dict[str, object]
) -> list[tuple]:
    s = SCHEMA
    return con.execute(
        f"""
        WITH q AS (
            SELECT DISTINCT term FROM (SELECT unnest({s}.tokenize($query)) AS term)
            WHERE term <> ''
        ), qt AS (
            SELECT d.termid, d.df FROM {s}.dict d JOIN q USING (term)
        ), tf AS (
            SELECT t.docid, t.termid,
                   sum(CASE WHEN t.fieldid = 0 THEN {TITLE_WEIGHT} ELSE 1 END) AS tf,
                   bool_or(t.fieldid = 0) AS in_title
            FROM {s}.terms t JOIN qt USING (termid)
            GROUP BY ALL
        ), scored AS (
            SELECT tf.docid,
                   count(*) AS words, count(*) FILTER (WHERE tf.in_title) AS title_words,
                   sum(ln((st.num_docs - qt.df + 0.5) / (qt.df + 0.5) + 1)
                       * tf.tf * ({K1} + 1)
                       / (tf.tf + {K1} * (1 - {B} + {B} * docs.len / st.avgdl))) AS score
            FROM tf JOIN qt USING (termid) JOIN {s}.docs docs USING (docid),
                 {s}.stats st
            GROUP BY tf.docid
        )
        SELECT a.article_id, a.published_at, a.feed_name, a.language, a.title, a.text,
               a.summary, a.url, sc.score, a.text_partial
        FROM scored sc
        JOIN {s}.docs d USING (docid)
        JOIN articles a
          ON a.article_id_key = {lookup_key("d.name")} AND a.article_id = d.name
        WHERE {_FILTERS}
        ORDER BY sc.words DESC, sc.title_words DESC, sc.score DESC, a.article_id
        LIMIT $limit
        """,
        {"query": query, **filters},
    ).fetchall()


_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    """Lower case without accents: how the index sees a word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_words(query: str) -> frozenset[str]:
    """The query's words as the index matches them."""
    return frozenset(_fold(w) for w in _WORD.findall(query))


def snippet(text: str, words: frozenset[str], width: int = 160) -> str:
    """About `width` characters of `text` around its first run of query words, on one line,
    with `…` where it was cut. The matched words keep their case; callers may highlight
    them with `snippet_spans`."""
    flat = " ".join(text.split())
    hits = snippet_spans(flat, words)
    if not hits:
        return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"
    # Centre on the densest stretch: the first hit followed by the most others within reach.
    best = max(hits, key=lambda h: sum(1 for o in hits if 0 <= o[0] - h[0] < width))
    start = max(0, best[0] - width // 4)
    if start:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < best[0] else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > best[1] else end
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def snippet_spans(text: str, words: frozenset[str]) -> list[tuple[int, int]]:
    """Where the query words are in `text` (start, end), in order, for highlighting: whole
    words, and anywhere for words of scripts written without spaces."""
    spans = [m.span() for m in _WORD.finditer(text) if _fold(m.group()) in words]
    lowered = text.lower()
    for word in (w for w in words if unspaced(w)):
        at = lowered.find(word)
        while at >= 0:
            spans.append((at, at + len(word)))
            at = lowered.find(word, at + len(word))
    return sorted(set(spans))


_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
"""Thai, kana and Han: scripts written without spaces between words."""


def unspaced(text: str) -> bool:
    """Whether `text` has characters of a script written without spaces between words."""
    return _UNSPACED.search(text) is not None
