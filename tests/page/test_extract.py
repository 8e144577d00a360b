"""From a feed entry and its page to an `Article`, with real trafilatura and real corpus pages."""

from __future__ import annotations

import json
import pickle
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import pytest
from w3lib.encoding import html_to_unicode

from harness.corpus import CORPUS, needs_corpus
from tasks.models import Article, FeedEntry, Page
from tasks.page.extract import (
    NO_PAGE_TEXT,
    choose_body,
    content_hash,
    extract_article,
    read_page,
    split_authors,
    strip_site_suffix,
)
from tasks.page.language import detect_language
from tasks.text import MAX_AUTHOR, MAX_HEADLINE, MAX_SITE_NAME, clip_line
from tasks.urls import article_id

URL = "https://news.example.org/2024/05/03/harbour-bridge?utm_source=rss"
FEED_TIME = datetime(2024, 5, 3, 6, 0, tzinfo=UTC)

PARAGRAPHS = "".join(
    f"<p>The harbour bridge reopened on Friday after {n} months of repairs, and commuters "
    "crossed it in both directions for the first time since the storm damaged its deck. "
    "Engineers said the new cables should last for decades.</p>"
    for n in range(2, 8)
)


def entry(**overrides: object) -> FeedEntry:
    fields: dict[str, object] = {
        "feed_name": "example",
        "url": URL,
        "title": "Bridge reopens",
        "summary": "The harbour bridge reopened on Friday.",
        "published_at": FEED_TIME,
        "authors": ("Feed Author",),
        "language": "en",
    }
    fields.update(overrides)
    return FeedEntry(**fields)  # type: ignore[arg-type]


def article_page(head: str = "", title: str = "Harbour bridge reopens | Example News") -> str:
    return (
        f"<html lang='en'><head><title>{title}</title>"
        '<meta property="og:site_name" content="Example News">'
        '<meta name="author" content="Ana Lima; Ben Okafor; ana lima">'
        f"{head}</head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>Harbour bridge reopens</h1>{PARAGRAPHS}</article>"
        "<footer>© Example News</footer></body></html>"
    )


def ok_page(html: str, url: str = URL) -> Page:
    return Page(
        url=url,
        final_url=url,
        http_status=200,
        body=html.encode(),
        content_type="text/html; charset=utf-8",
    )


def test_page_text_and_metadata_are_extracted():
    article = extract_article(entry(), ok_page(article_page()))
    assert article.extraction == "page"
    assert article.extraction_error is None
    assert "harbour bridge reopened" in article.text
    assert "Home" not in article.text
    assert article.authors == ("Ana Lima", "Ben Okafor")
    assert article.site_name == "Example News"
    assert article.language == "en"
    assert article.word_count == len(article.text.split())
    assert article.url == "https://news.example.org/2024/05/03/harbour-bridge"


def test_site_name_suffix_is_removed_from_the_title():
    article = extract_article(entry(), ok_page(article_page()))
    assert article.title == "Harbour bridge reopens"


def test_double_escaped_metadata_is_decoded_as_in_feeds():
    # CMSs that escape an already escaped name print `&amp;amp;` in the page's head.
    html = article_page(title="Harbour &amp;amp; bridge reopen | Fish &amp;amp; Chips Daily")
    html = html.replace('content="Example News"', 'content="Fish &amp;amp; Chips Daily"')
    html = html.replace(
        "<h1>Harbour bridge reopens</h1>", "<h1>Harbour &amp;amp; bridge reopen</h1>"
    )
    article = extract_article(entry(), ok_page(html))
    assert article.site_name == "Fish & Chips Daily"
    assert article.title == "Harbour & bridge reopen"


@pytest.mark.parametrize(
    ("title", "names", "expected"),
    [
        ("Bridge reopens - Example News", ("Example News",), "Bridge reopens"),
        ("Bridge reopens – EXAMPLE NEWS", ("Example News",), "Bridge reopens"),
        ("Bridge reopens | Car Talk", ("Cartalk",), "Bridge reopens"),
        ("Bridge reopens - Star", ("Star - Weekly news since 1963",), "Bridge reopens"),
        ("Bridge reopens | UKBDNEWS", (None, "ukbdnews"), "Bridge reopens"),
        ("Example News", ("Example News",), "Example News"),
        ("Spider-Man returns", ("Man",), "Spider-Man returns"),
        ("Bridge reopens - Harbour", ("Example News",), "Bridge reopens - Harbour"),
    ],
)
def test_strip_site_suffix(title: str, names: tuple[str | None, ...], expected: str):
    assert strip_site_suffix(title, *names) == expected


