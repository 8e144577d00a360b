"""Settle a run: from the plan and what its downloads gave, decide what the warehouse records.

The decisions between "pages extracted" and "batch written": which articles are worth a row,
which sightings to record, how each feed's state moves, and the run's own record. Pure: the
flow passes what the stages returned and writes the `Batch` this returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from tasks.models import (
    Article,
    Batch,
    FeedEntry,
    FeedState,
    FetchedFeed,
    ParsedFeed,
    RejectedArticle,
    RunRecord,
    Sighting,
    StorySketch,
    WriteOutcome,
)
from tasks.run.feedstate import PollPolicy, next_feed_state
from tasks.run.plan import DownloadPlan, entry_fingerprint
from tasks.run.retries import RetryPolicy, after_attempt, first_failure

NO_USABLE_PAGE = "page read, but neither text nor title in it"


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
    page fetched again (an edit, a retry) keeps its article's key even if it now names another
    canonical URL."""
    kept = plan.kept_ids
    return [
        replace(a, article_id=kept[e.url]) if e.url in kept else a
        for e, a in zip(plan.to_fetch, articles, strict=True)
    ]


def worth_storing(articles: Sequence[Article], plan: DownloadPlan) -> list[Article]:
    """An article needs text or at least a title to be worth a row. One with neither is not
    stored and not recorded as seen, so it is tried again the next time its feed changes.
    A retried page that failed again changes nothing of its row: only its queue row moves."""
    retried = {entry.url for entry, _ in plan.retry}
    return [
        a
        for e, a in zip(plan.to_fetch, articles, strict=True)
        if (a.text or a.title) and (e.url not in retried or a.extraction == "page")
    ]


