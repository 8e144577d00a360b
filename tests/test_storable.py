"""Every string the models hold is storable: `tasks.text.storable`, applied where they are built."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from storage.schemas import stage_batch
from tasks.models import Article, FeedEntry, RunRecord, Sighting
from tasks.text import MAX_HEADLINE, MAX_TEXT, storable

HIDDEN = "\u200b\u200e\u202e\u2066\ufeff\u00ad"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Jane \udc00 Doe", "Jane Doe"),  # a lone surrogate from a JSON escape
        ("Smile \ud83d\ude00 now", "Smile \U0001f600 now"),  # a pair left split: joined
        ("Null\x00byte and\x07bell\x1b", "Nullbyte andbell"),
        ("\u202eevil\u202c name", "evil name"),  # bidi overrides reorder what a reader sees
        (HIDDEN * 1000 + "Headline" + HIDDEN, "Headline"),
        ("two\nlines\tand tab", "two lines and tab"),
        ("\u0995\u09cd\u200c\u200c\u200c\u09b7", "\u0995\u09cd\u200c\u09b7"),  # ZWNJ: one kept
        (HIDDEN + " \x00 ", None),
        ("\u200f", None),
    ],
)
def test_a_one_line_value_keeps_its_visible_text_only(raw, stored) -> None:
    assert storable(raw) == stored


def test_text_keeps_its_lines_and_tabs_but_no_other_control() -> None:
    assert storable("a\r\nb\rc\td\x00\ud800e", line=False) == "a\nb\nc\tde"


def test_over_its_limit_a_value_is_cut_at_a_word_or_a_paragraph() -> None:
    headline = storable("word " * 200, MAX_HEADLINE)
    assert headline is not None and len(headline) <= MAX_HEADLINE and headline.endswith("word…")
    body = storable(("paragraph " * 50 + "\n") * 10_000, MAX_TEXT, line=False)
    assert body is not None and len(body) <= MAX_TEXT and body.endswith("paragraph…")
    run = storable("x" * 8_000_000, MAX_TEXT, line=False)  # no space anywhere
    assert run is not None and len(run) == MAX_TEXT


def hostile_article(value: str) -> Article:
    return Article(
        article_id="a1",
        url="https://news.example/1",
        canonical_url="https://news.example/1",
        feed_name="f",
        title=value,
        text=value * 3,
        summary=value,
        authors=(value, f"Jane {value} Doe", ""),
        published_at=None,
        published_at_source=None,
        published_at_precision=None,
        language=None,
        word_count=1,
        content_hash="h",
        extraction="page",
        site_name=value,
        wire_agency=value,
        dateline=value,
        extraction_error=value,
    )


@pytest.mark.parametrize("value", ["\udc00", "\x00", "\ud800\x00\u202e" * 10_000])
def test_an_article_and_an_entry_with_hostile_strings_stage_into_arrow(value) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    article = hostile_article(value)
    entry = FeedEntry("f", "https://news.example/1", guid=value, title=value, summary=value)
    sighting = Sighting("f", entry.url, "a1", entry.guid, entry.title, None)
    run = RunRecord("r", at, at, 1, 1, 0, 0, 1, 1, 0, 0, 1.0)
    articles, _ = stage_batch([article], [sighting], run)
    assert isinstance(articles, pa.Table) and articles.num_rows == 1
    assert article.authors == ("Jane Doe",)
    assert all(len(a) <= 100 for a in article.authors)


def test_a_body_past_the_bound_is_cut_and_marked_partial() -> None:
    from tasks.models import Page
    from tasks.page.extract import extract_article

    # Paragraphs that differ: trafilatura drops repeated ones.
    paragraphs = "".join(
        f"<p>Meeting {n}: " + "the council met the harbour board about the budget. " * 20 + "</p>"
        for n in range(400)
    )
    html = f"<html><head><title>Long</title></head><body><article><h1>Long</h1>{paragraphs}"
    entry = FeedEntry("f", "https://news.example/1", title="Long")
    page = Page(entry.url, http_status=200, body=html.encode(), content_type="text/html")
    article = extract_article(entry, page)
    assert article.extraction == "page" and article.text_partial
    assert len(article.text) <= MAX_TEXT and article.text.endswith("…")
    assert article.word_count == len(article.text.split())
