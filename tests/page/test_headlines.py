"""Headlines as readers see them: the article's <h1>, without kicker, logo or site suffix."""

from __future__ import annotations

import pytest
import trafilatura

from tasks.page.headlines import agrees, find_headline, headline_text, strip_title_segments

URL = "https://news.example/politik/klimaschutz-bohren"


def headline(body: str, titles: tuple[str, ...] = (), sites: tuple[str, ...] = ()) -> str | None:
    tree = trafilatura.load_html(f"<html><body>{body}<p>text</p></body></html>")
    return find_headline(tree, URL, titles, sites)[0]


def test_the_kicker_in_its_own_element_is_left_out():
    h1 = (
        '<h1><span class="article-heading__kicker">Klimaschutz</span>'
        '<span class="visually-hidden">:</span> '
        '<span class="article-heading__title">Bohren, bis es heiß wird</span></h1>'
    )
    assert headline(h1, ("Klimaschutz: Bohren, bis es heiß wird | ZEIT ONLINE",)) == (
        "Bohren, bis es heiß wird"
    )


@pytest.mark.parametrize("kicker_class", ["dachzeile", "roofline", "entry-title__toptitle"])
def test_german_and_english_kicker_classes(kicker_class):
    h1 = f'<h1><span class="{kicker_class}">Nach Corona</span> <span>Autohäuser öffnen</span></h1>'
    assert headline(h1, ("Autohäuser öffnen wieder",)) == "Autohäuser öffnen"


def test_the_h1_beats_a_social_headline_in_og_title():
    h1 = "<h1>The Best Trails and Neighborhoods in Houston for Biking</h1>"
    titles = ("Our Favorite Biking Spots in Houston", "Where to Bike in Houston | Houstonia")
    assert headline(h1, titles) == "The Best Trails and Neighborhoods in Houston for Biking"


def test_the_site_logo_and_teasers_are_not_the_headline():
    body = (
        "<h1><a href='/'>Houstonia Magazine</a></h1>"
        "<h1><a href='/other-story'>Another story entirely</a></h1>"
        "<h1>Houston's Hottest New Restaurants to Visit This Month</h1>"
    )
    titles = ("Houston's Hottest New Restaurants, December | Houstonia Magazine",)
    assert headline(body, titles, ("Houstonia Magazine",)) == (
        "Houston's Hottest New Restaurants to Visit This Month"
    )


def test_a_logo_h1_is_recognised_by_the_title_suffix():
    body = (
        "<h1><span>The Spokesman-Review Newspaper</span><svg><title>Logo</title></svg></h1>"
        "<h1>Spokane ad agencies divided on the campaign</h1>"
    )
    titles = ("Spokane ad agencies divided on the campaign | The Spokesman-Review",)
    assert headline(body, titles) == "Spokane ad agencies divided on the campaign"


def test_a_section_heading_promoted_to_h1_is_not_the_headline():
    body = "<h1>But what they love is the sense of empowerment</h1>"
    assert headline(body, ("What do people love about Rust? | Rust Blog",)) is None


def test_headings_in_navigation_are_ignored():
    assert headline("<nav><h1>Menu</h1></nav>", ()) is None


def test_a_permalink_around_the_headline_is_fine():
    body = f"<h1><a href='{URL}'>Council passes the budget</a></h1>"
    assert headline(body, ("Council passes the budget - Example",)) == "Council passes the budget"


def test_a_heading_that_is_all_kicker_keeps_its_text():
    tree = trafilatura.load_html("<html><body><h1 class='x'><span class='kicker'>Only</span></h1>")
    assert headline_text(next(tree.iter("h1"))) == "Only"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("La perte des terres | Environnement | DW | 23.05.2011", "La perte des terres"),
        ("What do people love about Rust? | Rust Blog", "What do people love about Rust?"),
        (
            "Homestead gardening makes communities self-reliant | District",
            "Homestead gardening makes communities self-reliant",
        ),
        (
            "Daten gehackt - Interne Unterlagen im Netz",
            "Daten gehackt - Interne Unterlagen im Netz",
        ),
        (
            "Live | A headline that is long enough to be the second half of it",
            "Live | A headline that is long enough to be the second half of it",
        ),
        ("Opinion | Short", "Opinion | Short"),
    ],
)
def test_strip_title_segments(title, expected):
    assert strip_title_segments(title) == expected


def test_agreement_is_about_shared_words():
    assert agrees("Kaeser verarscht Neubauer", "Siemens und Adani: Kaeser verarscht Neubauer")
    assert not agrees("Corona: Report von der Grenze", "Deutschland und Frankreich: Partner")
