"""The search index on a real DuckDB file: what each run adds ranks exactly as a full build."""

from __future__ import annotations

import duckdb

from storage import search
from storage.connection import connect
from storage.migrations import lookup_key


def _articles(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str, str]]) -> None:
    con.executemany(
        "INSERT INTO articles (article_id, url, canonical_url, feed_name, title, text, authors, "
        "language, word_count, content_hash, extraction, first_seen_at, run_id, "
        "article_id_key, url_key, canonical_url_key) "
        "VALUES (?, 'u' || ?, 'u' || ?, 'f', ?, ?, [], ?, 1, 'h', 'page', now(), 'r', 0, 0, 0)",
        [(i, i, i, title, text, lang) for i, title, text, lang in rows],
    )
    # The keys as the writer makes them: search finds articles through them.
    con.execute(f"UPDATE articles SET article_id_key = {lookup_key('article_id')}")


def _rankings(con: duckdb.DuckDBPyConnection, queries: list[str]) -> list[list[tuple]]:
    return [[(h.article_id, round(h.score, 9)) for h in search.search(con, q)] for q in queries]


def test_each_run_s_additions_rank_exactly_as_a_full_rebuild(tmp_path):
    first = [
        ("a1", "Storm hits the harbour", "The storm closed the harbour.", "en"),
        ("a2", "Sturm über Hamburg", "Der Sturm schloss den Hafen. Straße gesperrt.", "de"),
        ("a3", "Буря в Москве", "Буря закрыла порт.", "ru"),
    ]
    later = [
        ("b1", "Harbour reopens", "After the storm the harbour reopened.", "en"),
        ("b2", "Hafen wieder offen", "Nach dem Sturm öffnet der Hafen. Strasse frei.", "de"),
    ]
    queries = ["storm harbour", "sturm", "hafen strasse", "буря", "reopened", "nothing"]
    incremental, rebuilt = tmp_path / "incremental.duckdb", tmp_path / "rebuilt.duckdb"
    with connect(incremental) as con:
        _articles(con, first)
        assert search.index_articles(con, set()) == 3  # no index yet: built whole
        _articles(con, later)
        assert search.index_articles(con, set()) == 2
        con.execute("UPDATE articles SET title = 'Storm over Hamburg' WHERE article_id = 'a2'")
        assert search.index_articles(con, {"a2"}) == 1
        assert search.index_articles(con, set()) == 0
        _articles(con, [("c1", "Harbour quiet", "No storm today.", "en")])
        assert search.index_articles(con, {"c1"}) == 1  # as a run names its batch
        assert search.index_articles(con, set(), thorough=True) == 0
        assert search.index_state(con).pending == 0
        got = _rankings(con, queries)
    with connect(rebuilt) as con:
        _articles(con, [*first, *later, ("c1", "Harbour quiet", "No storm today.", "en")])
        con.execute("UPDATE articles SET title = 'Storm over Hamburg' WHERE article_id = 'a2'")
        search.rebuild_index(con)
        expected = _rankings(con, queries)
    assert got == expected
    # Both words, both in the headline; both words, one in it (BM25 orders those); one word.
    first, *middle, last = [a for a, _ in got[0]]
    assert (first, sorted(middle), last) == ("a1", ["b1", "c1"], "a2")
    assert [a for a, _ in got[2]] == ["b2", "a2"]  # "Straße" is found as "strasse"
    assert got[5] == []


def test_chinese_and_japanese_words_are_found_inside_runs_without_spaces(tmp_path):
    with connect(tmp_path / "news.duckdb") as con:
        _articles(
            con,
            [
                ("j1", "商品の改造が商標法違反に", "改造したiPhoneを販売した。", "ja"),
                ("j2", "東京の天気", "明日の東京は晴れ。商標法の話ではない。", "ja"),
                ("e1", "Weather in Tokyo", "Sunny tomorrow.", "en"),
            ],
        )
        search.index_articles(con, set())
        hits = search.search(con, "商標法")
        assert [h.article_id for h in hits] == ["j1", "j2"]  # the headline match first
        assert "商標法" in hits[1].snippet
        assert [h.article_id for h in search.search(con, "東京 天気")] == ["j2"]
        assert [h.article_id for h in search.search(con, "tokyo")] == ["e1"]
