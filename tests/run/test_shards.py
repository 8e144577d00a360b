"""Sharding: every feed belongs to exactly one shard, and adding feeds moves no other feed."""

from __future__ import annotations

import pytest

from tasks.models import FeedSpec
from tasks.run.shards import ShardError, in_shard, parse_shard, shard_of

FEEDS = [FeedSpec(name=f"feed-{i}", url=f"https://example.com/{i}.xml") for i in range(400)]


def test_every_feed_is_in_exactly_one_of_the_shards():
    shards = [in_shard(FEEDS, shard, 4) for shard in range(1, 5)]
    names = [spec.name for shard in shards for spec in shard]
    assert sorted(names) == sorted(spec.name for spec in FEEDS)
    # A hash spreads 400 feeds evenly enough that no worker gets twice its share.
    assert all(50 < len(shard) < 150 for shard in shards)


def test_a_feed_keeps_its_shard_when_others_are_added_or_removed():
    before = {spec.name: shard_of(spec.name, 4) for spec in FEEDS}
    grown = [*FEEDS[::2], *(FeedSpec(name=f"new-{i}", url="https://n.example/") for i in range(50))]
    for spec in grown:
        if spec.name in before:
            assert shard_of(spec.name, 4) == before[spec.name]


def test_the_shard_of_a_name_is_the_same_in_every_process_and_release():
    # SHA-256 of the name, never Python's per-process salted hash(): known answers, so that a
    # change of formula (which would move feeds between running workers) fails here.
    assert [shard_of(f"feed-{i}", 3) for i in range(6)] == [1, 2, 1, 1, 2, 2]
    assert shard_of("anything", 1) == 1


def test_one_shard_is_every_feed_in_file_order():
    assert in_shard(FEEDS, 1, 1) == FEEDS


@pytest.mark.parametrize(
    ("text", "expected"), [("2/4", (2, 4)), (" 1/1 ", (1, 1)), ("4/4", (4, 4))]
)
def test_a_shard_is_written_i_of_n(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "2/0", "a/b", "-1/3", ""])
def test_a_shard_that_does_not_exist_is_refused(text):
    with pytest.raises(ShardError):
        parse_shard(text)


def test_in_shard_refuses_a_shard_past_the_count():
    with pytest.raises(ShardError, match="between 1 and 3"):
        in_shard(FEEDS, 4, 3)
