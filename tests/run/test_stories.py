"""Story clusters: one wire story in three outlets is one story; two stories on a topic are two."""

from __future__ import annotations

import pytest
from stories_text import OUTLET_A, OUTLET_B, OUTLET_C, SAME_TOPIC, WIRE

from tasks.models import StorySketch
from tasks.run.stories import assign_stories
from tasks.sketches import from_bytes, shingles, sketch, to_bytes


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
