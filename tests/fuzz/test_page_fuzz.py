"""Mutated real pages through the page reader in an extraction worker with the run's time
limit: nothing escapes, a page past the limit is reported as such, and the article keeps its
bounds and stages into Arrow."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from bounds import check_article
from hypothesis import given
from mutations import (
    ENTITY,
    PAGE_SEEDS,
    Mutated,
    examples,
    inject_page_field,
    mutated_pages,
    structural,
)

from flows.steps import WORKER_PRELOAD
from harness.corpus import CORPUS, needs_corpus
from newsdesk.demo import SAMPLE_DIR
from newsdesk.settings import Settings
from storage.schemas import stage_batch
from tasks.fetch.pool import WorkerLost, WorkerPool
from tasks.models import Article, FeedEntry, Page, RunRecord
from tasks.page.extract import extract_article

EXTRACT_TIMEOUT = Settings.model_fields["extract_timeout"].default
URL = "https://news.example/2024/03/05/story"
ENTRY = FeedEntry(
    "fuzz",
    URL,
    guid="urn:fuzz:1",
    title="The feed's headline",
    summary="The feed's summary of the story.",
    published_at=datetime(2024, 3, 5, 10, tzinfo=UTC),
    authors=("Jane Doe",),
)
NOW = datetime.now(UTC)
RUN = RunRecord("fuzz", NOW, NOW, 1, 1, 0, 0, 1, 1, 0, 0, 1.0)
MAX_LATE = 2
"""Mutated pages allowed past the time limit in the whole module; none took it so far."""
LATE: list[str] = []

XFAIL_LIBXML2_DEPTH = pytest.mark.xfail(
    strict=False,
    reason="found by this suite, outside issue 18's parts: lxml's HTML parser (libxml2) drops "
    "what is nested deeper than 255 elements, so 300 unclosed <div>s before the text lose it",
)


@pytest.fixture(scope="module")
def workers() -> Iterator[WorkerPool]:
    """Two extraction workers as a run starts them (`flows.steps.extraction_pool`)."""
    with WorkerPool(2, timeout=EXTRACT_TIMEOUT, preload=WORKER_PRELOAD) as pool:
        yield pool


def read_in_worker(workers: WorkerPool, page: Mutated) -> Article:
    """The article a run would store for this page: read in a worker, or from the feed when
    the page ran past the time limit (as `tasks.fetch.collect` does)."""
    fetched = Page(URL, URL, 200, body=page.body, content_type=page.content_type)
    try:
        return asyncio.run(workers.run(extract_article, ENTRY, fetched))
    except WorkerLost as lost:
        # A worker that died (not stopped at the limit) is a crash: let it fail the example.
        assert "took longer than" in str(lost), f"{page!r}: {lost}"
        LATE.append(repr(page))
        assert len(LATE) <= MAX_LATE, f"pages past the {EXTRACT_TIMEOUT:g} s limit: {LATE}"
        article = extract_article(ENTRY, replace(fetched, body=None, error=str(lost)))
        assert article.extraction == "feed"
        assert article.extraction_error and "took longer than" in article.extraction_error
        return article


def check_stored(workers: WorkerPool, page: Mutated) -> Article:
    article = read_in_worker(workers, page)
    check_article(article, page.entity_names)
    articles, _ = stage_batch([article], [], RUN)
    assert articles.num_rows == 1
    return article


# ---------------------------------------------------------------- generated


@given(page=mutated_pages(kinds=("bytes",)))
@examples(40)
def test_pages_with_flipped_or_truncated_bytes_are_read_within_bounds(workers, page):
    check_stored(workers, page)


@given(page=mutated_pages(kinds=("field",)))
@examples(60)
def test_hostile_strings_in_any_page_field_are_stored_within_bounds(workers, page):
    check_stored(workers, page)


@given(page=mutated_pages(kinds=("structure",)))
@examples(12)
def test_pages_nested_deep_or_grown_giant_are_read_within_bounds(workers, page):
    check_stored(workers, page)


# ---------------------------------------------------------------- always, on an in-repo page

SEED = SAMPLE_DIR / "articles" / "kaieteur-essequibo.html"


def on_seed(*steps: tuple[str, object]) -> Mutated:
    body = SEED.read_bytes()
    for _, mutate in steps:
        body = mutate(body)  # type: ignore[operator]
    names = (ENTITY,) if any(d == "dtd entity" for d, _ in steps) else ()
    return Mutated(SEED.name, body, tuple(d for d, _ in steps), names)


def test_the_in_repo_seeds_are_here():
    assert SEED in PAGE_SEEDS


@needs_corpus
def test_the_corpus_pages_are_seeds_too():
    """Without the corpus the fuzzing runs on the sample's pages alone; this says so."""
    assert sum(CORPUS in seed.parents for seed in PAGE_SEEDS) >= 150


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        pytest.param("deep divs", 300, marks=XFAIL_LIBXML2_DEPTH),
        pytest.param("deep divs", 100_000, marks=XFAIL_LIBXML2_DEPTH),
        ("giant attribute", 2_000_000),
        # 50,000 attributes on one element; 250,000 cost libxml2 minutes (its duplicate check
        # is quadratic), which only the time limit stops.
        ("many attributes", 400_000),
        ("giant script", 2_000_000),
    ],
)
def test_a_page_with_a_pathological_shape_still_gives_its_article(workers, shape, size):
    article = check_stored(workers, on_seed((shape, structural(shape, size))))
    assert article.extraction == "page"
    assert "hunter" in article.text


