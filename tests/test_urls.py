"""URL normalization, site comparison and the article key (pure functions, no network)."""

from __future__ import annotations

import pytest

from tasks.urls import article_id, canonical_url, normalize_url, same_site


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://example.com/story?utm_source=rss&utm_medium=feed&id=7&fbclid=abc",
            "https://example.com/story?id=7",
        ),
        ("https://example.com/a?UTM_Campaign=x&gclid=1&msclkid=2", "https://example.com/a"),
        (
            "https://example.com/a?at_medium=rss&at_campaign=x&mc_cid=1&mc_eid=2&_hsenc=3"
            "&ocid=4&cmpid=5&ito=6&ncid=7&sr_share=8&ref_src=9&spm=10&igshid=11&yclid=12",
            "https://example.com/a",
        ),
        # Kept parameters keep their order and spelling, blank ones included.
        ("https://example.com/s?q=a+b&b=2&a=1&amp", "https://example.com/s?q=a+b&b=2&a=1&amp"),
        (
            "https://example.com/s?page=2&utm_source=x&sort=new",
            "https://example.com/s?page=2&sort=new",
        ),
    ],
)
def test_tracking_parameters_are_stripped_and_others_kept_in_order(url, expected):
    assert normalize_url(url) == expected


def test_fragment_is_dropped():
    assert normalize_url("https://example.com/post#comments") == "https://example.com/post"


def test_scheme_and_host_are_lower_cased_and_default_ports_dropped():
    assert normalize_url("HTTPS://News.Example.COM:443/Path") == "https://news.example.com/Path"
    assert normalize_url("http://example.com:80") == "http://example.com/"
    assert normalize_url("http://example.com:8080/x") == "http://example.com:8080/x"


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/blog/2003/12/13/atom03", "https://example.com/feed.xml", "https://example.com/blog/2003/12/13/atom03"),
        ("post.html", "https://example.com/blog/feed.xml", "https://example.com/blog/post.html"),
        ("../up/x", "https://example.com/a/b/feed", "https://example.com/a/up/x"),
        ("//cdn.example.org/x", "https://example.com/", "https://cdn.example.org/x"),
        ("?page=2", "https://example.com/list?page=1#top", "https://example.com/list?page=2"),
        ("https://other.org/x", "https://example.com/", "https://other.org/x"),
    ],
)  # fmt: skip
def test_relative_links_are_resolved_against_the_base(url, base, expected):
    assert normalize_url(url, base) == expected


def test_whitespace_and_newlines_around_and_inside_links_are_removed():
    assert normalize_url("\n  https://example.com/a\n/b  \t") == "https://example.com/a/b"


def test_non_ascii_is_percent_encoded_and_hosts_become_punycode():
    assert normalize_url("https://bücher.example/straße ä") == (
        "https://xn--bcher-kva.example/stra%C3%9Fe%20%C3%A4"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "mailto:desk@example.com",
        "ftp://example.com/file",
        "tag:example.com,2024:post-1",
        "data:text/html,hi",
        "",
        "   ",
        "http://",
        "https://example.com:99999/",
        # Found by fuzzing: a NUL (one flipped byte of a feed) and other controls in a host.
        "https://le-c\x00rcle.example.com/x",
        "https://a\x01b.example/",
        "https://example.com\x1b/",
        "https://a\x7fb.example/",
        "https://a\u202eb.example/",  # a bidi override: IDNA refuses it
    ],
)
def test_non_http_and_broken_urls_are_rejected(url):
    assert normalize_url(url) is None


def test_relative_url_without_base_is_rejected():
    assert normalize_url("/only/a/path") is None


@pytest.mark.parametrize(
    "url",
    [
        "HTTPS://WWW.Example.COM:443/a/./b/../c?utm_source=x&id=5&fbclid=1&q=a+b%2fc#top",
        "http://example.com/a%zz b/é?x=%7e&&y=",
        "https://[2001:db8::1]:443/x?ref_src=a",
        "https://user:secret@example.com/private",
        "https://example.com",
    ],
)
def test_normalization_is_idempotent(url):
    once = normalize_url(url)
    assert once is not None
    assert normalize_url(once) == once


def test_user_info_is_removed():
    assert normalize_url("https://user:secret@example.com/p") == "https://example.com/p"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("https://www.example.com/a", "https://example.com/b", True),
        ("https://news.bbc.co.uk/x", "https://www.bbc.co.uk/y", True),
        ("https://edition.cnn.com/x", "http://cnn.com:8080/", True),
        ("https://example.com/", "https://example.org/", False),
        ("https://bbc.co.uk/", "https://itv.co.uk/", False),
        # Public suffixes that anyone can register under are separate sites.
        ("https://alice.blogspot.com/", "https://bob.blogspot.com/", False),
        ("https://alice.github.io/", "https://bob.github.io/", False),
        ("http://127.0.0.1:8000/a", "http://127.0.0.1:9000/b", True),
        ("http://127.0.0.1/a", "http://127.0.0.2/a", False),
        ("http://localhost/a", "http://localhost:1/b", True),
    ],
)
def test_same_site_compares_registrable_domains(a, b, expected):
    assert same_site(a, b) is expected
    assert same_site(b, a) is expected


def test_declared_canonical_on_the_same_site_wins():
    assert (
        canonical_url(
            "https://www.example.com/news/1?utm_source=rss", "https://example.com/news/one#x"
        )
        == "https://example.com/news/one"
    )


def test_declared_canonical_on_another_site_is_ignored():
    assert (
        canonical_url("https://example.com/news/1?utm_source=rss", "https://spam.example.org/1")
        == "https://example.com/news/1"
    )


@pytest.mark.parametrize("declared", [None, "", "/news/one", "//example.com/x", "javascript:x"])
def test_missing_relative_or_non_http_canonical_falls_back_to_final_url(declared):
    assert canonical_url("https://example.com/news/1#top", declared) == "https://example.com/news/1"


def test_article_id_is_32_hex_digits_of_sha256_of_the_normalized_url():
    # sha256("https://example.com/a") computed independently.
    assert article_id("https://example.com/a") == "2dce0a4c50441bfccfa9caf4b58c3cba"
    assert len(article_id("https://example.com/b")) == 32


def test_article_id_is_the_same_for_equivalent_spellings():
    assert article_id("HTTPS://Example.com:443/a?utm_source=x#frag") == article_id(
        "https://example.com/a"
    )
    assert article_id("https://example.com/a") != article_id("https://example.com/b")
