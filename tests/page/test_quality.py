"""The quality floors of issue 6 on the annotated corpus, through `extract_article`.

`python -m bench.quality` measures the same through the whole pipeline, next to bare
trafilatura; this test keeps the figures from sliding back.
"""

from __future__ import annotations

from datetime import date

import pytest

from bench.quality import (
    body_score,
    date_is_right,
    headline_key,
    load_corpus,
    run_in_process,
)
from harness.corpus import CORPUS, load_scorer, needs_corpus

pytestmark = [needs_corpus, pytest.mark.corpus]


@pytest.fixture(scope="module")
def readings():
    rows, served = load_corpus(CORPUS)
    # The annotated pages only: the body F1 of the aeb-* pages is measured by the benchmark.
    annotated = [page for page in served if page.id.startswith(("wcxb-", "traf-"))]
    ours, _ = run_in_process(annotated, "http://127.0.0.1:8")
    return rows, ours


def test_dates_are_right_on_95_percent_of_annotated_pages(readings):
    rows, ours = readings
    dated = [r for r in rows if r["id"].startswith(("wcxb-", "traf-")) and r.get("date")]
    right = sum(
        date_is_right(
            ours[r["id"]].published, ours[r["id"]].precision, date.fromisoformat(r["date"][:10])
        )
        for r in dated
    )
    assert right / len(dated) >= 0.95


def test_headlines_are_right_on_90_percent_of_annotated_pages(readings):
    rows, ours = readings
    titled = [r for r in rows if r["id"].startswith(("wcxb-", "traf-")) and r.get("title")]
    right = sum(headline_key(ours[r["id"]].title) == headline_key(r["title"]) for r in titled)
    assert right / len(titled) >= 0.90


def test_every_annotated_page_is_recognised_as_an_article(readings):
    _, ours = readings
    assert {r.extra["page_type"] for r in ours.values()} == {"article"}


def test_no_guessed_midnight_is_presented_as_a_time(readings):
    _, ours = readings
    for reading in ours.values():
        if reading.precision in ("second", "minute") and reading.published is not None:
            assert reading.extra["published_at_offset_minutes"] is not None


def test_bodies_hold_on_the_full_body_and_snippet_pages(readings):
    # Issue 11: precision mode alone cut long features to their first block (wcxb-* 0.931,
    # wcxb-0140 at 0.24). trafilatura's defaults score 0.965 and 0.941 here.
    rows, ours = readings
    scorer = load_scorer(CORPUS)
    scores: dict[str, list[float]] = {"wcxb": [], "traf": []}
    for row in rows:
        prefix = row["id"].split("-", 1)[0]
        if prefix in scores:
            scores[prefix].append(body_score(scorer, row, ours[row["id"]].text))
    assert sum(scores["wcxb"]) / len(scores["wcxb"]) >= 0.96
    assert sum(scores["traf"]) / len(scores["traf"]) >= 0.94
    assert min(scores["wcxb"]) >= 0.5


def test_nine_annotated_pages_in_ten_take_one_trafilatura_pass(readings):
    # Issue 21: a second pass (trafilatura's defaults) only where precision mode may have cut
    # the body; the bodies above hold with it.
    _, ours = readings
    twice = [page for page, reading in ours.items() if reading.extra["passes"] > 1]
    assert len(twice) <= 0.1 * len(ours), twice
