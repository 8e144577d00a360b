"""Google News sitemaps and sitemap indexes read as feeds, from real-shaped files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tasks.feeds.parse import parse_feed
from tasks.feeds.sitemap import MAX_ENTRIES, sitemap_children, sitemap_kind

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://news.example.com"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes().replace(b"{{base}}", BASE.encode())


def test_a_news_sitemap_gives_its_articles_with_title_date_and_language():
    parsed = parse_feed("dw", fixture("news-sitemap.xml"), f"{BASE}/sitemap-news.xml")
    assert parsed.usable and parsed.problem is None
    assert [(e.url, e.title, e.published_at, e.language) for e in parsed.entries] == [
        (
            f"{BASE}/articles/dw-elephants.html",  # tracking parameter removed
            "Elephants & people: a fragile truce",
            datetime(2026, 3, 2, 7, 40, tzinfo=UTC),  # +01:00 in the file
            "en",
        ),
        (
            f"{BASE}/articles/japantimes-masks.html",
            "Masks stay on in Tokyo's trains",
            datetime(2026, 3, 1, tzinfo=UTC),
            "en",
        ),
    ]
    # The evergreen /about-us page has no news:news and is not an article.
    assert parsed.language == "en"
    assert parsed.entries[0].updated_at == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def test_a_plain_sitemap_without_news_elements_gives_every_url_newest_first():
    body = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>/old</loc><lastmod>2025-01-01</lastmod></url>"
        b"<url><loc>/new</loc><lastmod>2026-01-01</lastmod></url></urlset>"
    )
    parsed = parse_feed("plain", body, f"{BASE}/sitemap.xml", default_language="fr")
    assert [e.url for e in parsed.entries] == [f"{BASE}/new", f"{BASE}/old"]
    assert {e.language for e in parsed.entries} == {"fr"}


def test_a_huge_sitemap_is_read_newest_first_up_to_the_news_sitemap_limit():
    urls = b"".join(
        b"<url><loc>/a/%d</loc><lastmod>2026-01-01T00:%02d:%02dZ</lastmod></url>"
        % (i, i // 60 % 60, i % 60)
        for i in range(MAX_ENTRIES + 500)
    )
    body = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + urls + b"</urlset>"
    parsed = parse_feed("big", body, f"{BASE}/sitemap.xml")
    assert len(parsed.entries) == MAX_ENTRIES


def test_the_kind_of_document_is_read_from_its_root_element():
    assert sitemap_kind(fixture("news-sitemap.xml")) == "urlset"
    assert sitemap_kind(fixture("sitemap-index.xml")) == "sitemapindex"
    assert sitemap_kind(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>') is None
    assert sitemap_kind(b"<html><body>urlset</body></html>") is None


def test_a_long_prolog_is_read_in_one_pass():
    # Fuzzing found it: 40 processing instructions before an `<rss>` root stalled a whole run in
    # the regular expression that used to read the root element.
    prolog = b'<?xml version="1.0"?>' + b"<?a ?> <!-- c --> " * 40
    assert sitemap_kind(prolog + b"<rss>") is None
    assert sitemap_kind(prolog + b"<urlset>") == "urlset"
    assert sitemap_kind(b"\xef\xbb\xbf <!-- x -->\n<news:sitemapindex>") == "sitemapindex"
    assert sitemap_kind(b"<?xml never closed <urlset>") is None


def test_a_sitemap_index_lists_its_sitemaps_most_recent_first():
    assert sitemap_children(fixture("sitemap-index.xml")) == [
        "https://elsewhere.example/sitemaps/news.xml",
        f"{BASE}/sitemaps/news-en.xml",
        f"{BASE}/sitemaps/news-de.xml",
        f"{BASE}/sitemaps/archive-2019.xml",
    ]
    assert sitemap_children(fixture("news-sitemap.xml")) == []


def test_a_sitemap_index_reads_its_fetched_sitemaps_as_one_feed():
    parts = [fixture("news-sitemap.xml"), fixture("news-sitemap-de.xml")]
    parsed = parse_feed("site", fixture("sitemap-index.xml"), f"{BASE}/sitemap.xml", parts=parts)
    assert parsed.usable
    assert len(parsed.entries) == 4
    assert {e.language for e in parsed.entries} == {"en", "de"}
    assert parsed.language is None  # two languages: none for the feed as a whole


def test_a_sitemap_index_whose_sitemaps_are_unreadable_is_not_a_feed():
    index = fixture("sitemap-index.xml")
    assert not parse_feed("site", index, BASE).usable
    broken = parse_feed("site", index, BASE, parts=[b"<urlset><url>", b"<html/>"])
    assert not broken.usable and "not a feed" in (broken.problem or "")
    partly = parse_feed("site", index, BASE, parts=[fixture("news-sitemap-de.xml"), b"<urlset>"])
    assert partly.usable and partly.problem == "1 of 2 sitemaps could not be read"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x "boom">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url>'
        b"</urlset>",
        b"<urlset><url><loc>https://a/</loc>",
    ],
)
def test_a_malformed_or_entity_laden_sitemap_fails_alone(body):
    parsed = parse_feed("bad", body, BASE)
    assert all("boom" not in e.url for e in parsed.entries)
