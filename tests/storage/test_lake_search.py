"""Search on a DuckLake: the same articles written to a DuckDB file and to a lake (SQLite and
PostgreSQL catalogs) give the same index and the same rankings, kept current by each write."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lakes import lake_url, postgres  # noqa: F401

from harness.cli import NEWSDESK
from storage import Warehouse, search
from storage.lake import LakeWarehouse
from tasks.models import Article, Batch, FeedState, RunRecord, Sighting

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

# (id, language, title, text): headlines and text in several alphabets, accents and unspaced
# scripts; several share words so BM25's document frequencies and lengths matter.
FIRST = [
    ("en1", "en", "Storm hits the harbour", "The storm closed the harbour and the railway."),
    ("en2", "en", "Harbour festival", "A festival at the harbour, storm or not. Storm again."),
    ("en3", "en", None, "The council met about the railway budget and the harbour."),
    ("de1", "de", "Sturm über Hamburg", "Der Sturm schloss den Hafen. Die Straße ist gesperrt."),
    ("fr1", "fr", "Les éléphants de Guinée", "La perte des terres et les éléphants."),
    ("ru1", "ru", "Буря в Москве", "Буря закрыла порт. Москва ждёт."),
    ("el1", "el", "Καταιγίδα στην Αθήνα", "Η καταιγίδα έκλεισε το λιμάνι."),
    ("ar1", "ar", "عاصفة في القاهرة", "أغلقت العاصفة الميناء."),
    ("ja1", "ja", "商品の改造が商標法違反に", "改造したiPhoneを販売した。"),
    ("ja2", "ja", "東京の天気", "明日の東京は晴れ。商標法の話ではない。"),
    ("zh1", "zh", "北京天气", "今天北京下雨。港口关闭。"),
    ("th1", "th", "พายุถล่มกรุงเทพ", "พายุทำให้ท่าเรือปิด"),
    # Stored from the feed's text (the page failed); healed by its page below.
    ("fd1", "en", "Harbour reopens", "Feed summary: the harbour."),
]
LATER = [
    ("en4", "en", "Railway strike", "The railway strike ended; the harbour storm passed."),
    ("de2", "de", "Hafen wieder offen", "Nach dem Sturm öffnet der Hafen. Strasse frei."),
    ("ja3", "ja", "商標法の改正", "商標法が改正された。東京で会見。"),
]
# Edits of stored articles (a new version: different text or title) and the feed article's
# page, which heals it on the file and is taken as an edit on a lake.
EDITS = [
    ("en1", "en", "Storm over the harbour", "The storm closed the harbour; museum shut."),
    ("ru1", "ru", "Буря в Москве", "Буря закрыла порт и вокзал."),
    ("fd1", "en", "Harbour reopens", "The harbour reopened after the storm, the council said."),
]
QUERIES = [
    "storm harbour",
    "harbour",
    "railway budget",
    "museum",  # only in an edited text
    "feed summary",  # only in the healed article's feed text: gone
    "sturm hafen",
    "strasse",
    "elephants",
    "буря",
    "καταιγίδα",
    "عاصفة",
    "商標法",
    "東京 天気",
    "北京",
    "พายุ",
    "nothing",
]


def _article(row: tuple, extraction: str = "page") -> Article:
    """An article of `row`, dated T0 whenever it is read: a lake takes a page that heals an
    article stored from its feed as an edit, which keeps the stored date, where the file takes
    the page's."""
    article_id, language, title, text = row
    return Article(
        article_id=article_id,
        url=f"https://news.example/{article_id}",
        canonical_url=f"https://news.example/{article_id}",
        feed_name="f",
        title=title,
        text=text,
        summary=None,
        authors=(),
        published_at=T0,
        published_at_source="page",
        published_at_precision="second",
        language=language,
        word_count=len(text.split()),
        content_hash=f"{title}|{text}",
        extraction=extraction,  # type: ignore[arg-type]
    )


def _batch(run_id: str, articles: list[Article], at: datetime) -> Batch:
    return Batch(
        articles=tuple(articles),
        sightings=tuple(
            Sighting("f", a.url, a.article_id, a.article_id, a.title, at) for a in articles
        ),
        feed_states=(FeedState("f", "https://news.example/feed", last_polled_at=at),),
        run=RunRecord(run_id, at, at, 1, 1, 0, 0, len(articles), 0, 0, 0, 1.0),
    )


def _batches() -> list[Batch]:
    t1, t2, t3 = T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    first = [_article(r, "feed" if r[0] == "fd1" else "page") for r in FIRST]
    return [
        _batch("r1", first, t1),
        _batch("r2", [_article(r) for r in LATER], t2),
        _batch("r3", [_article(r) for r in EDITS], t3),
    ]


def _lake(url: str, tmp_path: Path) -> LakeWarehouse:
    data = None if url.startswith("ducklake:sqlite:") else f"{tmp_path / 'lake-data'}/"
    lake = Warehouse(url, data_path=data)
    assert isinstance(lake, LakeWarehouse)
    return lake


