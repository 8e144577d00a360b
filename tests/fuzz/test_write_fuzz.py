"""Hostile strings in every text field of a feed entry and an article, through the real write
path on a DuckDB file and on a DuckLake with a SQLite catalog: the write never raises, and what
is read back keeps the bounds."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bounds import (
    MAX_DATELINE,
    MAX_SITE_NAME,
    MAX_SUMMARY,
    MAX_TEXT,
    check_authors,
    check_headline,
    check_name,
    check_storable,
)
from hypothesis import given
from hypothesis import strategies as st
from mutations import any_strings, examples

from storage import Warehouse
from tasks.models import Article, Batch, FeedEntry, Page, RunRecord
from tasks.page.extract import extract_article
from tasks.run.settle import sighting_of
from tasks.urls import normalize_url

NOW = datetime.now(UTC)
PUBLISHED = datetime(2024, 3, 5, 10, tzinfo=UTC)
SERIAL = itertools.count()


@st.composite
def hostile_entries(draw: st.DrawFn) -> FeedEntry:
    n = next(SERIAL)
    return FeedEntry(
        feed_name="fuzz",
        # Entry links are normalized by the parser: whatever a feed held, they are URLs.
        url=normalize_url(f"https://news.example/{n}/" + draw(any_strings))
        or f"https://news.example/{n}/",
        guid=draw(st.none() | any_strings),
        title=draw(st.none() | any_strings),
        summary=draw(st.none() | any_strings),
        content=draw(st.none() | any_strings),
        published_at=PUBLISHED,
        authors=tuple(draw(st.lists(any_strings, max_size=3))),
        language=draw(st.none() | any_strings),
    )


@st.composite
def hostile_articles(draw: st.DrawFn) -> Article:
    """An article as a page reader could hand it over, every free-text field hostile."""
    n = next(SERIAL)
    url = (
        normalize_url(f"https://news.example/a{n}/" + draw(any_strings)) or "https://news.example/"
    )
    text = draw(any_strings)
    return Article(
        article_id=hashlib.sha256(f"fuzz-article-{n}".encode()).hexdigest()[:16],
        url=url,
        canonical_url=url,
        feed_name="fuzz",
        title=draw(st.none() | any_strings),
        text=text,
        summary=draw(st.none() | any_strings),
        authors=tuple(draw(st.lists(any_strings, max_size=3) | st.just(["Jane Doe"] * 40))),
        published_at=PUBLISHED,
        published_at_source="page",
        published_at_precision="second",
        language=draw(st.none() | st.sampled_from(["en", "de"]) | any_strings),
        word_count=len(text.split()),
        content_hash=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
        extraction="page",
        extraction_error=draw(st.none() | any_strings),
        site_name=draw(st.none() | any_strings),
        page_type="article",
        wire_agency=draw(st.none() | any_strings),
        dateline=draw(st.none() | any_strings),
    )


@st.composite
def hostile_batches(draw: st.DrawFn) -> Batch:
    """A batch as the flow settles it: entries stored from their feed's text (their page
    failed) with their sightings, beside hostile articles from pages."""
    entries = draw(st.lists(hostile_entries(), min_size=1, max_size=3))
    from_feed = [extract_article(e, Page(e.url, http_status=503, retryable=True)) for e in entries]
    from_pages = draw(st.lists(hostile_articles(), min_size=1, max_size=4))
    run = RunRecord(f"fuzz-{next(SERIAL)}", NOW, NOW, 1, 1, 0, 0, len(entries), 0, 0, 0, 1.0)
    return Batch(
        articles=(*from_feed, *from_pages),
        sightings=tuple(
            sighting_of(e, a.article_id) for e, a in zip(entries, from_feed, strict=True)
        ),
        feed_states=(),
        run=run,
    )


ARTICLE_COLUMNS = (
    "article_id, url, canonical_url, title, text, summary, authors, site_name, dateline, "
    "wire_agency, extraction_error, language"
)


def check_read_back(warehouse: Warehouse, batch: Batch) -> None:
    """The batch's rows are all there and keep the bounds."""
    _, rows = warehouse.query(f"SELECT {ARTICLE_COLUMNS} FROM articles")
    stored = {row[0]: row for row in rows}
    for article in batch.articles:
        assert article.article_id in stored, f"{article.article_id} was not stored"
        (_, url, canonical, title, text, summary, authors, site, dateline, wire, error, lang) = (
            stored[article.article_id]
        )
        check_storable("url", url, line=True, limit=MAX_TEXT)
        check_storable("canonical_url", canonical, line=True, limit=MAX_TEXT)
        check_headline("title", title)
        check_storable("text", text, line=False, limit=MAX_TEXT)
        check_storable("summary", summary, line=False, limit=MAX_SUMMARY)
        check_authors("authors", authors or ())
        check_name("site_name", site, MAX_SITE_NAME)
        check_name("dateline", dateline, MAX_DATELINE)
        check_name("wire_agency", wire, MAX_SITE_NAME)
        check_storable("extraction_error", error, line=False, limit=MAX_TEXT)
        check_storable("language", lang, line=True, limit=35)
    _, sightings = warehouse.query("SELECT entry_url, guid, entry_title FROM feed_entries")
    for entry_url, guid, entry_title in sightings:
        check_storable("entry_url", entry_url, line=True, limit=MAX_TEXT)
        check_storable("guid", guid, line=False, limit=MAX_TEXT)
        check_storable("entry_title", entry_title, line=True, limit=MAX_TEXT)