def test_declared_canonical_on_the_same_site_keys_the_article():
    head = '<link rel="canonical" href="/2024/05/03/harbour-bridge-story">'
    article = extract_article(entry(), ok_page(article_page(head)))
    assert article.canonical_url == "https://news.example.org/2024/05/03/harbour-bridge-story"
    assert article.article_id == article_id(article.canonical_url)


def test_og_url_is_used_when_there_is_no_canonical_link():
    head = '<meta property="og:url" content="https://news.example.org/story/123">'
    article = extract_article(entry(), ok_page(article_page(head)))
    assert article.canonical_url == "https://news.example.org/story/123"


def test_a_404_page_falls_back_to_the_feed_summary():
    page = Page(
        url=URL,
        final_url=URL,
        http_status=404,
        body=b"<html><body><h1>Page not found</h1></body></html>",
        error="HTTP 404",
    )
    article = extract_article(entry(), page)
    assert article.extraction == "feed"
    assert article.extraction_error == "HTTP 404"
    assert article.text == "The harbour bridge reopened on Friday."
    assert article.title == "Bridge reopens"
    assert article.authors == ("Feed Author",)
    assert (article.published_at, article.published_at_source) == (FEED_TIME, "feed")
    assert article.http_status == 404


def test_feed_content_is_preferred_over_the_summary_when_the_page_fails():
    page = Page(url=URL, error="timed out after 20 s")
    article = extract_article(entry(content="Full text from the feed."), page)
    assert (article.text, article.extraction_error) == (
        "Full text from the feed.",
        "timed out after 20 s",
    )


def test_a_page_without_text_falls_back_and_says_so():
    page = ok_page("<html><head><title>Video</title></head><body><video></video></body></html>")
    article = extract_article(entry(), page)
    assert article.extraction == "feed"
    assert article.extraction_error == NO_PAGE_TEXT
    assert article.text == "The harbour bridge reopened on Friday."


def test_no_text_anywhere_still_gives_an_article_with_empty_text():
    article = extract_article(entry(summary=None), Page(url=URL, error="HTTP 500"))
    assert (article.text, article.word_count, article.extraction) == ("", 0, "feed")
    assert article.language == "en"  # the feed's language: nothing to classify


def test_an_exception_inside_trafilatura_falls_back_to_the_feed():
    # A value trafilatura cannot handle stands in for any unexpected failure of the library.
    page = Page(url=URL, final_url=URL, http_status=200, body=12345)  # type: ignore[arg-type]
    article = extract_article(entry(), page)
    assert article.extraction == "feed"
    assert article.extraction_error == "extraction failed: TypeError"
    assert article.text == "The harbour bridge reopened on Friday."


def test_page_time_beats_the_feed_time():
    head = '<meta property="article:published_time" content="2024-05-02T21:45:00-04:00">'
    article = extract_article(entry(), ok_page(article_page(head)))
    assert article.published_at == datetime(2024, 5, 3, 1, 45, tzinfo=UTC)
    assert (article.published_at_source, article.published_at_precision) == ("page", "second")


def test_feed_time_beats_a_page_day():
    head = '<meta property="article:published_time" content="2024-05-03">'
    article = extract_article(entry(), ok_page(article_page(head)))
    assert article.published_at == FEED_TIME
    assert (article.published_at_source, article.published_at_precision) == ("feed", "second")


def test_page_day_is_used_without_a_feed_date_and_never_posing_as_a_time():
    head = '<meta property="article:published_time" content="2024-05-03T09:30:00">'
    article = extract_article(entry(published_at=None), ok_page(article_page(head)))
    assert article.published_at == datetime(2024, 5, 3, tzinfo=UTC)
    assert (article.published_at_source, article.published_at_precision) == ("page", "day")


def test_no_date_anywhere_is_none_not_the_fetch_time():
    article = extract_article(entry(published_at=None), Page(url=URL, error="HTTP 404"))
    assert (article.published_at, article.published_at_source) == (None, None)


def test_feed_title_is_stripped_of_html():
    page = Page(url=URL, error="HTTP 404")
    article = extract_article(entry(title="Bridge <em>reopens</em>\u200b"), page)
    assert article.title == "Bridge reopens"


