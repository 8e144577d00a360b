"""What the page reader refuses to make up: headlines without letters, dates from numbers that
are not dates, readings of JSON-LD it cannot read, entity references it does not know."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tasks.models import Article, FeedEntry, Page
from tasks.page.extract import extract_article
from tasks.page.headlines import readable, strip_title_segments

# No date in the path: the page's own markup is all there is to date it by.
URL = "https://news.example.org/world/harbour-bridge-reopens"

PARAGRAPHS = "".join(
    f"<p>The harbour bridge reopened on Friday after {n} months of repairs, and commuters "
    "crossed it in both directions for the first time since the storm damaged its deck. "
    "Engineers said the new cables should last for decades.</p>"
    for n in range(2, 8)
)


def read(html: str, **feed: object) -> Article:
    """`html` through the page reader behind a feed entry with its own headline and no date."""
    fields: dict[str, object] = {"title": "Bridge reopens after repairs", "summary": "In short."}
    fields.update(feed)
    entry = FeedEntry("example", URL, **fields)  # type: ignore[arg-type]
    page = Page(URL, URL, 200, body=html.encode("utf-8"), content_type="text/html; charset=utf-8")
    return extract_article(entry, page)


def page(
    *, head: str = "", title: str = "Harbour bridge reopens", h1: str = "", body: str = ""
) -> str:
    heading = f"<h1>{h1}</h1>" if h1 else ""
    return (
        f"<html lang='en'><head><title>{title}</title>{head}</head><body>"
        f"<article>{heading}{body}{PARAGRAPHS}</article></body></html>"
    )


# Headlines ------------------------------------------------------------------------------------

# What hostile or broken pages put around a headline: zero-width spaces and joiners' neighbours,
# left-to-right and right-to-left marks, embeddings, overrides and isolates, the BOM.
INVISIBLE = "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"


def test_title_behind_100000_invisible_characters_is_read_as_its_words() -> None:
    junk = (INVISIBLE * (100_000 // len(INVISIBLE) + 1))[:100_000]

    article = read(page(title=f"{junk}Harbour {junk}bridge reopens{junk} | Example News"))

    assert article.title == "Harbour bridge reopens"


def test_title_of_invisible_characters_alone_gives_the_feed_headline() -> None:
    article = read(page(title=INVISIBLE * 8_000))

    assert article.extraction == "page"
    assert article.title == "Bridge reopens after repairs"


@pytest.mark.parametrize("nothing", ["…", "– | –", "!!!", "\u200e\u2026\u200f", "&nbsp;"])
def test_headline_without_letters_is_no_candidate(nothing: str) -> None:
    # An <h1> of punctuation falls back to the next candidate, the page's <title>...
    article = read(page(h1=nothing, title="Harbour bridge reopens | Example News"))
    assert article.title == "Harbour bridge reopens"

    # ...and when the page has none that says something, to the feed's headline.
    article = read(page(h1=nothing, title=nothing))
    assert article.title == "Bridge reopens after repairs"


def test_headline_of_digits_is_a_headline() -> None:
    article = read(page(h1="2024", title="2024 | Example News"))

    assert article.title == "2024"


def test_feed_headline_without_letters_is_no_headline() -> None:
    article = read(page(title="…"), title="\u202e\u2026")

    assert article.title is None


def test_scripts_that_need_joiners_keep_them() -> None:
    # ZWNJ inside Persian words and ZWJ in an emoji sequence are part of the text.
    title = "خبرهای بین\u200cالمللی امروز"

    article = read(page(title=title, h1=title))

    assert article.title == title


def test_title_of_50000_pipe_segments_costs_its_length() -> None:
    title = "Harbour bridge reopens" + " | x" * 50_000
    started = time.perf_counter()

    assert strip_title_segments(title) == "Harbour bridge reopens"
    assert time.perf_counter() - started < 1.0


def test_invisible_characters_cost_their_length() -> None:
    started = time.perf_counter()
    assert readable(INVISIBLE * 100_000 + "Harbour bridge reopens") == "Harbour bridge reopens"
    assert readable(INVISIBLE * 100_000 + "…" * 100_000) is None
    assert time.perf_counter() - started < 1.0


# Dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headline",
    [
        "Windows 95 and the Start button: number 1995",
        "Die Hits des Jahres 1995",
        "1995 en chiffres",
    ],
)
def test_a_year_in_the_headline_is_no_publication_date(headline: str) -> None:
    article = read(page(title=f"{headline} | Example News", h1=headline))

    assert article.title == headline
    assert (article.published_at, article.published_at_precision) == (None, None)


def test_a_year_in_the_headline_leaves_the_feed_date() -> None:
    feed_day = datetime(2024, 5, 3, tzinfo=UTC)
    headline = "Windows 95 and the Start button: number 1995"

    article = read(
        page(title=headline, h1=headline), published_at=feed_day, published_at_precision="day"
    )

    assert (article.published_at, article.published_at_source) == (feed_day, "feed")


IMPOSSIBLE = ["February 30, 2024", "30. Februar 2024", "31.04.2024", "2024-02-30", "2023-02-29"]


@pytest.mark.parametrize("printed", IMPOSSIBLE)
def test_an_impossible_printed_date_is_no_date(printed: str) -> None:
    byline = f'<p class="byline">By Ana Lima · Published <span class="date">{printed}</span></p>'

    article = read(page(h1="Harbour bridge reopens", body=byline))

    assert (article.published_at, article.published_at_precision) == (None, None)


@pytest.mark.parametrize("declared", ["2024-02-30", "2024-02-30T10:00:00+01:00", "31.04.2024"])
def test_an_impossible_declared_date_is_no_date(declared: str) -> None:
    head = f'<meta property="article:published_time" content="{declared}">'
    body = f'<time datetime="{declared}" pubdate>{declared}</time>'

    article = read(page(head=head, h1="Harbour bridge reopens", body=body))

    assert (article.published_at, article.published_at_precision) == (None, None)


@pytest.mark.parametrize(
    ("printed", "day"),
    [
        ("2/24/2026", datetime(2026, 2, 24, tzinfo=UTC)),
        ("12/03/2026", datetime(2026, 3, 12, tzinfo=UTC)),
    ],
)
def test_a_slashed_date_printed_in_the_byline_is_kept(printed: str, day: datetime) -> None:
    # Shapes of two corpus pages (cartalk.com, theworlds50best.com) that only htmldate dates:
    # the day it reads is printed, so it stays.
    byline = f'<ul class="articleHeader__metaInfo"><li>By Ana Lima</li><li>{printed}</li></ul>'

    article = read(page(h1="Harbour bridge reopens", body=byline))

    assert (article.published_at, article.published_at_precision) == (day, "day")


# JSON-LD --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"@type": "NewsArticle", "about": ' * 100_000 + "null" + "}" * 100_000,
    ],
    ids=["arrays", "objects"],
)
def test_json_ld_nested_too_deep_is_skipped_and_the_article_kept(block: str) -> None:
    readable = (
        '{"@context": "https://schema.org", "@type": "NewsArticle",'
        ' "headline": "Harbour bridge reopens", "datePublished": "2024-05-03T09:30:00+02:00",'
        ' "author": {"@type": "Person", "name": "Ana Lima"}}'
    )
    head = (
        f'<script type="application/ld+json">{block}</script>'
        f'<script type="application/ld+json">{readable}</script>'
    )

    article = read(page(head=head))

    assert (article.extraction, article.extraction_error) == ("page", None)
    assert article.title == "Harbour bridge reopens"
    assert "cables should last for decades" in article.text
    assert article.published_at == datetime(2024, 5, 3, 7, 30, tzinfo=UTC)
    assert article.authors == ("Ana Lima",)


# Entity references -----------------------------------------------------------------------------

XHTML_WITH_SUBSET = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"\n'
    '  "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd" [\n'
    '  <!ENTITY lol "lol">\n'
    "]>\n"
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">'
)


def test_entity_defined_in_the_doctype_and_repeated_is_not_stored_literally() -> None:
    html = (
        XHTML_WITH_SUBSET
        + page(h1="Harbour bridge reopens", body="<p>" + "&lol;" * 50_000)[
            len("<html lang='en'>") :
        ]
    )

    article = read(html)

    assert article.extraction == "page"
    assert "&lol;" not in article.text
    assert "lol" not in article.text
    assert len(article.text) < 2_000
    assert article.title == "Harbour bridge reopens"


def test_unknown_entity_references_are_dropped_and_html5_ones_expanded() -> None:
    html = page(
        title="Harbour bridge &foo;reopens &bigstar;",
        body="<p>Tolls &mdash; &euro;2 &amp; up &ndash; are back &NotARealEntity;for cars "
        "&check; and vans&hellip; &amp;foo; is how the tollbooth sign reads.</p>",
    )

    article = read(html)

    assert article.title == "Harbour bridge reopens ★"
    line = next(line for line in article.text.splitlines() if line.startswith("Tolls"))
    assert line == (
        "Tolls — €2 & up – are back for cars ✓ and vans… &foo; is how the tollbooth sign reads."
    )


def test_references_in_scripts_are_left_alone() -> None:
    # `a&&s;` is JavaScript, not a reference; the JSON-LD beside it still gives the date.
    head = (
        "<script>var s=1,a=1;if(a&&s;)console.log(s)</script>"
        '<script type="application/ld+json">{"@type": "NewsArticle",'
        ' "datePublished": "2024-05-03T09:30:00Z", "headline": "Harbour bridge reopens"}</script>'
    )

    article = read(page(head=head, h1="Harbour bridge reopens", body="<p>Tolls &foo;apply.</p>"))

    assert article.published_at == datetime(2024, 5, 3, 9, 30, tzinfo=UTC)
    assert "Tolls apply." in article.text
