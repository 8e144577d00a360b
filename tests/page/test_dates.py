"""Publication dates read from pages: UTC instants, honest precision, never a made-up time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tasks.page.dates import find_published, parse_date, parse_day


def page(head: str = "", body: str = "") -> str:
    return f"<html><head><title>t</title>{head}</head><body>{body}<p>text</p></body></html>"


def jsonld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_jsonld_date_with_offset_is_converted_to_utc():
    html = page(jsonld({"@type": "NewsArticle", "datePublished": "2020-04-24T10:15:30+02:00"}))
    assert find_published(html) == (datetime(2020, 4, 24, 8, 15, 30, tzinfo=UTC), "second")


def test_jsonld_graph_with_type_list_is_searched():
    data = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Example"},
            {"@type": ["Article", "NewsArticle"], "datePublished": "2021-11-05T07:00:00Z"},
        ],
    }
    assert find_published(page(jsonld(data))) == (
        datetime(2021, 11, 5, 7, 0, tzinfo=UTC),
        "second",
    )


def test_jsonld_article_date_wins_over_webpage_date():
    data = [
        {"@type": "WebPage", "datePublished": "2019-01-01T09:00:00Z"},
        {"@type": "BlogPosting", "datePublished": "2020-02-02T09:00:00Z"},
    ]
    published, _ = find_published(page(jsonld(data)))
    assert published == datetime(2020, 2, 2, 9, 0, tzinfo=UTC)


def test_broken_jsonld_still_yields_its_date():
    broken = (
        '<script type="application/ld+json">'
        '{"@type": "NewsArticle", "datePublished": "2020-04-24T10:15:00Z",}</script>'
    )
    assert find_published(page(broken))[0] == datetime(2020, 4, 24, 10, 15, tzinfo=UTC)


def test_article_published_time_meta_without_seconds_has_minute_precision():
    html = page('<meta property="article:published_time" content="2020-04-24T10:15-04:00">')
    assert find_published(html) == (datetime(2020, 4, 24, 14, 15, tzinfo=UTC), "minute")


@pytest.mark.parametrize(
    "meta",
    [
        '<meta name="parsely-pub-date" content="2022-12-06T09:30:00Z">',
        '<meta name="sailthru.date" content="2022-12-06 04:30:00 -0500">',
        '<meta name="DC.date.issued" content="2022-12-06T10:30:00+01:00">',
        '<meta itemprop="datePublished" content="2022-12-06T09:30:00.000Z">',
    ],
)
def test_common_publication_meta_tags_are_read(meta: str):
    assert find_published(page(meta)) == (datetime(2022, 12, 6, 9, 30, tzinfo=UTC), "second")


def test_time_element_inside_the_article_is_used():
    body = (
        '<article><h1>Story</h1><time datetime="2023-11-01T18:05:00+01:00">1 Nov</time></article>'
    )
    assert find_published(page(body=body)) == (datetime(2023, 11, 1, 17, 5, tzinfo=UTC), "second")


def test_time_element_outside_the_article_is_ignored():
    body = '<nav><time datetime="2023-11-01T18:05:00+01:00">now</time></nav><article>x</article>'
    assert find_published(page(body=body)) == (None, None)


def test_date_only_value_has_day_precision_at_midnight_utc():
    html = page('<meta property="article:published_time" content="2020-04-24">')
    assert find_published(html) == (datetime(2020, 4, 24, tzinfo=UTC), "day")


def test_time_without_offset_keeps_only_the_day():
    # The zone is unknown, so 10:15 could be any instant within ±14 hours: not a real time.
    html = page('<meta property="article:published_time" content="2020-04-24T10:15:00">')
    assert find_published(html) == (datetime(2020, 4, 24, tzinfo=UTC), "day")


def test_padded_midnight_is_treated_as_a_day():
    assert parse_date("2020-04-24T00:00:00+02:00") == (datetime(2020, 4, 24, tzinfo=UTC), "day")


def test_later_source_adds_the_time_to_a_date_only_value_of_the_same_day():
    html = page(
        jsonld({"@type": "NewsArticle", "datePublished": "2020-04-24"})
        + '<meta property="article:published_time" content="2020-04-24T23:30:00+02:00">'
    )
    # 23:30 in UTC+2 is still the 24th where it was written, though the 24th 21:30 in UTC.
    assert find_published(html) == (datetime(2020, 4, 24, 21, 30, tzinfo=UTC), "second")


def test_time_from_another_day_does_not_replace_the_declared_day():
    # itemprop dates in "related stories" cards belong to other articles.
    html = page(
        '<meta name="date" content="March 27, 2025">',
        '<div class="card"><span itemprop="datePublished" content="2025-06-13T12:00:00Z">'
        "Jun 13</span></div>",
    )
    assert find_published(html) == (datetime(2025, 3, 27, tzinfo=UTC), "day")


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("March 27, 2025", datetime(2025, 3, 27, tzinfo=UTC)),
        ("Tuesday, 27 March 2025", datetime(2025, 3, 27, tzinfo=UTC)),
        ("27. März 2020", datetime(2020, 3, 27, tzinfo=UTC)),
        ("24.04.2020, 10:15 Uhr", datetime(2020, 4, 24, tzinfo=UTC)),
        ("3 février 2020", datetime(2020, 2, 3, tzinfo=UTC)),
    ],
)
def test_written_dates_give_the_day(written: str, day: datetime):
    assert parse_date(written) == (day, "day")


def test_rfc_2822_dates_are_instants():
    assert parse_date("Fri, 24 Apr 2020 10:00:00 +0200") == (
        datetime(2020, 4, 24, 8, 0, tzinfo=UTC),
        "second",
    )


@pytest.mark.parametrize(
    "garbage",
    ["", "yesterday", "2020-13-45", "2020-04-24T25:99:00Z", "11/01/2023", "1970-01-01", "0"],
)
def test_garbage_is_not_a_date(garbage: str):
    assert parse_date(garbage) is None
    html = page(f'<meta property="article:published_time" content="{garbage}">')
    assert find_published(html) == (None, None)


def test_future_dates_are_rejected():
    tomorrow_and_more = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert parse_date(tomorrow_and_more) is None


def test_page_without_any_date_gives_none():
    assert find_published(page(body="<article><p>No dates here.</p></article>")) == (None, None)
    assert find_published("") == (None, None)


def test_trafilatura_day_string_becomes_midnight_utc():
    assert parse_day("2023-10-17") == datetime(2023, 10, 17, tzinfo=UTC)
    assert parse_day("2023-02-30") is None
    assert parse_day(None) is None


def test_an_instant_keeps_the_offset_it_was_written_with():
    parsed = parse_date("2020-04-24T10:15:30+02:00")
    assert parsed is not None
    assert parsed[0].utcoffset() == timedelta(hours=2)
    assert parsed[0].astimezone(UTC) == datetime(2020, 4, 24, 8, 15, 30, tzinfo=UTC)


def article(head: str, header: str, text: str = "", after: str = "") -> str:
    body = "<p>" + "The council met on Tuesday evening to discuss the budget. " * 4 + "</p>"
    return page(
        head, f"<article><h1>Council passes budget</h1>{header}{text or body}{after}</article>"
    )


def test_the_printed_date_picks_the_machine_date_of_that_day():
    # The page prints its update day; its machine-readable modified time gives the time.
    head = (
        '<meta property="article:published_time" content="2020-01-03T09:48:24Z">'
        '<meta property="og:updated_time" content="2020-01-06T09:22:36Z">'
    )
    html = article(head, "<p class='date'>Monday, 6 January 2020</p>")
    assert find_published(html) == (datetime(2020, 1, 6, 9, 22, 36, tzinfo=UTC), "second")


def test_a_printed_date_that_agrees_keeps_the_declared_time():
    head = '<meta property="article:published_time" content="2020-01-06T09:48:24+01:00">'
    html = article(head, "<p class='date'>6. Januar 2020</p>")
    assert find_published(html) == (datetime(2020, 1, 6, 8, 48, 24, tzinfo=UTC), "second")


def test_a_utc_instant_agrees_with_the_local_day_the_page_prints():
    # 02:59 UTC on the 20th is the evening of the 19th in Minnesota, as the byline says.
    head = '<meta property="article:published_time" content="2019-11-20T02:59:46Z">'
    html = article(head, "<p>Published: November 19, 2019 at 9:59 pm</p>")
    assert find_published(html) == (datetime(2019, 11, 20, 2, 59, 46, tzinfo=UTC), "second")


def test_a_printed_byline_day_replaces_a_declared_day_without_time():
    head = '<meta name="date" content="2020-04-29T11:52:23">'  # no zone: only a day
    html = article(head, "<p class='stand'>Stand: 28.04.2020 18:00 Uhr</p>")
    assert find_published(html) == (datetime(2020, 4, 28, tzinfo=UTC), "day")


def test_a_printed_date_without_support_does_not_replace_a_declared_instant():
    head = '<meta property="article:published_time" content="2022-12-30T07:00:40+01:00">'
    html = article(head, "<p>29. Dezember 2022</p>")
    assert find_published(html) == (datetime(2022, 12, 30, 6, 0, 40, tzinfo=UTC), "second")


def test_dates_labelled_as_updates_are_not_the_publication_date():
    html = article(
        "",
        "<p>Last updated 12 Jan 2026</p>",
        after="<ul><li><h6>3 Sept 2024 <span>| Originally published</span></h6></li></ul>",
    )
    assert find_published(html) == (datetime(2024, 9, 3, tzinfo=UTC), "day")


def test_update_markup_is_skipped_unless_it_also_says_published():
    updated = '<time class="updated" itemprop="dateModified">29. Dezember 2022</time>'
    both = '<time class="entry-date published updated">1. November 2023 09:35</time>'
    assert find_published(article("", f"<p>{updated}</p>")) == (None, None)
    assert find_published(article("", f"<p>{both}</p>")) == (
        datetime(2023, 11, 1, tzinfo=UTC),
        "day",
    )


def test_a_date_inside_the_running_text_is_not_the_publication_date():
    text = "<p>" + "The hackathon is planned for 23.-26.8.2017 in Vienna, the organisers said. " * 3
    assert find_published(article("", "", text=text + "</p>")) == (None, None)


def test_an_ambiguous_slashed_date_is_read_the_way_the_page_prints_it():
    head = '<meta name="date" content="11/01/2023 12:43:42">'
    html = article(head, "", after="<p>Erstellt am: 01.11.2023</p>")
    assert find_published(html) == (datetime(2023, 11, 1, tzinfo=UTC), "day")
    assert find_published(article(head, "")) == (None, None)


def test_a_full_date_in_the_url_is_the_last_resort():
    html = article("", "")
    url = "https://news.example/2024/05/03/harbour-bridge"
    assert find_published(html, url) == (datetime(2024, 5, 3, tzinfo=UTC), "day")
    assert find_published(html, "https://news.example/2024/05/harbour") == (None, None)