def test_authors_are_cleaned_and_deduplicated():
    assert split_authors([" Ana  Lima ", "", "ANA LIMA", "Ben\x07 Okafor"]) == (
        "Ana Lima",
        "Ben Okafor",
    )


def test_content_hash_ignores_layout_but_not_words():
    assert content_hash("Café  au\nlait") == content_hash("Cafe\u0301 au lait ")
    assert content_hash("Café au lait") != content_hash("Café au thé")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Die Bundesregierung hat am Mittwoch neue Regeln für den Wohnungsbau beschlossen.", "de"),
        ("The government approved new rules for housing construction on Wednesday.", "en"),
        ("Le gouvernement a adopté mercredi de nouvelles règles pour la construction.", "fr"),
    ],
)
def test_language_is_detected_from_the_text(text: str, expected: str):
    assert detect_language(text, hint="es") == expected


def test_short_text_falls_back_to_the_feed_language():
    assert detect_language("Live: Ticker", hint="de-DE") == "de"
    assert detect_language("", hint=None) is None


def test_extract_article_runs_in_a_worker_process():
    pairs = [(entry(), ok_page(article_page())), (entry(), Page(url=URL, error="HTTP 404"))]
    with ProcessPoolExecutor(max_workers=1) as pool:
        results = list(pool.map(extract_article, *zip(*pairs, strict=True)))
    assert [a.extraction for a in results] == ["page", "feed"]
    assert pickle.loads(pickle.dumps(results[0])) == results[0]


def corpus_html(page_id: str) -> tuple[str, dict]:
    rows = (CORPUS / "articles" / "ground_truth.jsonl").read_text(encoding="utf-8").splitlines()
    row = next(json.loads(line) for line in rows if line.startswith(f'{{"id": "{page_id}"'))
    body = (CORPUS / "articles" / f"{page_id}.html").read_bytes()
    return html_to_unicode(None, body)[1], row


def corpus_article(page_id: str) -> tuple[Article, dict]:
    html, row = corpus_html(page_id)
    feed_entry = FeedEntry(feed_name="corpus", url=row["url"])
    return extract_article(feed_entry, ok_page(html, row["url"])), row


@pytest.mark.corpus
@needs_corpus
def test_iso_8859_1_page_is_decoded_without_mojibake():
    article, row = corpus_article("traf-die-tagespost.de.Demut")
    assert article.extraction == "page"
    assert article.title == row["title"]
    assert "gehöre" in article.text and "Schwäche" in article.text
    assert not any(mark in article.text for mark in ("Ã", "Â", "\ufffd"))
    assert "Der moderne, säkulare Mensch scheint weder Feigheit noch Schwäche zu kennen." in (
        article.text
    )
    assert article.language == "de"


@pytest.mark.corpus
@needs_corpus
def test_corpus_news_page_gives_title_authors_and_a_utc_time():
    article, row = corpus_article("wcxb-0161")
    assert article.title == row["title"]
    assert article.authors[0] == "Sergio Martínez-Beltrán"
    assert article.site_name == "NPR"
    assert article.published_at is not None
    assert article.published_at.tzinfo is UTC
    assert article.published_at.date().isoformat() == row["date"]
    assert (article.published_at_source, article.published_at_precision) == ("page", "second")
    assert article.language == "en"


@pytest.mark.corpus
@needs_corpus
def test_corpus_french_page_is_detected_as_french():
    article, _ = corpus_article("traf-lapresse.tn.parite")
    assert article.language == "fr"
    assert article.extraction == "page"


def _share_of_body(text: str, body: str) -> float:
    """How much of the annotated body's words the text keeps (token recall)."""
    kept, want = Counter(text.split()), Counter(body.split())
    return sum((kept & want).values()) / sum(want.values())


@pytest.mark.corpus
@needs_corpus
@pytest.mark.parametrize(
    "page_id",
    [
        "wcxb-0140",  # a long feature: precision mode keeps its first block only
        "wcxb-5152",  # a ranking: the same
        "wcxb-4007",  # a guide: precision mode keeps nothing at all
    ],
)
def test_a_long_feature_is_stored_whole_not_cut_to_its_first_block(page_id):
    article, row = corpus_article(page_id)
    assert article.extraction == "page"
    assert _share_of_body(article.text, row["body"]) >= 0.9
    # What keeps it whole is trafilatura's pass with its default settings, the third.
    html, _ = corpus_html(page_id)
    assert read_page(html, row["url"]).passes == 3


