"""How a run's plan is cut into batches, and what the batches add up to."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from tasks.models import (
    Article,
    Batch,
    BatchResult,
    FeedEntry,
    PageRetry,
    ParsedFeed,
    RunRecord,
    WriteOutcome,
)
from tasks.run.plan import plan_downloads
from tasks.run.settle import RunTally, Settlement, split_plan

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def feed(name: str, *urls: str) -> ParsedFeed:
    return ParsedFeed(name, tuple(FeedEntry(feed_name=name, url=u) for u in urls))


def retry(url: str) -> tuple[FeedEntry, PageRetry]:
    row = PageRetry(f"id-{url}", "c", url, 1, "HTTP 503", NOW, NOW, NOW)
    return FeedEntry(feed_name="c", url=url), row


def test_every_page_is_in_exactly_one_batch_in_plan_order():
    plan = plan_downloads(
        [feed("a", *(f"a{i}" for i in range(5))), feed("b", "b0", "b1")], {}, set(), 0
    )
    plan = type(plan)(
        download=plan.download,
        resighted=plan.resighted,
        riders=plan.riders,
        capped=frozenset({"a"}),
        retry=(retry("r0"), retry("r1")),
    )
    parts = split_plan(plan, 3)
    assert [len(p.to_fetch) for p in parts] == [3, 3, 3]
    assert [e.url for p in parts for e in p.to_fetch] == [e.url for e in plan.to_fetch]
    assert [e.url for e, _ in parts[-1].retry] == ["r0", "r1"]
    assert all(p.capped == {"a"} for p in parts)


def test_a_rider_goes_with_its_download_and_resightings_with_the_last_batch():
    plan = plan_downloads(
        [feed("a", "u1", "u2", "u3"), feed("b", "u1", "known")], {"known": "id-k"}, set(), 0
    )
    first, last = split_plan(plan, 2)
    assert [e.url for e in first.riders] == ["u1"] and last.riders == ()
    assert first.resighted == () and [e.url for e, _ in last.resighted] == ["known"]


def test_a_plan_within_the_batch_size_or_without_a_size_is_one_batch():
    plan = plan_downloads([feed("a", "u1", "u2")], {}, set(), 0)
    assert split_plan(plan, 2) == [plan]
    assert split_plan(plan, 0) == [plan]


def article(article_id: str) -> Article:
    return Article(
        article_id, article_id, article_id, "a", "t", "text", None, (), None, None, None,
        None, 1, "h", "page",
    )  # fmt: skip


def test_the_tally_sums_what_each_batch_wrote():
    def settled(*ids: str) -> Settlement:
        articles = tuple(article(i) for i in ids)
        run = RunRecord("r", NOW, NOW, 0, 0, 0, 0, 0, 0, 0, 0, 0.0)
        return Settlement(Batch(articles, (), (), run), Counter(a=1), Counter(), 1)

    tally = RunTally()
    for ids in (("x", "y"), ("z",)):
        tally = tally.add(settled(*ids), WriteOutcome(BatchResult(set(ids), set())))
    assert (tally.batches, tally.articles_new, tally.pages_retried) == (2, 3, 2)
    assert tally.new_by_feed == Counter(a=3) and tally.fallback == Counter(a=2)
