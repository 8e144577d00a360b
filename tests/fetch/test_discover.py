"""Feed discovery from a site's home page, against a real local server."""

from __future__ import annotations

import asyncio

import pytest

from harness.httpserver import LocalServer, Reply, redirect
from tasks.feeds.parse import parse_feed
from tasks.fetch.config import FetchConfig
from tasks.fetch.discover import COMMON_PATHS, DiscoveryError, discover_feeds, feed_links

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Example News'
    b"</title><link>http://example/</link><language>de</language><item><title>One</title>"
    b"<link>http://example/one</link></item></channel></rss>"
)
ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
    b"<title>Comments</title><entry><title>c</title><link href='http://example/c'/>"
    b"<id>c</id></entry></feed>"
)


def html(head: str) -> bytes:
    return f"<html><head><title>Home</title>{head}</head><body><p>hi</p></body></html>".encode()


def page(body: bytes) -> Reply:
    return Reply(headers={"Content-Type": "text/html; charset=utf-8"}, body=body)


def feed(body: bytes, kind: str = "application/rss+xml") -> Reply:
    return Reply(headers={"Content-Type": kind}, body=body)


def discover(url: str):
    return asyncio.run(discover_feeds(url, FetchConfig(), parse_feed))


def test_feed_links_are_read_from_the_head_comment_feeds_last():
    links = feed_links(
        '<html><head><base href="https://news.example/de/">'
        '<link rel="alternate" type="application/atom+xml" title="Kommentare" href="comments.xml">'
        '<link rel="alternate" type="application/rss+xml" title="Alle Meldungen" href="/rss">'
        '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/1">'
        '<link rel="alternate" hreflang="en" href="/en/"></head></html>',
        "https://news.example/",
    )
    assert [(link.url, link.title) for link in links] == [
        ("https://news.example/rss", "Alle Meldungen"),
        ("https://news.example/de/comments.xml", "Kommentare"),
    ]


def test_a_home_page_with_an_alternate_link():
    with LocalServer() as server:
        server.routes["/"] = page(
            html('<link rel="alternate" type="application/rss+xml" href="/news/rss.xml">')
        )
        server.routes["/news/rss.xml"] = feed(RSS)
        found = discover(server.url("/"))
    assert [(f.url, f.title, f.entries, f.language) for f in found] == [
        (server.url("/news/rss.xml"), "Example News", 1, "de")
    ]


def test_links_that_are_not_feeds_are_not_offered():
    with LocalServer() as server:
        server.routes["/"] = page(
            html(
                '<link rel="alternate" type="application/rss+xml" href="/gone.xml">'
                '<link rel="alternate" type="application/rss+xml" href="/html.xml">'
                '<link rel="alternate" type="application/atom+xml" href="/comments.xml">'
            )
        )
        server.routes["/html.xml"] = page(html(""))
        server.routes["/comments.xml"] = feed(ATOM, "application/atom+xml")
        found = discover(server.url("/"))
    assert [f.url for f in found] == [server.url("/comments.xml")]


def test_common_paths_are_tried_when_the_page_links_no_feed():
    with LocalServer() as server:
        server.routes["/"] = page(html(""))
        server.routes["/atom.xml"] = feed(ATOM, "application/atom+xml")
        found = discover(server.url("/"))
        tried = server.paths()
    assert [f.url for f in found] == [server.url("/atom.xml")]
    # Tried in order, and no further once one answered.
    assert tried == ["/", *COMMON_PATHS[: COMMON_PATHS.index("/atom.xml") + 1]]


def test_a_feed_url_is_its_own_answer_after_redirects():
    with LocalServer() as server:
        server.routes["/feed"] = redirect("/feed.json")
        server.routes["/feed.json"] = feed(
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}',
            "application/feed+json",
        )
        found = discover(server.url("/feed"))
    assert [(f.url, f.title) for f in found] == [(server.url("/feed.json"), "J")]


def test_a_site_without_feeds_gives_nothing_and_an_unreachable_one_an_error():
    with LocalServer() as server:
        server.routes["/"] = page(html(""))
        assert discover(server.url("/")) == []
        with pytest.raises(DiscoveryError, match="HTTP 404"):
            discover(server.url("/missing"))