@pytest.mark.corpus
@needs_corpus
def test_a_body_the_fast_pass_cuts_to_its_teaser_is_read_in_full():
    # trafilatura's fast pass keeps the teaser only; its full pass, which compares its body
    # with readability's, finds the article.
    html, row = corpus_html("traf-badische-zeitung.de-Wohnungssuche")
    reading = read_page(html, row["url"])
    assert reading.passes == 2
    flat = " ".join(reading.text.split())
    assert all(" ".join(snippet.split()) in flat for snippet in row["with"])


@pytest.mark.corpus
@needs_corpus
@pytest.mark.parametrize(
    "page_id",
    [
        "aeb-9a440270bf8625d5",  # a sports report under a "more stories" list
        "wcxb-0161",  # a news report with a byline and photos
    ],
)
def test_a_news_page_is_read_in_one_trafilatura_pass(page_id):
    html, row = corpus_html(page_id)
    reading = read_page(html, row["url"])
    assert reading.passes == 1
    assert _share_of_body(reading.text, row["body"]) >= 0.9


def test_a_plain_article_page_is_read_in_one_pass_with_its_metadata():
    reading = read_page(article_page(), URL)
    assert reading.passes == 1
    assert "harbour bridge reopened" in reading.text
    assert (reading.title, reading.site_name) == ("Harbour bridge reopens", "Example News")
    assert reading.authors == ("Ana Lima", "Ben Okafor")


def test_trafilatura_reads_what_the_page_declares_nowhere_else():
    # No og:site_name, no author meta, no JSON-LD, no <h1>: the site name comes from the
    # <title>, the byline from trafilatura's search of the page.
    html = (
        "<html><head><title>Harbour bridge reopens | news.example.org</title></head><body>"
        "<article><p class='byline'>By <span class='author'>Carla Mendes</span></p>"
        f"{PARAGRAPHS}</article></body></html>"
    )
    reading = read_page(html, URL)
    assert reading.site_name == "news.example.org"
    assert reading.authors == ("Carla Mendes",)
    assert reading.title == "Harbour bridge reopens"


@pytest.mark.corpus
@needs_corpus
def test_related_story_lists_stay_out_of_the_body():
    # The defaults keep the "more stories" list under this article; precision mode drops it.
    article, _ = corpus_article("aeb-9a440270bf8625d5")
    assert "Pochettino fired by Tottenham" not in article.text
    assert "Maradona out as coach of Gimnasia" not in article.text


def test_the_precise_body_is_kept_unless_it_is_under_half_of_the_default_one():
    assert choose_body("a" * 600, "a" * 1000) == "a" * 600
    assert choose_body("a" * 400, "a" * 2000) == "a" * 2000
    assert choose_body("", "a" * 800) == "a" * 800
    assert choose_body(None, None) == ""


def test_a_short_item_keeps_its_precise_body_when_the_default_adds_a_few_lines_only():
    assert choose_body("a" * 250, "a" * 550) == "a" * 250


def test_a_200000_character_title_is_not_stored_whole():
    words = " ".join(f"word{n}" for n in range(40_000))
    huge = f"Harbour bridge reopens {words}"[:200_000]
    html = (
        article_page(title=huge)
        .replace("<h1>Harbour bridge reopens</h1>", "")
        .replace('content="Example News"', f'content="{huge}"')
    )
    article = extract_article(entry(title=huge, authors=(huge,)), ok_page(html))
    assert article.title is not None and article.title.startswith("Harbour bridge reopens word0")
    assert len(article.title) <= MAX_HEADLINE
    assert article.title.endswith("…")
    assert article.title.removesuffix("…") in huge  # cut between two words
    assert not article.title.removesuffix("…").endswith(("word", " "))
    assert article.site_name is not None and len(article.site_name) <= MAX_SITE_NAME
    assert all(len(name) <= MAX_AUTHOR for name in article.authors)
    assert "harbour bridge reopened" in article.text


def test_a_long_line_is_cut_at_a_word_and_a_line_without_spaces_at_a_character():
    assert clip_line("short headline", 300) == "short headline"
    assert clip_line("one two three four", 12) == "one two…"
    assert clip_line("北京" * 200, 300) == ("北京" * 200)[:299] + "…"
    assert clip_line(None, 10) is None
