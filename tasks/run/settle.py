"""Settle a run: from the plan and what its downloads gave, decide what the warehouse records.

The decisions between "pages extracted" and "batch written": which articles are worth a row,
which sightings to record, how each feed's state moves, and the run's own record. Pure: the
flow passes what the stages returned and writes the `Batch` this returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tasks.models import (
    Article,
    Batch,
    FeedEntry,
    FeedState,
    FetchedFeed,
    ParsedFeed,
    RunRecord,
    Sighting,
    StorySketch,
)
from tasks.run.feedstate import PollPolicy, next_feed_state
from tasks.run.plan import DownloadPlan, entry_fingerprint


def sighting_of(entry: FeedEntry, article_id: str) -> Sighting:
    """The sighting of `entry`, which led to the article `article_id`, with the entry's
    fingerprint (`tasks.run.plan.entry_fingerprint`) for telling a later edit from a repeat."""
    return Sighting(
        feed_name=entry.feed_name,
        entry_url=entry.url,
        article_id=article_id,
        guid=entry.guid,
        entry_title=entry.title,
        entry_published_at=entry.published_at,
        entry_updated_at=entry.updated_at,
        entry_hash=entry_fingerprint(entry).content_hash,
    )


def adopt_revisit_ids(plan: DownloadPlan, articles: Sequence[Article]) -> list[Article]:
    """`articles`, extracted from `plan.to_fetch` in that order, each with its final key: a
    page fetched again keeps its article's key even if it now names another canonical URL."""
    revisit_ids = {entry.url: article_id for entry, article_id in plan.revisit}
    return [
        replace(a, article_id=revisit_ids[e.url]) if e.url in revisit_ids else a
        for e, a in zip(plan.to_fetch, articles, strict=True)
    ]


def worth_storing(articles: Sequence[Article]) -> list[Article]:
    """An article needs text or at least a title to be worth a row. One with neither is not
    stored and not recorded as seen, so it is tried again the next time its feed changes."""
    return [a for a in articles if a.text or a.title]


@dataclass(frozen=True, slots=True)
class Settlement:
    """A run's batch, and what the summary says of the articles that were not stored whole."""

    batch: Batch
    fallback: Counter[str]
    """New articles per feed stored from the feed's own text because the page failed."""
    unusable: Counter[str]
    """New entries per feed with neither page text nor a title: not stored, retried later."""


def settle(
    *,
    plan: DownloadPlan,
    fetched_articles: Sequence[Article],
    stored: Sequence[Article],
    sketches: Sequence[StorySketch],
    fetched: Sequence[FetchedFeed],
    parsed: Mapping[str, ParsedFeed],
    states: Mapping[str, FeedState],
    run_id: str,
    started: datetime,
    finished: datetime,
    policy: PollPolicy,
    resting: int,
) -> Settlement:
    """The batch of a run whose pages `plan.to_fetch` became `fetched_articles` (keys final),
    of which `stored` (with their stories and `sketches`) are worth a row."""
    by_url = dict(zip((e.url for e in plan.to_fetch), fetched_articles, strict=True))
    stored_ids = {a.article_id for a in stored}
    sightings = [sighting_of(e, by_url[e.url].article_id) for e in (*plan.download, *plan.riders)]
    sightings = [s for s in sightings if s.article_id in stored_ids]
    sightings += [sighting_of(e, article_id) for e, article_id in plan.resighted]
    sightings += [sighting_of(e, article_id) for e, article_id in plan.refingerprint]
    # An edited entry's new fingerprint is recorded once its page was read again; after a
    # failed fetch the old one stays, and the next change of the feed body tries again.
    sightings += [
        sighting_of(e, article_id)
        for e, article_id in plan.revisit
        if by_url[e.url].extraction == "page"
    ]
    fresh = [by_url[e.url] for e in plan.download]
    unusable = Counter(a.feed_name for a in fresh if a.article_id not in stored_ids)
    fallback = Counter(
        a.feed_name for a in fresh if a.article_id in stored_ids and a.extraction == "feed"
    )
    feed_states = [
        next_feed_state(
            states.get(f.feed.name),
            f,
            parsed.get(f.feed.name),
            finished,
            complete=f.feed.name not in plan.capped,
            policy=policy,
        )
        for f in fetched
    ]
    run = RunRecord(
        run_id=run_id,
        started_at=started,
        finished_at=finished,
        feeds_total=len(fetched),
        feeds_ok=sum(s.last_status == "ok" for s in feed_states),
        feeds_unchanged=sum(s.last_status in ("not_modified", "unchanged") for s in feed_states),
        feeds_failed=sum(s.last_status == "failed" for s in feed_states),
        entries_seen=sum(len(p.entries) for p in parsed.values() if p.usable),
        articles_new=0,  # filled in by the write from what it actually inserted
        articles_fallback=sum(fallback.values()),
        articles_failed=sum(unusable.values()),
        duration_seconds=(finished - started).total_seconds(),
        feeds_backoff=resting,
    )
    batch = Batch(tuple(stored), tuple(sightings), tuple(feed_states), run, tuple(sketches))
    return Settlement(batch, fallback, unusable)
