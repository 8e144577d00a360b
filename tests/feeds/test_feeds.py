"""Feed parsing: bytes in, `ParsedFeed` out, for small inline feeds and the whole corpus."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest

from harness.corpus import CORPUS, needs_corpus
from tasks.feeds.parse import feed_authors, html_to_text, parse_feed

FEED_URL = "https://example.com/feed.xml"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Example &amp;amp; News</title>
  <link>https://example.com/</link>
  <language>en-US</language>
  <item>
    <title>Markets &lt;b&gt;rally&lt;/b&gt; &amp;amp; bonds slip</title>
    <link>/news/markets?utm_source=rss&amp;id=1#comments</link>
    <guid isPermaLink="false">markets-1</guid>
    <pubDate>Tue, 10 Jun 2003 04:00:00 -0500</pubDate>
    <author>jane@example.com (Jane Doe)</author>
    <description>&lt;p&gt;First &lt;i&gt;paragraph&lt;/i&gt;.&lt;/p&gt;
      &lt;p&gt;Second&amp;nbsp;one.&lt;/p&gt;</description>
    <content:encoded><![CDATA[<h2>Head</h2><p>Body <a href="/x">link</a></p>
      <script>var x;</script><ul><li>one</li><li>two</li></ul>]]></content:encoded>
  </item>
  <item>
    <title>Two writers</title>
    <link>https://example.com/news/two</link>
    <dc:creator>Ann Lee and Bob Ray</dc:creator>
  </item>
  <item>
    <title>Same link again</title>
    <link>https://example.com/news/two#later</link>
  </item>
  <item>
    <title>No link at all</title>
    <description>Dropped.</description>
  </item>
  <item>
    <title>Permalink guid</title>
    <guid>https://example.com/news/guid</guid>
  </item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de-AT">
  <title type="html">Atom &lt;em&gt;Feed&lt;/em&gt;</title>
  <link href="https://atom.example.org/blog/"/>
  <link rel="self" href="https://atom.example.org/blog/feed.atom"/>
  <author><name>Feed Author</name></author>
  <id>urn:uuid:feed</id>
  <updated>2024-01-02T00:00:00Z</updated>
  <entry>
    <title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; &amp;#8220;quoted&amp;#8221;</title>
    <link rel="alternate" href="2024/01/entry-one"/>
    <id>urn:uuid:1</id>
    <published>2024-01-01T12:30:00+02:00</published>
    <updated>2024-01-03T00:00:00Z</updated>
    <summary type="text">A &lt;plain&gt; summary</summary>
    <content type="xhtml">
      <div xmlns="http://www.w3.org/1999/xhtml"><p>P1</p><p>P2 <b>b</b></p></div>
    </content>
  </entry>
  <entry>
    <title type="text">Only updated, own author</title>
    <link href="https://atom.example.org/blog/two"/>
    <id>urn:uuid:2</id>
    <updated>2024-01-05T06:07:08-05:00</updated>
    <author><name>Entry Author</name></author>
  </entry>
</feed>"""

RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.net/">
    <title>RDF Site</title>
    <link>https://rdf.example.net/</link>
    <dc:language>fr-FR</dc:language>
  </channel>
  <item rdf:about="https://rdf.example.net/a">
    <title>Caf&#233; &lt;sup&gt;2&lt;/sup&gt; &#x0024;40</title>
    <link>https://rdf.example.net/a</link>
    <dc:date>2020-05-06T07:08:09+02:00</dc:date>
    <dc:creator>Doe, Jane</dc:creator>
  </item>
