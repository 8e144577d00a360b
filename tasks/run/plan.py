"""Decide, before any article download, which feed entries are new, which are re-sightings, and
which known articles changed in their feed and must be fetched again.

An entry is the same article as a stored one when its normalized URL is known (any feed, any
GUID: a feed that changes its GUIDs creates no duplicate), or, within one feed, when its GUID
is one that feed already used for exactly one article (a URL that changed in a way
normalization cannot see, such as an unknown tracking parameter, creates no duplicate either).

A known entry whose feed now says something else (its `updated` date moved forward, or, without
dates, its title, summary or content changed) is fetched again; `append_batch` then stores a
new version if the page's text changed. A repeat of what the feed said before costs nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from tasks.models import EntryFingerprint, FeedEntry, KnownUrls, ParsedFeed


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    download: tuple[FeedEntry, ...]
    """Entries whose page must be fetched: one per distinct URL, in feed order."""
    resighted: tuple[tuple[FeedEntry, str], ...]
    """Entries of already stored articles not yet recorded for this feed, with the article id."""
    riders: tuple[FeedEntry, ...]
    """Entries of another feed's download in this run: recorded once that article exists."""
    capped: frozenset[str]
    """Feeds with more new (or edited) entries than the per-feed limit."""
    revisit: tuple[tuple[FeedEntry, str], ...] = ()
    """Recorded entries that changed in their feed: fetch the page again for this article id."""
    refingerprint: tuple[tuple[FeedEntry, str], ...] = field(default=())
    """Recorded entries without a fingerprint (stored before there were any): record one."""

    @property
    def to_fetch(self) -> list[FeedEntry]:
        """Every page to download: the new entries, then the edited ones."""
        return [*self.download, *(entry for entry, _ in self.revisit)]


def entry_fingerprint(entry: FeedEntry) -> EntryFingerprint:
    """What the feed says about an entry, reduced to what tells an edit from a repeat."""
    fields = (entry.title, entry.summary, entry.content)
    text = "\x1f".join(" ".join((value or "").split()) for value in fields)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return EntryFingerprint(entry.updated_at, digest)


def entry_changed(stored: EntryFingerprint, current: EntryFingerprint) -> bool:
    """Whether the feed now says something new about a recorded entry.

    The publisher's own `updated` date wins when both sightings have one: a summary that
    merely rotates does not count. Without dates, any change of title, summary or content does.
    """
    if stored.content_hash is None:
        return False  # recorded before fingerprints: nothing to compare with
    if stored.updated_at is not None and current.updated_at is not None:
        return current.updated_at > stored.updated_at
    return current.content_hash != stored.content_hash


def plan_downloads(
    parsed: Sequence[ParsedFeed],
    known_ids: Mapping[str, str],
    known_sightings: Set[tuple[str, str]],
    max_per_feed: int,
    *,
    fingerprints: Mapping[tuple[str, str], EntryFingerprint] | None = None,
    known_guids: Mapping[tuple[str, str], str] | None = None,
) -> DownloadPlan:
    """Split entries into pages to download, sightings to record, and nothing-to-do.

    `known_ids` maps URLs already in the warehouse to their article id; `known_sightings` holds
    (feed name, entry URL) pairs already recorded, and `fingerprints` what was recorded for
    them; `known_guids` maps (feed name, guid) to the one article that guid stood for.
    `max_per_feed` (0: no limit) bounds new and edited entries together, new ones first.
    """
    fingerprints = fingerprints or {}
    known_guids = known_guids or {}
    download: list[FeedEntry] = []
    resighted: list[tuple[FeedEntry, str]] = []
    riders: list[FeedEntry] = []
    revisit: list[tuple[FeedEntry, str]] = []
    refingerprint: list[tuple[FeedEntry, str]] = []
    capped: set[str] = set()
    queued: set[str] = set()
    for feed in parsed:
        taken = 0
        edited: list[tuple[FeedEntry, str]] = []
        guid_uses = Counter(e.guid for e in feed.entries if e.guid)
        for entry in feed.entries:
            key = (entry.feed_name, entry.url)
            if key in known_sightings:
                stored = fingerprints.get(key)
                article = known_ids.get(entry.url)
                if stored is None or article is None:
                    continue
                if stored.content_hash is None:
                    refingerprint.append((entry, article))
                elif entry_changed(stored, entry_fingerprint(entry)):
                    edited.append((entry, article))
                continue
            guid = entry.guid or ""
            if entry.url in known_ids:
                resighted.append((entry, known_ids[entry.url]))
            elif (entry.feed_name, guid) in known_guids and guid_uses[guid] == 1:
                resighted.append((entry, known_guids[(entry.feed_name, guid)]))
            elif entry.url in queued:
                riders.append(entry)
            elif max_per_feed and taken >= max_per_feed:
                capped.add(feed.feed_name)
            else:
                download.append(entry)
                queued.add(entry.url)
                taken += 1
        for entry, article in edited:
            if max_per_feed and taken >= max_per_feed:
                capped.add(feed.feed_name)
            elif entry.url not in queued:
                revisit.append((entry, article))
                queued.add(entry.url)
                taken += 1
    return DownloadPlan(
        download=tuple(download),
        resighted=tuple(resighted),
        riders=tuple(riders),
        capped=frozenset(capped),
        revisit=tuple(revisit),
        refingerprint=tuple(refingerprint),
    )


def plan_for(parsed: Sequence[ParsedFeed], known: KnownUrls, max_per_feed: int) -> DownloadPlan:
    """`plan_downloads` against what the warehouse said it holds (`find_known`)."""
    return plan_downloads(
        parsed,
        known.article_ids,
        known.sightings,
        max_per_feed,
        fingerprints=known.fingerprints,
        known_guids=known.guids,
    )
