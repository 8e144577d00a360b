"""OPML in and out, the way feed readers exchange subscriptions."""

from __future__ import annotations

import pytest

from tasks.feeds.opml import OpmlError, read_opml, slug, unique_name, write_opml
from tasks.models import FeedSpec

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions from my reader</title></head>
  <body>
    <outline text="News" title="News">
      <outline text="World">
        <outline type="rss" text="BBC World" title="BBC News - World"
                 xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"
                 htmlUrl="https://www.bbc.co.uk/news/world"/>
      </outline>
      <outline type="rss" text="tagesschau" xmlUrl="https://www.tagesschau.de/xml/rss2/"
               category="/Deutsch,/Politik/Inland"/>
    </outline>
    <outline type="rss" text="Daring Fireball" xmlURL="https://daringfireball.net/feeds/json"/>
    <outline text="Empty folder"/>
  </body>
</opml>"""


def test_outlines_in_folders_become_feeds_with_tags():
    feeds = read_opml(READER_EXPORT)
    assert [(f.title, f.url, f.tags) for f in feeds] == [
        ("BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml", ("news", "world")),
        (
            "tagesschau",
            "https://www.tagesschau.de/xml/rss2/",
            ("news", "deutsch", "politik", "inland"),
        ),
        ("Daring Fireball", "https://daringfireball.net/feeds/json", ()),
    ]


def test_an_export_reads_back_to_the_same_feeds():
    specs = [
        FeedSpec("bbc-world", "https://feeds.bbci.co.uk/news/world/rss.xml", ("world", "en"), "en"),
        FeedSpec("folha", "https://feeds.folha.uol.com.br/emcimadahora/rss091.xml?a=1&b=2"),
    ]
    back = read_opml(write_opml(specs))
    assert [(f.title, f.url, f.tags, f.language) for f in back] == [
        (s.name, s.url, s.tags, s.language) for s in specs
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline", "not valid XML"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML file"),
        (b"<opml version='2.0'><head/></opml>", "without a <body>"),
    ],
)
def test_what_is_not_opml_is_refused_with_a_reason(data, message):
    with pytest.raises(OpmlError, match=message):
        read_opml(data)


def test_entity_declarations_are_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<opml><body><outline text="&b;" xmlUrl="https://x.example/feed"/></body></opml>'
    )
    with pytest.raises(OpmlError, match="entity"):
        read_opml(bomb)


def test_names_are_slugs_and_unique():
    assert slug("Süddeutsche Zeitung – Politik") == "suddeutsche-zeitung-politik"
    assert slug("日本") == ""
    assert unique_name("bbc", ["bbc", "bbc-2"]) == "bbc-3"
    assert unique_name("new", ["bbc"]) == "new"
