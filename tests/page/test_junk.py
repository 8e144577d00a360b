"""Pages served in place of the article, and paywalled teasers, told from articles.

The fixtures are small pages in the shapes vendors and publishers serve (see
`fixtures/junk/SOURCES.md`); the corpus test runs the classifier over every real article of the
shared corpus, none of which may be taken for anything but an article.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.corpus import CORPUS, needs_corpus
from newsdesk.demo import SAMPLE_DIR
from tasks.encoding import decode_html
from tasks.models import FeedEntry, Page
from tasks.page import junk
from tasks.page.extract import extract_article, read_page

FIXTURES = Path(__file__).parent / "fixtures" / "junk"
URL = "https://news.example.com/2026/01/harbour-bridge-reopens"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def reading_of(html: bytes):
    return read_page(decode_html("text/html; charset=utf-8", html), URL)


def entry() -> FeedEntry:
    return FeedEntry(
        feed_name="f",
        url=URL,
        title="Harbour bridge reopens",
        summary="The harbour bridge reopened on Monday after two years of repairs.",
    )


def page(body: bytes, status: int = 200, final_url: str | None = None) -> Page:
    return Page(
        url=URL,
        final_url=final_url or URL,
        http_status=status,
        body=body,
        content_type="text/html; charset=utf-8",
        error=f"HTTP {status}" if status >= 400 else None,
        retryable=status in (429, 503),
    )


CLASSES = {
    "challenge": [
        "challenge-cloudflare-en.html",
        "challenge-cloudflare-de.html",
        "challenge-cloudflare-fr.html",
        "challenge-cloudflare-es.html",
        "challenge-datadome-en.html",
        "challenge-perimeterx-en.html",
        "challenge-akamai-en.html",
        "challenge-incapsula-en.html",
    ],
    "consent": [
        "consent-yahoo-en.html",
        "consent-sourcepoint-en.html",
        "consent-google-de.html",
        "consent-usercentrics-de.html",
        "consent-didomi-fr.html",
        "consent-onetrust-es.html",
    ],
    "signin": ["signin-en.html", "signin-de.html", "signin-fr.html", "signin-es.html"],
    "app_shell": ["appshell-en.html", "appshell-de.html", "appshell-fr.html", "appshell-es.html"],
    "error_page": ["error-en.html", "error-de.html", "error-fr.html", "error-es.html"],
}
TEASERS = ["paywall-en.html", "paywall-de.html", "paywall-fr.html", "paywall-es.html"]


def test_every_fixture_is_tested_and_named_in_the_sources():
    named = {name for names in CLASSES.values() for name in names} | set(TEASERS)
    assert named == {p.name for p in FIXTURES.glob("*.html")}
    sources = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    assert all(name in sources for name in named)


@pytest.mark.parametrize(
    ("kind", "name"), [(kind, name) for kind, names in CLASSES.items() for name in names]
)
def test_a_page_served_in_place_of_the_article_is_told_by_its_kind(kind, name):
    assert reading_of(fixture(name)).junk == kind


@pytest.mark.parametrize("name", TEASERS)
def test_a_paywalled_teaser_is_an_article_marked_partial_without_its_prompt(name):
    reading = reading_of(fixture(name))
    assert reading.junk is None
    assert reading.partial
    assert reading.text
    lines = reading.text.lower().splitlines()
    assert not any(
        p in lines[-1]
        for p in ("subscribe", "abo", "abonnés", "suscríbete", "weiterlesen", "il vous reste")
    )


@pytest.mark.parametrize("name", [n for names in CLASSES.values() for n in names])
def test_a_junk_page_is_stored_from_the_feed_with_its_reason_and_the_feed_s_headline(name):
    article = extract_article(entry(), page(fixture(name)))
    kind = reading_of(fixture(name)).junk
    assert kind is not None
    assert article.extraction == "feed"
    assert article.extraction_error == junk.REASONS[kind]
    assert article.title == "Harbour bridge reopens"
    assert article.text.startswith("The harbour bridge reopened")
    assert article.retryable == (kind in ("challenge", "consent"))
    assert article.page_type is None
    assert not article.text_partial


def test_a_consent_wall_s_address_is_not_taken_for_the_article_s():
    walled = page(fixture("consent-yahoo-en.html"), final_url="https://guce.yahoo.com/consent")
    article = extract_article(entry(), walled)
    assert article.url == URL


@pytest.mark.parametrize("status", [403, 429, 503])
def test_a_challenge_served_with_an_error_status_can_heal(status):
    article = extract_article(entry(), page(fixture("challenge-cloudflare-en.html"), status))
    assert article.extraction_error == f"page is a bot challenge (HTTP {status})"
    assert article.retryable


def test_a_plain_403_stays_refused_for_good():
    refusal = b"<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body>"
    article = extract_article(entry(), page(refusal, 403))
    assert (article.extraction_error, article.retryable) == ("HTTP 403", False)


def test_a_paywalled_teaser_is_stored_from_its_page_marked_partial():
    article = extract_article(entry(), page(fixture("paywall-en.html")))
    assert (article.extraction, article.text_partial) == ("page", True)
    assert article.title == "Harbour bridge reopens after two years of repairs"
    assert "Subscribe" not in article.text


def article_page(paragraphs: int, extra: str = "", head: str = "") -> bytes:
    text = "".join(
        f"<p>On the {n + 1}. point of the evening the council debated the budget for the coming "
        "year: schools, the tram extension and the future of the old library, "
        f"which {n + 2} members wanted to keep open.</p>"
        for n in range(paragraphs)
    )
    return (
        f"<html><head><title>Council agrees budget | Daily Example</title>{head}</head><body>"
        f"<article><h1>Council agrees budget</h1>{text}</article>{extra}</body></html>"
    ).encode()


CONSENT_BANNER = (
    '<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk"><p>We value your privacy. '
    "We and our partners store and access information on a device, such as cookies, and "
    "process personal data for personalised ads and content.</p><button>Accept all</button>"
    "<button>Reject all</button></div></div>"
)


def test_an_article_under_a_consent_banner_is_an_article():
    assert reading_of(article_page(8, CONSENT_BANNER)).junk is None


def test_a_short_article_about_privacy_under_a_consent_banner_is_an_article():
    story = (
        "<p>The data protection regulator fined the retailer on Tuesday for sharing the "
        "personal data of its customers with advertising partners without asking them.</p>"
        "<p>Our partners in the investigation said the retailer had ignored privacy settings "
        "chosen by more than two million people over three years of online shopping.</p>"
        "<p>The company said it would appeal and had already changed how it works with "
        "the vendors that handle its loyalty programme and its mailing lists.</p>"
    )
    html = article_page(0, CONSENT_BANNER).replace(b"</h1>", b"</h1>" + story.encode())
    assert reading_of(html).junk is None


def test_a_short_brief_on_a_site_behind_cloudflare_is_an_article():
    # Cloudflare adds its bot-detection script to every page it serves, not only challenges.
    script = (
        "<script>(function(){var js = document.createElement('script');"
        "js.src = '/cdn-cgi/challenge-platform/scripts/jsd/main.js';"
        "document.getElementsByTagName('head')[0].appendChild(js);})();</script>"
    )
    brief = article_page(2, script).replace(
        b"</h1>", b"</h1><p>Press and hold the reset button for ten seconds, the utility said.</p>"
    )
    assert reading_of(brief).junk is None


def test_an_article_with_a_subscribe_footer_is_whole():
    footer = "<footer><p>Subscribe to our newsletter for the day's news.</p></footer>"
    reading = reading_of(article_page(8, footer))
    assert (reading.junk, reading.partial) == (None, False)


def test_an_article_that_says_its_part_is_not_free_but_serves_it_whole_is_not_partial():
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": '
        'false, "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": "False", '
        '"cssSelector": "article"}, "wordCount": 200}</script>'
    )
    assert not reading_of(article_page(8, head=head)).partial


def test_an_article_whose_headline_names_an_error_is_an_article():
    html = article_page(8).replace(b"Council agrees budget", b"Page not found")
    assert reading_of(html).junk is None


@pytest.mark.corpus
@needs_corpus
def test_no_article_of_the_shared_corpus_or_the_sample_is_taken_for_junk():
    urls = {
        row["id"]: row["url"]
        for row in map(json.loads, (CORPUS / "articles" / "ground_truth.jsonl").open())
    }
    pages = sorted((CORPUS / "articles").glob("*.html"))
    assert len(pages) == len(urls) >= 290
    taken = {}
    for path in [*pages, *sorted((SAMPLE_DIR / "articles").glob("*.html"))]:
        html = decode_html(None, path.read_bytes())
        kind = read_page(html, urls.get(path.stem, URL)).junk
        if kind is not None:
            taken[path.name] = kind
    assert taken == {}
