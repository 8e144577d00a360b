"""Which shard a feed belongs to: runs of different shards poll disjoint sets of feeds.

The shard of a feed is a hash of its name, not of its position in the feeds file, so adding or
removing a feed never moves the others; SHA-256 rather than `hash()`, which Python salts per
process, so every worker on every machine agrees. Shards are numbered from 1 ("shard 2 of 4").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from tasks.models import FeedSpec


class ShardError(ValueError):
    """A shard that does not exist, such as 5 of 4."""


def check_shard(shard: int, shards: int) -> None:
    """Raise `ShardError` unless 1 <= shard <= shards."""
    if shards < 1:
        raise ShardError(f"shards must be 1 or more, not {shards}")
    if not 1 <= shard <= shards:
        raise ShardError(f"shard must be between 1 and {shards}, not {shard}")


def shard_of(name: str, shards: int) -> int:
    """The shard (1..shards) of the feed called `name`."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def in_shard(specs: Iterable[FeedSpec], shard: int, shards: int) -> list[FeedSpec]:
    """The feeds of `specs` that shard `shard` of `shards` polls, in their order."""
    check_shard(shard, shards)
    if shards == 1:
        return list(specs)
    return [s for s in specs if shard_of(s.name, shards) == shard]


def parse_shard(text: str) -> tuple[int, int]:
    """`"2/4"` as (2, 4); raises `ShardError` for anything else."""
    index, slash, count = text.strip().partition("/")
    if not slash or not index.strip().isdigit() or not count.strip().isdigit():
        raise ShardError(f"a shard is written I/N, e.g. 2/4, not {text!r}")
    shard, shards = int(index), int(count)
    check_shard(shard, shards)
    return shard, shards