@dataclass(frozen=True, slots=True)
class Settlement:
    """A run's batch, and what the summary says of the articles that were not stored whole."""

    batch: Batch
    fallback: Counter[str]
    """New articles per feed stored from the feed's own text because the page failed."""
    unusable: Counter[str]
    """New entries per feed with neither page text nor a title: not stored, retried later."""
    pages_retried: int = 0
    """Pages of stored articles fetched again from the retry queue."""


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
    retry: RetryPolicy,
    last: bool = True,
    earlier: RunTally | None = None,
) -> Settlement:
    """The batch of a run whose pages `plan.to_fetch` became `fetched_articles` (keys final),
    of which `stored` (with their stories and `sketches`) are worth a row; new articles whose
    page failed in a way that can heal are queued by `retry`, and retried ones move on.

    A run written in batches (`split_plan`) settles each slice of its plan in turn, `earlier`
    holding what the batches before it wrote. Only the `last` one carries the feed states, so
    a feed's ETag and body hash are stored in the same commit as its last articles or after:
    a run that dies between batches polls its feeds as changed again, and the articles of the
    batches it wrote are known by then.
    """
    earlier = earlier or RunTally()
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
    retries = [
        row
        for e in plan.download
        if by_url[e.url].article_id in stored_ids
        and (row := first_failure(by_url[e.url], e.url, finished, retry)) is not None
    ]
    # A page that now reads but gives nothing worth a row heals nothing: it has failed for good.
    retries += [
        after_attempt(row, _stored_or_not(by_url[e.url], stored_ids), finished, retry)
        for e, row in plan.retry
    ]
    unusable = Counter(a.feed_name for a in fresh if a.article_id not in stored_ids)
    fallback = Counter(
        a.feed_name for a in fresh if a.article_id in stored_ids and a.extraction == "feed"
    )
    feed_states = (
        []
        if not last
        else [
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
    )
    run = RunRecord(
        run_id=run_id,
        started_at=started,
        finished_at=finished,
        feeds_total=len(fetched),
        feeds_ok=sum(s.last_status == "ok" for s in feed_states),
        feeds_unchanged=sum(s.last_status in ("not_modified", "unchanged") for s in feed_states),
        feeds_failed=sum(s.last_status == "failed" for s in feed_states),
        entries_seen=sum(len(p.entries) for p in parsed.values() if p.usable),
        # The write adds what it inserted, updated and healed.
        articles_new=earlier.articles_new,
        articles_fallback=earlier.fallback.total() + fallback.total(),
        articles_failed=earlier.unusable.total() + unusable.total(),
        duration_seconds=(finished - started).total_seconds(),
        feeds_backoff=resting,
        articles_updated=earlier.articles_updated,
        pages_retried=earlier.pages_retried + len(plan.retry),
        articles_healed=earlier.articles_healed,
    )
    batch = Batch(
        tuple(stored),
        tuple(sightings),
        tuple(feed_states),
        run,
        tuple(sketches),
        tuple(retries),
        last=last,
    )
    return Settlement(batch, fallback, unusable, len(plan.retry))


@dataclass(frozen=True, slots=True)
class RunTally:
    """What the batches of a run written so far added up to: kept in place of the batches, so
    a run holds one batch of pages and articles at a time."""

    batches: int = 0
    articles_new: int = 0
    articles_updated: int = 0
    articles_healed: int = 0
    pages_retried: int = 0
    retries_given_up: int = 0
    new_by_feed: Counter[str] = field(default_factory=Counter)
    fallback: Counter[str] = field(default_factory=Counter)
    unusable: Counter[str] = field(default_factory=Counter)
    spooled_to: Path | None = None
    """The spool directory of the latest batch that found the warehouse locked."""
    lock_error: str | None = None
    index_error: str | None = None
    merged: tuple[RunRecord, ...] = ()
    """Spooled batches of earlier runs merged before one of this run's."""
    rejected: tuple[RejectedArticle, ...] = ()
    """Articles the writes left out because their rows could not be built (counted in
    `unusable` too: their entries are tried again by a later run)."""

    def add(self, settled: Settlement, written: WriteOutcome) -> RunTally:
        """This tally and one more batch, `settled` and then `written`."""
        batch, result = settled.batch, written.result
        # This run's earlier batches, spooled behind a lock and merged by this write.
        own = [r for r in written.merged if r.run_id == batch.run.run_id]
        return RunTally(
            batches=self.batches + 1,
            articles_new=self.articles_new + len(result.new_ids) + sum(r.articles_new for r in own),
            articles_updated=self.articles_updated
            + len(result.updated_ids)
            + sum(r.articles_updated for r in own),
            articles_healed=self.articles_healed
            + len(result.healed_ids)
            + sum(r.articles_healed for r in own),
            pages_retried=self.pages_retried + settled.pages_retried,
            retries_given_up=self.retries_given_up
            + sum(r.status == "gave_up" for r in batch.retries),
            new_by_feed=self.new_by_feed
            + Counter(a.feed_name for a in batch.articles if a.article_id in result.new_ids),
            fallback=self.fallback + settled.fallback,
            unusable=self.unusable
            + settled.unusable
            + Counter(r.feed_name for r in written.rejected),
            spooled_to=written.spooled_to or self.spooled_to,
            lock_error=written.lock_error or self.lock_error,
            index_error=written.index_error or self.index_error,
            merged=(*self.merged, *written.merged),
            rejected=(*self.rejected, *written.rejected),
        )


def split_plan(plan: DownloadPlan, size: int) -> list[DownloadPlan]:
    """`plan` as the plans of batches of at most `size` pages (0: one batch), in the order of
    `plan.to_fetch`. An entry that rides on another feed's download goes with that download;
    sightings that need no download go with the last batch."""
    pages = plan.to_fetch
    if size <= 0 or len(pages) <= size:
        return [plan]
    downloads, revisits = len(plan.download), len(plan.revisit)
    slices = []
    for start in range(0, len(pages), size):
        end = min(start + size, len(pages))
        urls = {e.url for e in pages[start:end]}
        slices.append(
            DownloadPlan(
                download=plan.download[start:end],
                resighted=(),
                riders=tuple(e for e in plan.riders if e.url in urls),
                capped=plan.capped,
                revisit=plan.revisit[max(start - downloads, 0) : max(end - downloads, 0)],
                retry=plan.retry[
                    max(start - downloads - revisits, 0) : max(end - downloads - revisits, 0)
                ],
            )
        )
    slices[-1] = replace(slices[-1], resighted=plan.resighted, refingerprint=plan.refingerprint)
    return slices


def _stored_or_not(article: Article, stored_ids: set[str]) -> Article:
    if article.extraction == "feed" or article.article_id in stored_ids:
        return article
    return replace(article, extraction="feed", extraction_error=NO_USABLE_PAGE, retryable=False)
