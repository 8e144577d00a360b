"""Feed dates with month and weekday names in other languages, as real feeds write them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.corpus import CORPUS, needs_corpus
from tasks.feeds.dates import parse_localized_date
from tasks.feeds.parse import parse_feed
from tasks.models import FeedEntry, Page
from tasks.page.extract import extract_article


def _rss(pub_date: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>t</title><link>https://news.example/1</link>"
        f"<pubDate>{pub_date}</pubDate></item></channel></rss>"
    ).encode()


def _published(pub_date: str) -> FeedEntry:
    (entry,) = parse_feed("dates", _rss(pub_date), "https://news.example/feed").entries
    return entry


# (language, as the feed writes it, the instant in UTC)
LOCALIZED = [
    ("pt", "Qua, 05 Mar 2025 10:00:00 -0300", datetime(2025, 3, 5, 13, 0, tzinfo=UTC)),
    ("pt", "Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
    ("pt", "Sáb, 01 Fev 2025 08:15:00 BRT", datetime(2025, 2, 1, 11, 15, tzinfo=UTC)),
    ("it", "mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
    ("it", "Gio, 12 Giu 2025 18:05:00 +0200", datetime(2025, 6, 12, 16, 5, tzinfo=UTC)),
    ("es", "jue, 06 dic 2024 10:00:00 +0100", datetime(2024, 12, 6, 9, 0, tzinfo=UTC)),
    ("es", "Lun, 13 Ene 2025 07:30:00 GMT", datetime(2025, 1, 13, 7, 30, tzinfo=UTC)),
    ("nl", "wo, 14 mei 2025 09:00:00 +0200", datetime(2025, 5, 14, 7, 0, tzinfo=UTC)),
    ("nl", "Di, 14 Okt 2025 16:45:00 +0200", datetime(2025, 10, 14, 14, 45, tzinfo=UTC)),
    ("pl", "Śr, 05 mar 2025 10:00:00 +0100", datetime(2025, 3, 5, 9, 0, tzinfo=UTC)),
    ("pl", "pt., 7 lis 2025 12:00:00 +0100", datetime(2025, 11, 7, 11, 0, tzinfo=UTC)),
    ("fr", "lun, 3 mars 2025 10:00:00 +0100", datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
    ("fr", "jeu., 14 août 2025 18:30:00 +0200", datetime(2025, 8, 14, 16, 30, tzinfo=UTC)),
    ("fr", "ven, 12 déc 2025 06:00:00 CET", datetime(2025, 12, 12, 5, 0, tzinfo=UTC)),
    ("de", "Di, 04 Mär 2025 08:30:00 +0100", datetime(2025, 3, 4, 7, 30, tzinfo=UTC)),
    ("de", "Mi, 21 Mai 2025 14:00:00 MESZ", datetime(2025, 5, 21, 12, 0, tzinfo=UTC)),
    ("de", "Fr, 19 Dez 2025 11:00:00 +0100", datetime(2025, 12, 19, 10, 0, tzinfo=UTC)),
    ("cs", "út, 04 bře 2025 10:00:00 +0100", datetime(2025, 3, 4, 9, 0, tzinfo=UTC)),
    ("sv", "tis, 04 mar 2025 10:00:00 +0100", datetime(2025, 3, 4, 9, 0, tzinfo=UTC)),
    ("sv", "fre, 17 okt 2025 07:00:00 +0200", datetime(2025, 10, 17, 5, 0, tzinfo=UTC)),
    ("da", "man, 12 maj 2025 13:00:00 +0200", datetime(2025, 5, 12, 11, 0, tzinfo=UTC)),
    ("ro", "Mie, 05 Mar 2025 10:00:00 +0200", datetime(2025, 3, 5, 8, 0, tzinfo=UTC)),
    ("tr", "Çar, 05 Mar 2025 10:00:00 +0300", datetime(2025, 3, 5, 7, 0, tzinfo=UTC)),
    ("ru", "Ср, 05 мар 2025 10:00:00 +0300", datetime(2025, 3, 5, 7, 0, tzinfo=UTC)),
    ("ca", "dj., 06 febr. 2025 10:00:00 +0100", datetime(2025, 2, 6, 9, 0, tzinfo=UTC)),
    ("gl", "Mér, 05 Mar 2025 10:00:00 +0100", datetime(2025, 3, 5, 9, 0, tzinfo=UTC)),
    ("nb", "ons, 05 mar. 2025 10:00:00 +0100", datetime(2025, 3, 5, 9, 0, tzinfo=UTC)),
    ("fi", "ke, 5. maaliskuuta 2025 10:00:00 +0200", datetime(2025, 3, 5, 8, 0, tzinfo=UTC)),
    ("sk", "st, 05 mar 2025 10:00:00 +0100", datetime(2025, 3, 5, 9, 0, tzinfo=UTC)),
    ("sl", "sre, 05 mar 2025 10:00:00 +0100", datetime(2025, 3, 5, 9, 0, tzinfo=UTC)),
    ("id", "Sel, 04 Agu 2025 10:00:00 +0700", datetime(2025, 8, 4, 3, 0, tzinfo=UTC)),
    ("uk", "ср, 05 бер 2025 10:00:00 +0200", datetime(2025, 3, 5, 8, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("written", "instant"), [pytest.param(w, i, id=f"{lang}: {w}") for lang, w, i in LOCALIZED]
)
def test_feed_date_in_another_language_is_read_as_a_utc_instant(
    written: str, instant: datetime
) -> None:
    entry = _published(written)

    assert entry.published_at == instant
    assert entry.published_at_precision == "second"


def test_dates_are_read_in_many_languages() -> None:
    assert len({lang for lang, _, _ in LOCALIZED}) >= 8


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("lun, 3 mars 2025", datetime(2025, 3, 3, tzinfo=UTC)),
        ("5 de março de 2025", datetime(2025, 3, 5, tzinfo=UTC)),
        ("Di, 04 Mär 2025", datetime(2025, 3, 4, tzinfo=UTC)),
        ("Wed, 05 Mar 2025", datetime(2025, 3, 5, tzinfo=UTC)),  # English, read by feedparser
        ("2025-03-05", datetime(2025, 3, 5, tzinfo=UTC)),
    ],
)
def test_feed_date_without_a_time_is_a_day_not_an_instant(written: str, day: datetime) -> None:
    entry = _published(written)

    assert entry.published_at == day
    assert entry.published_at_precision == "day"


GARBAGE = [
    "Qua, 32 Mar 2025 10:00:00 -0300",  # no 32nd
    "lun, 30 févr. 2025 10:00:00 +0100",  # no 30 February
    "Qua, 05 Foo 2025 10:00:00 -0300",  # no such month
    "Blub, 05 Mär 2025 10:00:00 +0100",  # no such weekday
    "Qua, 05 Mar 2025 25:00:00 -0300",  # no hour 25
    "Qua, 05 Mar 2025 10:00:00 +2500",  # no such offset
    "Qua, 05 Mar 2025 10:00:00 IST",  # India, Ireland or Israel: not guessed
    "Qua, 05 Mar 25 10:00:00 -0300",  # two-digit year
    "jui, 3 2025",
    "lundi gras",
    "mars",
    "",
]


@pytest.mark.parametrize("written", GARBAGE)
def test_feed_date_that_is_not_a_date_is_not_parsed(written: str) -> None:
    assert parse_localized_date(written) is None
    assert _published(written).published_at is None


@pytest.mark.parametrize(
    "written",
    [
        "2024-02-30T10:00:00Z",
        "2023-02-29T08:15:00+01:00",
        "2024-04-31",
        "Fri, 30 Feb 2024 10:00:00 GMT",
    ],
)
def test_feed_date_of_an_impossible_day_is_no_date(written: str) -> None:
    # feedparser's W3C-DTF reader rolled 2024-02-30 over to the 1st of March.
    assert _published(written).published_at is None


def test_english_dates_are_left_to_feedparser() -> None:
    assert parse_localized_date("Wed, 05 Mar 2025 10:00:00 -0300") is None
    assert _published("Wed, 05 Mar 2025 10:00:00 -0300").published_at == datetime(
        2025, 3, 5, 13, 0, tzinfo=UTC
    )


HTML = "text/html; charset=utf-8"
PAGE = (
    "<html><head><title>Headline</title></head><body><article><h1>Headline</h1>"
    + "<p>Body text of the article, long enough to be kept by the extractor.</p>" * 8
    + "</article></body></html>"
)


def test_feed_day_is_stored_as_a_day() -> None:
    entry = _published("lun, 3 mars 2025")
    page = Page(
        url=entry.url, final_url=entry.url, http_status=200, body=PAGE.encode(), content_type=HTML
    )

    article = extract_article(entry, page)

    assert article.published_at == datetime(2025, 3, 3, tzinfo=UTC)
    assert (article.published_at_source, article.published_at_precision) == ("feed", "day")


def test_feed_instant_still_beats_a_page_day() -> None:
    entry = _published("Di, 04 Mär 2025 08:30:00 +0100")
    html = PAGE.replace("<head>", '<head><meta name="date" content="2025-03-01">')
    page = Page(
        url=entry.url, final_url=entry.url, http_status=200, body=html.encode(), content_type=HTML
    )

    article = extract_article(entry, page)

    assert article.published_at == datetime(2025, 3, 4, 7, 30, tzinfo=UTC)
    assert (article.published_at_source, article.published_at_precision) == ("feed", "second")


def test_date_name_table_is_what_cldr_gives() -> None:
    pytest.importorskip("babel")
    from date_names_cldr import TABLE, render

    assert Path(TABLE).read_text() == render(), "rewrite: python tests/date_names_cldr.py --write"


@pytest.mark.corpus
@needs_corpus
@pytest.mark.parametrize(
    ("name", "dated"),
    # Every entry of these real feeds carries a date in Italian or Portuguese.
    [("feedrs-rss_2-0_ilmessaggero.xml", 1), ("rssparser-uolNoticias_rss.xml", 15)],
)
def test_corpus_feeds_with_localized_dates_have_every_date(name: str, dated: int) -> None:
    feed = parse_feed(name, (CORPUS / "feeds" / name).read_bytes(), "https://c.invalid/feed")

    assert sum(e.published_at is not None for e in feed.entries) >= dated
    assert all(e.published_at is not None for e in feed.entries)