def _rankings(wh: Warehouse) -> list[list[tuple[str, float]]]:
    """Every query's hits, on one connection (a lake's attach costs more than its search)."""
    with wh.connect(read_only=True) as con:
        state = search.index_state(con)
        assert state.exists and state.pending == 0, (wh, state)
        return [
            [(h.article_id, h.score) for h in search.search(con, query, limit=50)]
            for query in QUERIES
        ]


def _same_rankings(got: list[list[tuple[str, float]]], expected: list[list[tuple]]) -> None:
    for query, g, e in zip(QUERIES, got, expected, strict=True):
        assert [a for a, _ in g] == [a for a, _ in e], query
        assert [s for _, s in g] == pytest.approx([s for _, s in e], rel=1e-12), query


def _index(wh: Warehouse) -> dict[str, object]:
    """The index's content without its internal numbering: what BM25 reads."""
    s = search.SCHEMA
    with wh.connect(read_only=True) as con:
        return {
            "stats": con.execute(f"SELECT num_docs, avgdl FROM {s}.stats").fetchall(),
            "docs": con.execute(f"SELECT name, len FROM {s}.docs ORDER BY ALL").fetchall(),
            "dict": con.execute(
                f"SELECT term, df FROM {s}.dict WHERE df > 0 ORDER BY ALL"
            ).fetchall(),
            "terms": con.execute(
                f"""
                SELECT d.name, t.fieldid, w.term, count(*) FROM {s}.terms t
                JOIN {s}.docs d USING (docid) JOIN {s}.dict w USING (termid)
                GROUP BY ALL ORDER BY ALL
                """
            ).fetchall(),
        }


def _check_index(wh: Warehouse) -> None:
    """What an index must hold however its updates interleaved: each article once, under its
    own document number, each word's document count and each document's length as its terms
    say, the statistics of its documents."""
    s = search.SCHEMA
    with wh.connect(read_only=True) as con:

        def zero(sql: str) -> None:
            assert con.execute(sql).fetchone() == (0,), sql

        zero(f"SELECT count(*) - count(DISTINCT name) FROM {s}.docs")
        zero(f"SELECT count(*) - count(DISTINCT docid) FROM {s}.docs")
        zero(f"SELECT count(*) - count(DISTINCT term) FROM {s}.dict")
        zero(f"SELECT count(*) - count(DISTINCT termid) FROM {s}.dict")
        zero(f"SELECT count(*) FROM {s}.terms WHERE docid NOT IN (SELECT docid FROM {s}.docs)")
        zero(
            f"""SELECT count(*) FROM {s}.dict d LEFT JOIN (
                    SELECT termid, count(DISTINCT docid) AS n FROM {s}.terms GROUP BY termid
                ) t USING (termid) WHERE d.df <> coalesce(t.n, 0)"""
        )
        zero(
            f"""SELECT count(*) FROM {s}.docs d LEFT JOIN (
                    SELECT docid, count(*) AS n FROM {s}.terms GROUP BY docid
                ) t USING (docid) WHERE d.len <> coalesce(t.n, 0)"""
        )
        zero(
            f"""SELECT count(*) FROM {s}.stats, (SELECT count(*) AS n, avg(len) AS avgdl
                FROM {s}.docs) d WHERE stats.num_docs <> d.n OR stats.avgdl <> d.avgdl"""
        )
        zero(
            f"SELECT count(*) FROM articles a WHERE NOT EXISTS "
            f"(SELECT 1 FROM {s}.docs d WHERE d.name = a.article_id)"
        )


def test_a_lake_ranks_as_a_file_holding_the_same_articles(
    lake_url,  # noqa: F811
    tmp_path,
):
    file = Warehouse(tmp_path / "news.duckdb")
    lake = _lake(lake_url, tmp_path)
    lake.inline_rows = 0  # every write's rows and deletions in files, as in a large lake
    for wh in (file, lake):
        wh.prepare()
        outcomes = [wh.write(b) for b in _batches()]
        assert [o.index_error for o in outcomes] == [None, None, None]
        assert outcomes[2].result.updated_ids | outcomes[2].result.healed_ids == {
            "en1",
            "ru1",
            "fd1",
        }
    assert _index(lake) == _index(file)
    _check_index(lake)
    got, expected = _rankings(lake), _rankings(file)
    _same_rankings(got, expected)
    by_query = dict(zip(QUERIES, expected, strict=True))
    assert [a for a, _ in by_query["museum"]] == ["en1"]
    assert by_query["feed summary"] == []
    assert [a for a, _ in by_query["elephants"]] == ["fr1"]  # case and accents folded
    assert [a for a, _ in by_query["商標法"]] == ["ja3", "ja1", "ja2"]
    assert by_query["nothing"] == []
    # A reader's search takes the filters as the file's does.
    hits, _ = lake.search("harbour", language="en", limit=2)
    assert [h.article_id for h in hits] == [a for a, _ in by_query["harbour"]][:2]
    assert all(h.snippet for h in hits)
    # A snapshot copies the index with the tables: a file that searches as the lake does.
    lake.snapshot(tmp_path / "copy.duckdb")
    copy = Warehouse(tmp_path / "copy.duckdb")
    with copy.connect(read_only=True) as con:
        assert not search.is_lake(con)
    _same_rankings(_rankings(copy), got)
    # Compaction rewrites the word counts' files without the rows each write deleted.
    lake.compact(keep_snapshots=timedelta(0), file_grace=timedelta(0))
    with lake.connect(read_only=True) as con:
        files = con.execute(
            "SELECT delete_file FROM ducklake_list_files('lake', 'dict', schema => ?)",
            [search.SCHEMA],
        ).fetchall()
    assert files and all(delete is None for (delete,) in files)
    _same_rankings(_rankings(lake), got)


