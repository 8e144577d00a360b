"""The hand labels of credits (tests/data/credits.jsonl) are well formed, and bench.credits
scores against them as its docstring says."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.credits import (
    HALVES,
    LABELS,
    SUBSETS,
    Credits,
    Label,
    authors_right,
    load_labels,
    score,
)
from harness.corpus import CORPUS, needs_corpus

FIELDS = {"id", "half", "authors", "wire_agency", "wire_credits", "dateline"}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]


def test_every_row_has_the_fields_with_their_types(rows):
    for row in rows:
        assert FIELDS <= set(row) <= FIELDS | {"notes"}, row["id"]
        assert row["half"] in HALVES, row["id"]
        assert isinstance(row["authors"], list), row["id"]
        assert all(isinstance(a, str) and a.strip() == a and a for a in row["authors"]), row["id"]
        for key in ("wire_agency", "dateline", "notes"):
            assert row.get(key) is None or (isinstance(row[key], str) and row[key].strip())


def test_the_agency_is_the_first_of_the_credits(rows):
    for row in rows:
        credits = row["wire_credits"]
        assert (credits[0] if credits else None) == row["wire_agency"], row["id"]


def test_rows_are_sorted_by_id_one_per_page(rows):
    ids = [row["id"] for row in rows]
    assert ids == sorted(set(ids))
    assert {i.split("-", 1)[0] for i in ids} == set(SUBSETS)


def test_each_subset_has_both_halves_in_equal_shares(rows):
    halves = Counter((row["id"].split("-", 1)[0], row["half"]) for row in rows)
    for subset in SUBSETS:
        assert abs(halves[subset, "tune"] - halves[subset, "report"]) <= 1, subset
        assert halves[subset, "tune"] and halves[subset, "report"], subset


@needs_corpus
def test_the_labels_are_the_corpus_pages(rows):
    truth = CORPUS / "articles" / "ground_truth.jsonl"
    pages = {json.loads(line)["id"] for line in truth.read_text(encoding="utf-8").splitlines()}
    assert {row["id"] for row in rows} == pages


def test_authors_are_right_with_every_name_and_at_most_one_more():
    want = ("Lisa Kaczke", "Trevor J. Mitchell")
    assert authors_right(["trevor j. mitchell", "LISA KACZKE"], want)
    assert authors_right(["Lisa Kaczke", "Trevor J. Mitchell", "USA TODAY"], want)
    assert not authors_right(["Lisa Kaczke", "Trevor J. Mitchell", "USA TODAY", "Staff"], want)
    assert not authors_right(["Lisa Kaczke"], want)
    assert not authors_right(["Lisa Kaczke and Trevor J. Mitchell"], want)
    assert not authors_right(["Jillian Kubala, MS, RD"], ["Jillian Kubala"])
    assert authors_right(["NPR"], [])
    assert not authors_right(["NPR"], [], extra=0)


def test_a_tiny_labelled_set_is_scored_per_subset_and_half():
    labels = [
        Label("aeb-1", "tune", ("Ann Lee",), "AP", ("AP",), "HAYWARD, Calif."),
        Label("aeb-2", "tune", (), None, (), None),
        Label("aeb-3", "report", ("Bo Li",), "dpa", ("dpa",), "Berlin"),
        Label("traf-1", "report", (), "Reuters", ("Reuters",), "MOSCOW"),
    ]
    ours = {
        "aeb-1": Credits(("ann lee",), "AP", "HAYWARD"),  # the state is printed: wrong
        "aeb-2": Credits(("CBS News",), "AFP", "Paris —"),  # two values set, none labelled
        "aeb-3": Credits(("Bo Li", "Staff", "Desk"), "DPA", "berlin"),
        "traf-1": Credits((), "Reuters", "Moscow"),
    }
    bare = {"aeb-1": Credits(("Ann Lee; AP",)), "aeb-3": Credits(("Bo Li",))}
    said: list[tuple[str, str]] = []
    tallies = score(labels, ours, bare, lambda label, miss: said.append((label.id, miss)))

    tune, report = tallies["aeb", "tune"], tallies["aeb", "report"]
    assert (tune.pages, tune.agency.set, tune.agency.right, tune.agency.labelled) == (2, 2, 1, 1)
    assert (tune.dateline.set, tune.dateline.right, tune.dateline.labelled) == (2, 0, 1)
    assert (tune.authors_right, tune.authors_exact, tune.bare_authors_right) == (2, 1, 1)
    assert (report.agency.right, report.dateline.right) == (1, 1)
    assert (report.authors_right, report.bare_authors_right) == (0, 1)
    everything = tallies["all", "report"]
    assert (everything.pages, everything.agency.right, everything.dateline.right) == (2, 2, 2)
    assert ("aeb-1", "dateline suffix missing: 'HAYWARD' (want 'HAYWARD, Calif.')") in said
    assert ("aeb-2", "agency extra: 'AFP' (want None)") in said
    assert all(page != "traf-1" for page, _ in said)


def test_the_stored_labels_load():
    labels = load_labels()
    assert len(labels) == len({label.id for label in labels})
    assert {label.subset for label in labels} == set(SUBSETS)
