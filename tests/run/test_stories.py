"""Story clusters: one wire story in three outlets is one story; two stories on a topic are two."""

from __future__ import annotations

import pytest

from tasks.models import StorySketch
from tasks.run.stories import assign_stories
from tasks.sketches import from_bytes, shingles, sketch, to_bytes

WIRE = (
    "LONDON, Jan 28 (Reuters) - British house prices rose more than expected in January, "
    "according to figures from mortgage lender Nationwide published on Tuesday, adding to signs "
    "that the property market has regained momentum since the general election. House prices "
    "rose by 0.5% in monthly terms after a 0.1% increase in December, beating the median "
    "forecast of a 0.2% rise in a Reuters poll of economists. Compared with January last year, "
    "prices were up 1.9%, the biggest annual increase since May 2018. Robert Gardner, "
    "Nationwide's chief economist, said it was too early to say whether the pick-up marked the "
    "start of a sustained recovery, but surveys of housing market activity had improved. The Bank "
    "of England is due to announce its interest rate decision on Thursday, with financial "
    "markets split on whether policymakers will cut rates for the first time since 2016. Other "
    "data published on Monday showed mortgage approvals rose in December to their highest level "
    "in more than five years, while consumer credit growth slowed."
)

OUTLET_A = (
    "Markets Daily\nHouse prices jump at start of year\n"
    + WIRE
    + ("\nSign up to our newsletter for the latest business news, delivered every morning.")
)
OUTLET_B = (
    "UK house prices beat forecasts\n"
    + WIRE.replace("(Reuters) - ", "– ")
    + (
        "\nRead more: Why first-time buyers are returning to the market. Share this article on "
        "Facebook or Twitter. Copyright 2020 Thomson Reuters."
    )
)
OUTLET_C = (
    "Property\n"
    + WIRE[: WIRE.index("Other data")]  # trimmed last paragraph
    + "\nComments are closed for this article."
)

SAME_TOPIC = (
    "Rents across Britain climbed again in January as tenants competed for a shrinking supply "
    "of homes, a letting agents' survey showed on Wednesday. The average advertised rent outside "
    "London reached a record high, with the fastest increases in the north west and in Wales, "
    "where demand from young professionals has outstripped new listings. Landlords have been "
    "selling properties after tax changes made buy-to-let investments less profitable, the "
    "agents said, leaving fewer homes available for renters. The survey also found that the "
    "time taken to let a property fell to its lowest level since records began, and that more "
    "tenants were offering above the asking rent to secure a home. Economists expect the "
    "pressure on rents to ease only slowly, because house building remains well below the "
    "government's target and mortgage rates are still high for first-time buyers."
)


def test_a_wire_story_in_three_outlets_is_one_story():
    articles = [("a", OUTLET_A), ("b", OUTLET_B), ("c", OUTLET_C)]
    stories, sketches = assign_stories(articles, [], threshold=0.5)
    assert stories == {"a": "a", "b": "a", "c": "a"}
    assert [s.article_id for s in sketches] == ["a", "b", "c"]


def test_two_different_stories_on_the_same_topic_are_two_stories():
    stories, _ = assign_stories([("a", OUTLET_A), ("r", SAME_TOPIC)], [], threshold=0.5)
    assert stories == {"a": "a", "r": "r"}


def test_new_articles_join_a_story_stored_by_an_earlier_run():
    _, first = assign_stories([("a", OUTLET_A)], [], threshold=0.5)
    stories, created = assign_stories([("b", OUTLET_B), ("r", SAME_TOPIC)], first, threshold=0.5)
    assert stories == {"b": "a", "r": "r"}
    assert {s.article_id: s.story_id for s in created} == {"b": "a", "r": "r"}


def test_an_article_already_stored_keeps_its_story():
    stored = [StorySketch("a", "older-story", to_bytes(sketch(OUTLET_A)))]  # type: ignore[arg-type]
    stories, created = assign_stories([("a", OUTLET_A)], stored, threshold=0.5)
    assert stories == {"a": "older-story"} and created == []


def test_a_short_text_is_its_own_story_without_a_sketch():
    stories, created = assign_stories([("a", OUTLET_A), ("t", "Watch the video.")], [], 0.5)
    assert stories["t"] == "t"
    assert [s.article_id for s in created] == ["a"]


def test_the_threshold_decides_how_close_is_the_same_story():
    rewritten = (
        OUTLET_A.replace("rose", "climbed").replace("prices", "values").replace("said", "stated")
    )
    assert assign_stories([("a", OUTLET_A), ("w", rewritten)], [], 0.3)[0]["w"] == "a"
    assert assign_stories([("a", OUTLET_A), ("w", rewritten)], [], 0.95)[0]["w"] == "w"
    with pytest.raises(ValueError):
        assign_stories([], [], 0.0)


def test_sketches_survive_the_round_trip_through_bytes():
    minhash = sketch(WIRE)
    assert minhash is not None
    data = to_bytes(minhash)
    assert len(data) == 512
    assert from_bytes(data).jaccard(minhash) == 1.0


def test_scripts_without_spaces_are_shingled_by_characters():
    text = "国务院总理主持召开国务院常务会议，研究部署进一步做好稳就业工作。" * 3
    assert all(len(gram.decode()) == 5 for gram in shingles(text))