</rdf:RDF>"""

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON Site",
    "home_page_url": "https://json.example.com/",
    "language": "pt-BR",
    "authors": [{"name": "Site Team"}],
    "items": [
        {
            "id": "1",
            "url": "/posts/1?fbclid=x",
            "title": "Hello &amp; <i>welcome</i>",
            "content_html": "<p>One</p><p>Two</p>",
            "summary": "Short",
            "date_published": "2021-03-04T05:06:07-03:00",
            "authors": [{"name": "Ana Souza"}, {"name": "Rui Lima"}],
        },
        {
            "id": 2,
            "external_url": "https://elsewhere.example.org/story",
            "content_text": "Plain text\n\nbody",
            "date_modified": "2021-03-05T00:00:00Z",
        },
        {"id": "3", "content_text": "no url: dropped"},
    ],
}


def test_rss_titles_are_plain_text():
    feed = parse_feed("rss", RSS, FEED_URL)
    assert feed.usable and feed.problem is None
    assert feed.title == "Example & News"
    assert feed.entries[0].title == "Markets rally & bonds slip"


def test_rss_dates_are_converted_to_utc():
    entry = parse_feed("rss", RSS, FEED_URL).entries[0]
    assert entry.published_at == datetime(2003, 6, 10, 9, 0, tzinfo=UTC)


def test_entries_without_a_date_have_none_not_the_current_time():
    assert parse_feed("rss", RSS, FEED_URL).entries[1].published_at is None


def test_rss_links_are_resolved_and_normalized():
    urls = [e.url for e in parse_feed("rss", RSS, FEED_URL).entries]
    assert urls == [
        "https://example.com/news/markets?id=1",
        "https://example.com/news/two",
        "https://example.com/news/guid",
    ]


def test_entries_without_link_are_dropped_and_repeated_links_keep_the_first():
    entries = parse_feed("rss", RSS, FEED_URL).entries
    assert [e.title for e in entries] == [
        "Markets rally & bonds slip",
        "Two writers",
        "Permalink guid",
    ]


def test_rss_summary_and_content_become_plain_text_with_line_breaks():
    entry = parse_feed("rss", RSS, FEED_URL).entries[0]
    assert entry.summary == "First paragraph.\nSecond one."
    assert entry.content == "Head\nBody link\none\ntwo"


def test_rss_authors_lose_email_addresses_and_are_split():
    entries = parse_feed("rss", RSS, FEED_URL).entries
    assert entries[0].authors == ("Jane Doe",)
    assert entries[1].authors == ("Ann Lee", "Bob Ray")


def test_guid_and_language_come_through():
    feed = parse_feed("rss", RSS, FEED_URL)
    assert feed.entries[0].guid == "markets-1"
    assert feed.language == "en"
    assert {e.language for e in feed.entries} == {"en"}


def test_atom_entry_fields():
    feed = parse_feed("atom", ATOM, "https://atom.example.org/blog/feed.atom")
    assert feed.title == "Atom Feed"
    assert feed.language == "de"
    first, second = feed.entries
    assert first.url == "https://atom.example.org/blog/2024/01/entry-one"
    assert first.title == "Bold & “quoted”"
    assert first.summary == "A <plain> summary"
    assert first.content == "P1\nP2 b"
    # published wins over updated, and the offset is applied.
    assert first.published_at == datetime(2024, 1, 1, 10, 30, tzinfo=UTC)
    assert second.published_at == datetime(2024, 1, 5, 11, 7, 8, tzinfo=UTC)


def test_atom_entries_inherit_the_feed_author_only_when_they_have_none():
    first, second = parse_feed("atom", ATOM, "https://atom.example.org/blog/feed.atom").entries
    assert first.authors == ("Feed Author",)
    assert second.authors == ("Entry Author",)


def test_rdf_feed():
    feed = parse_feed("rdf", RDF, "https://rdf.example.net/rss")
    (entry,) = feed.entries
    assert entry.title == "Café 2 $40"
    assert entry.published_at == datetime(2020, 5, 6, 5, 8, 9, tzinfo=UTC)
    assert entry.authors == ("Doe, Jane",)
    assert feed.language == "fr"


def test_json_feed_items_map_to_entries():
    body = json.dumps(JSON_FEED).encode()
    feed = parse_feed("json", body, "https://json.example.com/feed.json")
    assert feed.usable and feed.problem is None
    assert feed.title == "JSON Site" and feed.language == "pt"
    first, second = feed.entries
    assert first.url == "https://json.example.com/posts/1"
    assert first.guid == "1"
    assert first.title == "Hello & welcome"
    assert first.content == "One\nTwo"
    assert first.summary == "Short"
    assert first.published_at == datetime(2021, 3, 4, 8, 6, 7, tzinfo=UTC)
    assert first.authors == ("Ana Souza", "Rui Lima")
    assert second.url == "https://elsewhere.example.org/story"
    assert second.guid == "2"
    assert second.content == "Plain text\nbody"
    assert second.published_at == datetime(2021, 3, 5, tzinfo=UTC)
    assert second.authors == ("Site Team",)


def test_json_feed_1_0_single_author_and_content_type_detection():
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "items": [{"id": "a", "url": "https://j.example/a", "author": {"name": "Solo"}}],
        }
    ).encode()
    feed = parse_feed("json", b"\xef\xbb\xbf \n" + body, "https://j.example/feed")
    assert feed.entries[0].authors == ("Solo",)
    assert parse_feed("json", body, "https://j.example/f", "application/feed+json").entries


def test_escaped_lone_surrogates_in_a_json_feed_become_replacement_characters():
    # Valid JSON: `json.dumps` writes a lone surrogate as the escape `\udc00`. Kept, one in a
    # title or an id failed the run at the warehouse lookup, before any page was fetched.
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Desk \ud800",
            "items": [
                {
                    "id": "urn:x:\udc00",
                    "url": "https://j.example/a",
                    "title": "Jane \udc00 Doe resigns",
                    "summary": "\ud800",
                    "content_html": "<p>Body \udfff</p>",
                    "authors": [{"name": "Jane \udc00 Doe"}],
                    "tags": [["\udc00"]],
                }
            ],
        }
    ).encode()
    feed = parse_feed("json", body, "https://j.example/feed.json")
    (entry,) = feed.entries
    assert (entry.guid, entry.title) == ("urn:x:\ufffd", "Jane \ufffd Doe resigns")
    assert feed.title == "Desk \ufffd"
    assert entry.authors == ("Jane \ufffd Doe",)
    for value in (entry.guid, entry.title, entry.summary, entry.content, *entry.authors):
        value.encode("utf-8")  # raises on a surrogate


def test_an_entry_id_keeps_no_control_characters():
    rss = RSS.replace(b">markets-1<", b">id&#x1;-7\x08<", 1)
    assert parse_feed("rss", rss, FEED_URL).entries[0].guid == "id-7"
    body = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "items": [
            {"id": "\u0000id-8\u001b", "url": "https://j.example/a"}
        ]}
    ).encode()  # fmt: skip
    assert parse_feed("json", body, "https://j.example/feed.json").entries[0].guid == "id-8"


def test_invisible_characters_in_entry_titles_are_removed():
    # As in nnw-phpxml_rss.xml: "Column: \ufeffWat een wedstrijd, wat heb ik genoten!"
    rss = RSS.replace(b"<title>Markets ", "<title>Column: \ufeff\u200bMarkets ".encode(), 1)
    assert parse_feed("rss", rss, FEED_URL).entries[0].title.startswith("Column: Markets")


def test_truncated_json_feed_is_not_usable():
    feed = parse_feed("json", json.dumps(JSON_FEED).encode()[:80], FEED_URL)
    assert not feed.usable
    assert feed.problem.startswith("not a feed: invalid JSON")


def test_malformed_feed_that_still_has_entries_is_usable_with_a_problem():
    body = RSS.replace(b"<title>Two writers</title>", b"<title>Tom & Jerry</title>")
    feed = parse_feed("bozo", body, FEED_URL)
    assert feed.usable
    assert feed.entries
    assert feed.problem.startswith("malformed XML at line")
    assert "\n" not in feed.problem


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
         "text/html; charset=utf-8"),
        (b"\x00\x01garbage\xff\xfe not xml at all", None),
        (b"", None),
    ],
)  # fmt: skip
def test_html_pages_and_garbage_are_not_usable(body, content_type):
    feed = parse_feed("junk", body, FEED_URL, content_type)
    assert not feed.usable
    assert feed.entries == ()
    assert feed.problem.startswith("not a feed: ")


def test_valid_feed_without_entries_is_usable_without_problem():
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed("empty", body, FEED_URL)
    assert feed.usable and feed.problem is None and feed.entries == ()
    assert feed.title == "Quiet"


def test_body_that_names_a_local_file_is_parsed_as_bytes_not_opened(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)
    feed = parse_feed("path", str(secret).encode(), FEED_URL)
    assert feed.entries == ()
    assert not feed.usable


def test_default_language_applies_when_the_feed_has_none():
    body = RSS.replace(b"<language>en-US</language>", b"")
    assert parse_feed("rss", body, FEED_URL, default_language="sv_SE").language == "sv"
    assert parse_feed("rss", RSS, FEED_URL, default_language="sv").language == "en"


def test_declared_latin1_feed_decodes_correctly():
    body = RSS.replace(b'encoding="utf-8"', b'encoding="iso-8859-1"').replace(
        b"Two writers", "Ça coûte très cher".encode("iso-8859-1")
    )
    assert parse_feed("latin1", body, FEED_URL).entries[1].title == "Ça coûte très cher"


def test_utf8_body_that_declares_latin1_is_read_as_utf8():
    body = RSS.replace(b'encoding="utf-8"', b'encoding="iso-8859-1"').replace(
        b"Two writers", "Ça coûte — “très” cher".encode()
    )
    assert parse_feed("liar", body, FEED_URL).entries[1].title == "Ça coûte — “très” cher"


def test_text_xml_without_charset_does_not_force_ascii():
    # RFC 3023 says text/xml without charset is US-ASCII; real servers mean "see the body".
    body = RSS.replace(b"Two writers", "Zürich".encode())
    feed = parse_feed("textxml", body, FEED_URL, content_type="text/xml")
    assert feed.problem is None
    assert feed.entries[1].title == "Zürich"


def test_whitespace_before_the_xml_declaration_is_not_an_error():
    feed = parse_feed("ws", b"\n\n  " + RSS, FEED_URL)
    assert feed.problem is None
    assert len(feed.entries) == 3


def test_gzip_bytes_without_content_encoding_are_not_a_feed():
    import gzip

    feed = parse_feed("gz", gzip.compress(RSS), FEED_URL)
    assert not feed.usable and "gzip" in feed.problem


def test_html_to_text_keeps_paragraphs_and_drops_scripts_and_comments():
    markup = "<div>A<br>B<!-- hidden --> C<script>x()</script><p>D &amp; E&nbsp;F</p></div>tail"
    assert html_to_text(markup) == "A\nB C\nD & E F\ntail"
    assert html_to_text("a < b and c > d") == "a < b and c > d"
    assert html_to_text("  \x00\x07 ") is None


def test_utf8_text_misread_as_latin1_is_repaired():
    assert html_to_text("<p>BrÃ¸ndby forsÃ¸ger â€“ â€œjaâ€</p>") == "Brøndby forsøger – “ja”"
    assert html_to_text("Ã is a letter, Ð too") == "Ã is a letter, Ð too"
    assert html_to_text("BrÃ¸ndby-fans afvist.Â") == "Brøndby-fans afvist."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["jane@example.com (Jane Doe)"], ("Jane Doe",)),
        (["Jane Doe <jane@example.com>"], ("Jane Doe",)),
        (["desk@example.com"], ()),
        (["By Jane Doe and John Roe"], ("Jane Doe", "John Roe")),
        (["Jane Doe, John Roe & Ann Lee"], ("Jane Doe", "John Roe", "Ann Lee")),
        (["Doe, Jane"], ("Doe, Jane",)),
        (["Jane Doe, Jr."], ("Jane Doe, Jr.",)),
        (["Ash, C., Mueller, K. L."], ("Ash, C.", "Mueller, K. L.")),
        (["Okafor, J.-P., Lima, J. - P."], ("Okafor, J.-P.", "Lima, J. - P.")),
        # Spaced initials that end in no initial: whole, and read without the backtracking
        # that once took hours on such a byline.
        (["Lima, " + "A. " * 40 + "1"], ("Lima, " + "A. " * 40 + "1",)),
        (["José Ortega y Gasset"], ("José Ortega y Gasset",)),
        (["Jane Doe", "Jane Doe; Sam Poe"], ("Jane Doe", "Sam Poe")),
    ],
)
def test_author_names_are_cleaned_and_split(raw, expected):
    assert feed_authors(raw) == expected


# ---------------------------------------------------------------- the corpus

FEEDS = CORPUS / "feeds"


def _manifest() -> list[dict]:
    path = FEEDS / "manifest.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


MANIFEST = _manifest()
CORPUS_CASES = [pytest.param(m, id=m["file"]) for m in MANIFEST] or [
    pytest.param(None, id="corpus-absent")
]

# Real feeds whose entry count differs from feedparser's (the manifest), and why.
FEWER_ENTRIES = {
    "nnw-DaringFireball_atom.xml": (47, "two sponsor posts link to the same page"),
    "nnw-DaringFireball_rss.xml": (46, "two sponsor posts link to the same page"),
    "nnw-ScriptingNews.json": (7, "posts of one day differ only in the #fragment"),
    "nnw-scriptingNews_rss.xml": (7, "posts of one day differ only in the #fragment"),
    "nnw-pappacoda_atom.xml": (2, "one entry has only a tag: URI, no link"),
    "rssparser-itunes-missing-image_rss.xml": (9, "podcast episodes link to the show's home"),
    "nodefp-illegally-nested.xml": (10, "10 of 20 items have no link"),
    "miniflux-no_encoding_ISO-8859-1.xml": (9, "one item has no link"),
    "rome-rsr.xml": (1, "every item links to the same page"),
    "rome-issue137-rss.xml": (1, "every item links to the same page"),
}
# Feeds whose declared (or undeclared) encoding is not UTF-8.
ENCODING_FEEDS = {
    "nnw-kc0011_rss.xml": "[\u4e00-\u9fff]",
    "nodefp-iconv.xml": "[а-яА-Я]",
    "miniflux-encoding_WINDOWS-1251.xml": "[а-яА-Я]",
    "miniflux-koi8r.xml": "[а-яА-Я]",
    "miniflux-encoding_ISO-8859-1.xml": "[äöüß]",
    "laminas-laut-de-rdf.xml": "[äöüß]",
    "rssparser-encoding_rss.xml": "[ãçéíóú]",
    "rssparser-uolNoticias_rss.xml": "[ãçéíóú]",
    "feedrs-rss_0-91_encoding_1.xml": "[ãçéíóú]",
    "miniflux-no_encoding_ISO-8859-1.xml": "[éèàç]",
    "feedkit-Ampersand.xml": "[æøå]",
}
MOJIBAKE = re.compile("Ã.|â€|Â|Ð.|Ñ.|\ufffd")
TAG_OR_ENTITY = re.compile(r"<[A-Za-z/][^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")


def _parse_corpus_file(item: dict):
    site = item["site"] or "https://corpus.invalid/"
    # The corpus does not record where each feed was fetched from; stand in a feed URL.
    return parse_feed(item["file"], (FEEDS / item["file"]).read_bytes(), urljoin(site, "/feed.xml"))


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("item", CORPUS_CASES)
def test_corpus_feed_parses_into_clean_entries(item):
    feed = _parse_corpus_file(item)
    synthetic = "synthetic-testcase" in (item["notes"] or "")
    if not synthetic:
        expected, _why = FEWER_ENTRIES.get(item["file"], (item["entries"], ""))
        assert len(feed.entries) == expected
        # The real feeds without entries are all broken: truncated XML or JSON, raw gzip.
        assert feed.usable is (item["entries"] > 0)
    for entry in feed.entries:
        assert entry.url.startswith(("http://", "https://"))
        assert "#" not in entry.url
        assert entry.title is None or not TAG_OR_ENTITY.search(entry.title), entry.title
        assert entry.published_at is None or entry.published_at.utcoffset().total_seconds() == 0


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(ENCODING_FEEDS))
def test_corpus_non_utf8_feeds_decode_without_mojibake(name):
    feed = parse_feed(name, (FEEDS / name).read_bytes(), "https://corpus.invalid/feed.xml")
    texts = [feed.title or ""] + [f"{e.title or ''} {e.summary or ''}" for e in feed.entries]
    assert feed.entries
    assert not [t for t in texts if MOJIBAKE.search(t)]
    assert any(re.search(ENCODING_FEEDS[name], t) for t in texts)


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("miniflux-utf8-incorrect-prolog.xml", "테스트 피드"),
        ("miniflux-windows-1252-incorrect-prolog.xml", "Euro €"),
        ("miniflux-invalid-prolog.xml", "테스트 피드"),
    ],
)
def test_corpus_utf8_feeds_with_a_wrong_prolog_decode_as_utf8(name, title):
    feed = parse_feed(name, (FEEDS / name).read_bytes(), "https://corpus.invalid/feed.xml")
    assert feed.title == title


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "usable"),
    [
        ("nnw-allthis-partial.json", False),
        ("nodefp-invalid-characters-gzipped.xml", False),
        ("feedrs-rss_2-0_invalid_1.xml", False),
        ("feedparser-bozo_invalid-bytes-with-bom.xml", False),
        ("feedrs-rss_2-0_dbengines.xml", True),
        ("feedkit-Ampersand.xml", True),
        ("rome-test3.xml", True),
    ],
)
def test_corpus_broken_feeds_are_flagged(name, usable):
    feed = parse_feed(name, (FEEDS / name).read_bytes(), "https://corpus.invalid/feed.xml")
    assert feed.usable is usable
    assert feed.problem


@needs_corpus
@pytest.mark.corpus
def test_corpus_relative_links_resolve_against_the_feed_site():
    feed = parse_feed(
        "tpm",
        (FEEDS / "nodefp-rss-with-relative-urls.xml").read_bytes(),
        "https://www.arcgames.com/en/games/neverwinter/news/rss",
    )
    assert feed.entries[0].url == (
        "https://www.arcgames.com/en/games/neverwinter/news/detail/"
        "10743874-neverwinter-%26-jingle-jam-humble-bundle%21"
    )


@needs_corpus
@pytest.mark.corpus
def test_corpus_entry_with_empty_href_uses_its_permalink_id():
    name = "nnw-OneFootTsunami_atom.xml"
    feed = parse_feed(name, (FEEDS / name).read_bytes(), "http://onefoottsunami.com/feed/atom/")
    urls = {e.url for e in feed.entries}
    assert "http://onefoottsunami.com/?p=14803" in urls
    assert not any("wp-atom.php" in u for u in urls)


@needs_corpus
@pytest.mark.corpus
def test_buffered_expat_parses_every_corpus_feed_exactly_like_plain_expat(monkeypatch):
    """`tasks.feeds.expat_buffered` only makes parsing faster: the same result for every feed."""
    import feedparser.api

    buffered = {item["file"]: _parse_corpus_file(item) for item in MANIFEST}
    plain = [d for d in feedparser.api.PREFERRED_XML_PARSERS if d != "tasks.feeds.expat_buffered"]
    monkeypatch.setattr(feedparser.api, "PREFERRED_XML_PARSERS", plain)
    assert {item["file"]: _parse_corpus_file(item) for item in MANIFEST} == buffered


@pytest.mark.parametrize(
    ("channel", "seconds"),
    [
        ("<ttl>45</ttl>", 45 * 60),
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>",
            1800,
        ),
        ("<sy:updatePeriod>daily</sy:updatePeriod>", 86400),
        # The longer of the two announcements: the publisher asks for no more than that.
        ("<ttl>15</ttl><sy:updatePeriod>hourly</sy:updatePeriod>", 3600),
        ("<ttl>soon</ttl><sy:updatePeriod>often</sy:updatePeriod>", None),
        ("", None),
    ],
)
def test_a_feed_announces_how_often_it_updates(channel, seconds):
    body = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>'
        f"<link>https://example.com/</link>{channel}"
        "<item><link>https://example.com/a</link></item></channel></rss>"
    ).encode()
    assert parse_feed("f", body, "https://example.com/feed").update_hint == seconds