def test_a_lake_made_before_search_is_indexed_whole_by_its_next_write_or_maintenance(
    lake_url,  # noqa: F811
    tmp_path,
):
    file, lake = Warehouse(tmp_path / "news.duckdb"), _lake(lake_url, tmp_path)
    first, later, edits = _batches()
    for wh in (file, lake):
        wh.prepare()
        wh.write(first)
    with lake.connect() as con:  # as a lake written before this version: no index
        con.execute(f"DROP SCHEMA {search.SCHEMA} CASCADE")
    hits, state = lake.search("harbour")
    assert (hits, state.exists, state.pending) == ([], False, len(FIRST))
    # The maintenance flow builds it from every article…
    lake.maintain(T0.date(), tmp_path / "export", T0)
    assert lake.search("harbour")[1].pending == 0
    with lake.connect() as con:
        con.execute(f"DROP SCHEMA {search.SCHEMA} CASCADE")
    # … and so does the next write, which adds its own articles too.
    for wh in (file, lake):
        assert wh.write(later).index_error is None
        assert wh.write(edits).index_error is None
    assert _index(lake) == _index(file)
    _same_rankings(_rankings(lake), _rankings(file))


def _write_in_process(url: str, data_path: str | None, batch: Batch, start, results) -> None:
    """One writer process: waits for the others, then writes its batch."""
    start.wait()
    results.put(Warehouse(url, data_path=data_path).write(batch).index_error)


def test_concurrent_writers_index_updates_leave_one_consistent_index(
    lake_url,  # noqa: F811
    tmp_path,
):
    """Writer processes committing at once: their index updates conflict on `stats`, each
    loser is redone from a fresh snapshot, and the index ends as a file's holding the same
    articles."""
    file, lake = Warehouse(tmp_path / "news.duckdb"), _lake(lake_url, tmp_path)
    for wh in (file, lake):
        wh.prepare()
        assert wh.write(_batches()[0]).index_error is None  # the index exists before the race
    at = T0 + timedelta(hours=1)
    batches = [
        _batch(
            f"w{w}",
            [
                _article((f"w{w}a{i}", "en", f"Harbour news {w}", f"storm {w} {i} " * 5))
                for i in range(4)
            ],
            at,
        )
        for w in range(2)
    ]
    context = multiprocessing.get_context("spawn")  # no DuckDB state inherited
    start, results = context.Barrier(len(batches)), context.Queue()
    data_path = lake.spec.data_path
    writers = [
        context.Process(target=_write_in_process, args=(lake_url, data_path, b, start, results))
        for b in batches
    ]
    for w in writers:
        w.start()
    errors = [results.get(timeout=300) for _ in writers]
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert errors == [None] * len(batches)
    for b in batches:
        file.write(b)
    _check_index(lake)
    assert _index(lake) == _index(file)
    _same_rankings(_rankings(lake), _rankings(file))


def test_newsdesk_search_on_a_lake_prints_what_it_prints_on_a_file(
    lake_url,  # noqa: F811
    tmp_path,
):
    file = Warehouse(tmp_path / "news.duckdb")
    lake = _lake(lake_url, tmp_path)
    for wh in (file, lake):
        wh.prepare()
        for b in _batches():
            wh.write(b)

    def run(db: Warehouse, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [NEWSDESK, "search", "--db", str(db), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "100"},
        )

    for args in (("--format", "json", "storm harbour"), ("東京",)):
        on_lake, on_file = run(lake, *args), run(file, *args)
        assert on_lake.returncode == 0, on_lake.stderr
        assert on_lake.stderr == ""  # an index, with every article in it
        assert on_lake.stdout == on_file.stdout
    found = run(lake, "--format", "json", "--lang", "en", "harbour").stdout.splitlines()
    expected = [h.article_id for h in file.search("harbour", language="en")[0]]
    assert [json.loads(line)["article_id"] for line in found] == expected != []
