"""Authors as a clean list of people, whatever the page's byline sources look like."""

from __future__ import annotations

import json

import pytest
import trafilatura

from tasks.page.authors import clean_bylines, find_authors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["Harry Rabinowitz Tech Reporter"], ("Harry Rabinowitz",)),
        (["Linda Rosencrance Contributing Writer"], ("Linda Rosencrance",)),
        (["View all posts by Daniel Lemire"], ("Daniel Lemire",)),
        (["Name", "Maya Perez", "Maya Perez"], ("Maya Perez",)),
        (["No Author"], ()),
        (["admin"], ()),
        (["Dec"], ()),
        (["Jeff Foust Monday"], ("Jeff Foust",)),
        (["Arlene Marturano", "Mary Junge"], ("Arlene Marturano", "Mary Junge")),
        (["ERIC TUCKER Associated Press"], ("ERIC TUCKER",)),
        # Taipei Times and similar bylines: the role after a slash, the agency after "with"
        (["By Lin Chia-nan / Staff reporter"], ("Lin Chia-nan",)),
        (["Staff writer, with CNA"], ()),
        (["By Jason Pan / Staff reporter, with CNA"], ("Jason Pan",)),
        (["Von Anna Schmidt, mit Material von dpa"], ("Anna Schmidt",)),
        (["STEVE PEOPLES", "AP National Political Writer"], ("STEVE PEOPLES",)),
        (["The Associated Press"], ("The Associated Press",)),
        (["Lars Fischer und Alina Schadwinkel"], ("Lars Fischer", "Alina Schadwinkel")),
        (["Center for Drug Evaluation and Research"], ("Center for Drug Evaluation and Research",)),
        (["Shelby Loos, DVM Reviewed by Molly Price"], ("Shelby Loos, DVM",)),
        (["Analysis by Chris Cillizza, CNN Editor-at-large"], ("Chris Cillizza", "CNN")),
        (["Deutsche Welle (www.dw.com)"], ("Deutsche Welle",)),
        (["officialrajdeepsingh"], ()),
        (["Amy Kuperinsky | NJ Advance Media"], ("Amy Kuperinsky", "NJ Advance Media")),
    ],
)
def test_clean_authors(raw, expected):
    assert clean_bylines(raw) == expected


def tree(head: str = "", body: str = ""):
    return trafilatura.load_html(f"<html><head>{head}</head><body>{body}<p>x</p></body></html>")


def test_jsonld_authors_come_first_and_keep_their_punctuation():
    data = {"@type": "NewsArticle", "author": [{"@type": "Person", "name": "Z.B. Steele"}]}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    assert find_authors(tree(head), ["Z B Steele"]) == ("Z.B. Steele",)


def test_the_publisher_is_not_an_author_when_a_person_is_named():
    page = tree('<meta name="author" content="tagesschau.de">')
    assert find_authors(page, ["Jane Doe", "Tagesschau De"], ["tagesschau.de"]) == ("Jane Doe",)
    # … but stays when nobody else is named: it is all the page says.
    assert find_authors(tree(), ["Badische Zeitung"], ["Badische Zeitung"]) == ("Badische Zeitung",)


def test_a_printed_byline_after_the_headline_is_the_last_resort():
    page = tree(
        body="<article><h1>Trails in Houston</h1><div><span>By</span> "
        "<a href='/a/dr'>Daniel Renfrow</a></div><p>" + "Text. " * 60 + "</p></article>"
    )
    h1 = next(page.iter("h1"))
    assert find_authors(page, [], anchor=h1) == ("Daniel Renfrow",)