def write_and_read(make: Callable[[], Warehouse]) -> Callable[[Batch], None]:
    warehouse = make()
    warehouse.prepare()

    def write(batch: Batch) -> None:
        outcome = warehouse.write(batch)
        assert outcome.spooled_to is None, outcome.lock_error
        check_read_back(warehouse, batch)

    return write


@pytest.fixture(scope="module")
def on_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Batch], None]:
    return write_and_read(lambda: Warehouse(tmp_path_factory.mktemp("fuzz") / "news.duckdb"))


@pytest.fixture(scope="module")
def on_lake(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Batch], None]:
    catalog: Path = tmp_path_factory.mktemp("fuzz-lake") / "lake" / "catalog.sqlite"
    return write_and_read(lambda: Warehouse(f"ducklake:sqlite:{catalog}"))


@given(batch=hostile_batches())
@examples(25)
def test_hostile_strings_in_every_field_are_written_to_a_duckdb_file_within_bounds(on_file, batch):
    on_file(batch)


@given(batch=hostile_batches())
@examples(10)
def test_hostile_strings_in_every_field_are_written_to_a_lake_within_bounds(on_lake, batch):
    on_lake(batch)


@pytest.mark.parametrize("backend", ["on_file", "on_lake"])
def test_a_batch_of_plain_articles_is_written_and_read_back(request, backend):
    """The harness itself: without hostile strings, every bound holds on every backend."""
    n = next(SERIAL)
    entry = FeedEntry("fuzz", f"https://news.example/plain/{n}", title="A plain headline")
    article = extract_article(entry, Page(entry.url, http_status=503, retryable=True))
    run = RunRecord(f"plain-{n}", NOW, NOW, 1, 1, 0, 0, 1, 0, 1, 0, 1.0)
    request.getfixturevalue(backend)(
        Batch((article,), (sighting_of(entry, article.article_id),), (), run)
    )


@pytest.mark.parametrize("backend", ["on_file", "on_lake"])
def test_an_author_with_a_nul_is_written_without_it(request, backend):
    """Found here: on a lake with a SQLite catalog a NUL inside an author's name (a list
    value, inlined into the catalog as SQL text) failed the whole batch's commit with
    "unterminated quoted string". The readers strip NULs from names today; the model must
    not rely on them."""
    n = next(SERIAL)
    entry = FeedEntry("fuzz", f"https://news.example/nul/{n}", title="A headline")
    article = extract_article(entry, Page(entry.url, http_status=503, retryable=True))
    article = replace(article, authors=("Jane\x00Doe",))
    run = RunRecord(f"nul-{n}", NOW, NOW, 1, 1, 0, 0, 1, 0, 1, 0, 1.0)
    request.getfixturevalue(backend)(Batch((article,), (), (), run))