def test_a_page_past_the_time_limit_is_stored_from_its_feed_with_the_reason():
    """250,000 attributes on one element cost libxml2 minutes; a short limit shows the report
    without waiting for the run's own."""
    page = on_seed(("many attributes", structural("many attributes", 2_000_000)))
    with WorkerPool(1, timeout=1, preload=WORKER_PRELOAD) as short:
        fetched = Page(URL, URL, 200, body=page.body, content_type=page.content_type)
        with pytest.raises(WorkerLost, match="took longer than 1 s"):
            asyncio.run(short.run(extract_article, ENTRY, fetched))
        lost = "extraction took longer than 1 s"
        article = asyncio.run(
            short.run(extract_article, ENTRY, replace(fetched, body=None, error=lost))
        )
    check_article(article)
    assert (article.extraction, article.extraction_error) == ("feed", lost)
    assert article.title == ENTRY.title


def test_an_author_of_100000_characters_without_a_space_is_read_in_seconds():
    name = "A" * 100_000
    page = on_seed(
        ("author", inject_page_field("author", name)),
        ("jsonld author.name", inject_page_field("jsonld author.name", name)),
    )
    with WorkerPool(1, timeout=5, preload=WORKER_PRELOAD) as short:
        fetched = Page(URL, URL, 200, body=page.body, content_type=page.content_type)
        article = asyncio.run(short.run(extract_article, ENTRY, fetched))
    check_article(article)


def test_json_ld_nested_100000_deep_is_skipped_not_the_page(workers):
    article = check_stored(workers, on_seed(("deep jsonld", structural("deep jsonld", 100_000))))
    assert article.extraction == "page"
    assert article.extraction_error is None


def test_an_entity_of_the_pages_dtd_repeated_50000_times_is_never_stored_literally(workers):
    check_stored(workers, on_seed(("dtd entity", structural("dtd entity", 50_000))))


@pytest.mark.parametrize(
    "field",
    [
        pytest.param("jsonld author.name"),
        "jsonld headline",
        "og:title",
        "author",
        "byline",
        "title",
    ],
)
def test_a_lone_surrogate_in_a_page_field_is_stored_sanitized(workers, field):
    check_stored(workers, on_seed((field, inject_page_field(field, "Jane \udc00 Doe"))))


def test_a_title_of_100000_invisible_characters_before_its_words_is_stored_without_them(workers):
    title = "\u200b\u202e" * 50_000 + "Essequibo hunter found dead"
    check_stored(workers, on_seed(("title", inject_page_field("title", title))))
