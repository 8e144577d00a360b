"""Section fronts, tag pages and video pages are recognised; articles stay articles."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tasks.models import FeedEntry, Page
from tasks.page.extract import extract_article

BODY = "".join(
    f"<p>The harbour bridge reopened on Friday after {n} months of repairs, and commuters "
    "crossed it in both directions for the first time since the storm damaged its deck.</p>"
    for n in range(2, 12)
)


def teasers(count: int = 12) -> str:
    return "".join(
        f"<article><h3><a href='/politik/story-{n}'>Story number {n} about the budget talks</a>"
        f"</h3><p>Short teaser {n}.</p></article>"
        for n in range(count)
    )


def extract(url: str, html: str, **entry: object):
    fields: dict[str, object] = {"feed_name": "f", "url": url, "summary": "From the feed."}
    fields.update(entry)
    page = Page(url, url, 200, body=html.encode(), content_type="text/html; charset=utf-8")
    return extract_article(FeedEntry(**fields), page)  # type: ignore[arg-type]


def page(head: str, body: str) -> str:
    return f"<html lang='en'><head><title>News</title>{head}</head><body>{body}</body></html>"


def test_a_section_front_is_an_index_without_text():
    html = page(
        '<meta property="og:type" content="website">',
        f"<header><a href='/'>Example News</a></header><h1>Politik</h1>{teasers()}",
    )
    article = extract("https://news.example/politik/", html, title="Politik")
    assert article.page_type == "index"
    assert article.text == "" and article.word_count == 0
    assert article.extraction == "page" and article.extraction_error is None
    assert article.title == "Politik" and article.summary == "From the feed."


def test_a_tag_page_is_an_index():
    html = page("", f"<h1>Klima</h1>{teasers(9)}")
    assert extract("https://news.example/tag/klima", html).page_type == "index"


def test_a_collection_page_declared_in_json_ld_is_an_index():
    data = {"@context": "https://schema.org", "@type": "CollectionPage", "name": "Sport"}
    html = page(
        f'<script type="application/ld+json">{json.dumps(data)}</script>',
        f"<h1>Sport</h1>{teasers(10)}",
    )
    assert extract("https://news.example/sport/", html).page_type == "index"


def test_a_video_page_with_a_caption_is_a_video():
    html = page(
        '<meta property="og:type" content="video.other">',
        "<h1>Storm hits the coast</h1><video src='/v/storm.mp4' controls></video>"
        "<p>Waves flooded the promenade on Sunday.</p>",
    )
    article = extract("https://news.example/video/storm-hits-the-coast", html)
    assert article.page_type == "video"
    assert article.text == ""
    assert article.title == "Storm hits the coast"


def test_an_article_with_a_related_stories_block_is_an_article():
    html = page(
        '<meta property="og:type" content="article">',
        f"<article><h1>Harbour bridge reopens</h1>{BODY}</article><aside>{teasers(12)}</aside>",
    )
    article = extract("https://news.example/2024/05/03/bridge", html)
    assert article.page_type == "article"
    assert "harbour bridge reopened" in article.text


def test_a_short_article_on_a_slash_url_is_still_an_article():
    html = page("", "<article><h1>Council passes budget</h1><p>The council met.</p></article>")
    article = extract("https://news.example/council-passes-budget/", html)
    assert article.page_type == "article"


def test_a_failed_page_has_no_page_type():
    article = extract_article(
        FeedEntry(
            "f",
            "https://news.example/x",
            summary="From the feed.",
            published_at=datetime(2024, 1, 1, tzinfo=UTC),
        ),
        Page("https://news.example/x", None, None, error="timed out after 60 s"),
    )
    assert article.page_type is None
    assert article.extraction == "feed"
