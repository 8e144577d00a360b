"""Publication dates read from pages: UTC instants, honest precision, never a made-up time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tasks.dates import find_published, parse_date, parse_day


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
