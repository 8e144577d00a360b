"""The concurrent-writers benchmark's harness at a tiny size (a check of the harness, not a
measurement: the figures come from `python -m bench.writers`, see docs/benchmarks.md): two
writer processes at once on a SQLite-catalog lake, sharing some articles, store each article
once, never hold the commit lock together, and a writer killed with SIGKILL leaves the lake
open to a later writer with nothing lost or doubled."""

import random

from bench.writers import Plan, kill_trials, lakes, measure

PLAN = Plan(batches=2, rows=10, overlap=0.2)


def test_two_writers_store_shared_articles_once_and_a_killed_one_leaves_the_lock(
    tmp_path,
) -> None:
    with lakes("sqlite", tmp_path) as lakes_:
        figures = measure(lakes_, 2, PLAN)
        # 2 shared articles in each of the 2 batches, 8 of each writer's own in each.
        assert figures["invariants"]["failures"] == []
        assert figures["articles"] == 2 * 2 + 2 * 2 * 8
        assert figures["commits"] == 4
        assert figures["overlapping_holds"] == 0
        assert figures["hold_ms"]["median"] > 0

        trials = kill_trials(lakes_, PLAN, kills=1, rng=random.Random(19), writers=2)
    assert trials["trials"] == 1
    assert trials["invariants"]["failures"] == []
    assert trials["later_writer_ok"]
