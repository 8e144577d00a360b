"""Decide, before any article download, which feed entries are new and which are re-sightings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from tasks.models import FeedEntry, ParsedFeed


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    download: tuple[FeedEntry, ...]
    """Entries whose page must be fetched: one per distinct URL, in feed order."""
    resighted: tuple[tuple[FeedEntry, str], ...]
    """Entries of already stored articles not yet recorded for this feed, with the article id."""
    riders: tuple[FeedEntry, ...]
    """Entries of another feed's download in this run: recorded once that article exists."""
    capped: frozenset[str]
    """Feeds with more new entries than the per-feed limit."""
    new_per_feed: Mapping[str, int]


def plan_downloads(
    parsed: Sequence[ParsedFeed],
    known_ids: Mapping[str, str],
    known_sightings: Set[tuple[str, str]],
    max_per_feed: int,
) -> DownloadPlan:
    """Split entries into pages to download, sightings to record, and nothing-to-do.

    `known_ids` maps URLs already in the warehouse to their article id; `known_sightings` holds
    (feed name, entry URL) pairs already recorded. `max_per_feed` of 0 means no limit.
    """
    download: list[FeedEntry] = []
    resighted: list[tuple[FeedEntry, str]] = []
    riders: list[FeedEntry] = []
    capped: set[str] = set()
    new_per_feed: dict[str, int] = {}
    queued: set[str] = set()
    for feed in parsed:
        taken = 0
        for entry in feed.entries:
            if (entry.feed_name, entry.url) in known_sightings:
                continue
            if entry.url in known_ids:
                resighted.append((entry, known_ids[entry.url]))
            elif entry.url in queued:
                riders.append(entry)
            elif max_per_feed and taken >= max_per_feed:
                capped.add(feed.feed_name)
            else:
                download.append(entry)
                queued.add(entry.url)
                taken += 1
        new_per_feed[feed.feed_name] = taken
    return DownloadPlan(
        download=tuple(download),
        resighted=tuple(resighted),
        riders=tuple(riders),
        capped=frozenset(capped),
        new_per_feed=new_per_feed,
    )
