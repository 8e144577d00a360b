"""A run's pages in batches: download, extract, cluster, settle and write one slice of the plan
at a time, so a run holds one batch of pages and articles however many feeds it polls.

Each batch is its own commit; the last one carries the feed states and the run's record
(`tasks.run.settle.settle`), so a run that dies between batches loses only the batch in flight:
its feeds are polled as changed again and the next run finds the written articles known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from logging import Logger, LoggerAdapter
from typing import Any, TypeVar, cast

from prefect.utilities.annotations import quote

from flows import steps
from newsdesk.settings import Settings
from storage import Warehouse
from tasks import progress
from tasks.models import (
    Batch,
    BatchResult,
    FeedState,
    FetchedFeed,
    ParsedFeed,
    StorySketch,
    WriteOutcome,
)
from tasks.run.plan import DownloadPlan
from tasks.run.settle import (
    RunTally,
    Settlement,
    adopt_revisit_ids,
    settle,
    split_plan,
    worth_storing,
)

T = TypeVar("T")


def large(value: T) -> T:
    """A large task input, passed as is: Prefect would otherwise walk every entry, page and
    article in it looking for futures to track (~2 s of the main process for 2,000 articles).
    Typed as the value itself, which the task receives unwrapped."""
    return cast(T, quote(value))


def write_in_batches(
    *,
    plan: DownloadPlan,
    fetched: Sequence[FetchedFeed],
    parsed: Mapping[str, ParsedFeed],
    states: Mapping[str, FeedState],
    recent: Sequence[StorySketch],
    warehouse: Warehouse,
    settings: Settings,
    run_id: str,
    started: datetime,
    resting: int,
    dry_run: bool,
    logger: Logger | LoggerAdapter[Any],
) -> tuple[Settlement, RunTally]:
    """Fetch and store `plan` in batches of `settings.batch_size` pages; return the last
    batch's settlement and what all of them added up to."""
    parts = split_plan(plan, settings.batch_size)
    fetch_config = settings.fetch_config()
    # Later batches cluster against the earlier ones' stories too.
    candidates = list(recent)
    tally = RunTally()
    progress.report("articles", 0, len(plan.to_fetch))
    spacing: dict[str, float] = {}  # per-host spacing, kept from one batch to the next
    with steps.extraction_pool(settings.pool_config(), len(plan.to_fetch)) as workers:
        for number, part in enumerate(parts, start=1):
            last = number == len(parts)
            pages = steps.download_and_extract(
                large(part.to_fetch), fetch_config, workers, large(spacing)
            )
            articles = adopt_revisit_ids(part, pages)
            stored, sketches = steps.cluster_stories(
                large(worth_storing(articles, part)), large(candidates), settings.story_threshold
            )
            settled = settle(
                plan=part,
                fetched_articles=articles,
                stored=stored,
                sketches=sketches,
                fetched=fetched,
                parsed=parsed,
                states=states,
                run_id=run_id,
                started=started,
                finished=datetime.now(UTC),
                policy=settings.poll_policy(),
                resting=resting,
                retry=settings.retry_policy(),
                last=last,
                earlier=tally,
            )
            del pages, articles, stored  # the batch's articles are in `settled` alone now
            written = write(warehouse, settled.batch, dry_run, logger)
            tally = tally.add(settled, written)
            candidates += sketches
            if len(parts) > 1:
                logger.info(
                    "batch %d/%d: %d pages, %d new articles",
                    number,
                    len(parts),
                    len(part.to_fetch),
                    len(written.result.new_ids),
                )
    return settled, tally


def write(
    warehouse: Warehouse, batch: Batch, dry_run: bool, logger: Logger | LoggerAdapter[Any]
) -> WriteOutcome:
    """Write the batch, or for a dry run say what would have been stored."""
    if not dry_run:
        written = steps.write_batch(warehouse, large(batch))
        # Written or spooled: an interruption from here loses nothing (of this batch).
        progress.report("stored" if batch.last else "batch stored", 1)
        return written
    if batch.last:
        logger.info("dry run: nothing written to %s", warehouse.path)
    return WriteOutcome(BatchResult({a.article_id for a in batch.articles}, set()))
