"""Wire agency, dateline and authors on the corpus, against the hand labels of issue 20.

`python -m bench.quality` calls `credit_report` with what newsdesk and bare trafilatura read
from each page of `../shared/corpus`; the labels are `tests/data/credits.jsonl` (how they were
decided, and how the pages were split in halves: `tests/data/README.md`). Per subset and half:

- wire agency: precision (agencies set that are the labelled one) and recall (labelled
  agencies found). The labelled one is `wire_agency`, the first of a joined credit; names are
  compared casefolded, punctuation read as a space;
- dateline: the same, a value being right when it equals the label after NFKC, casefolding,
  collapsed spaces and the punctuation around it. A dateline without the state or country the
  page prints after the place ("BUFFALO" for "BUFFALO, N.Y.") is wrong, because the label is
  the place as printed; the misses list names it apart;
- authors right: every labelled name found, and at most one name more (the holdout rule of
  issue 20). A name is found when an extracted name has the same name words, compared
  casefolded ("Z.B. Steele" is not "Z B Steele", "Jillian Kubala, MS, RD" not "Jillian
  Kubala"). "exact" allows no name more. Bare trafilatura (`bare_extraction`'s author, split
  at ";") is scored on authors, the one of these fields it reads.

Tune on the `tune` half; `report` is the figure for pages not looked at while tuning, so
`credit_misses` lists the misses of the `tune` half only.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "credits.jsonl"
SUBSETS = ("aeb", "wcxb", "traf")
HALVES = ("tune", "report")


@dataclass(frozen=True)
class Label:
    """One page's credits as labelled by hand."""

    id: str
    half: str
    authors: tuple[str, ...]
    wire_agency: str | None
    wire_credits: tuple[str, ...]
    dateline: str | None
    notes: str | None = None

    @property
    def subset(self) -> str:
        return self.id.split("-", 1)[0]


def load_labels(path: Path = LABELS) -> list[Label]:
    labels = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        labels.append(
            Label(
                id=row["id"],
                half=row["half"],
                authors=tuple(row["authors"]),
                wire_agency=row["wire_agency"],
                wire_credits=tuple(row["wire_credits"]),
                dateline=row["dateline"],
                notes=row.get("notes"),
            )
        )
    return labels


@dataclass(frozen=True)
class Credits:
    """What one extractor read from one page."""

    authors: tuple[str, ...] = ()
    wire_agency: str | None = None
    dateline: str | None = None


class Reading(Protocol):
    """`bench.quality.Reading`: authors, and the agency and dateline in `extra`."""

    authors: tuple[str, ...]
    extra: dict[str, Any]


def credits_of(reading: Reading | None) -> Credits:
    if reading is None:
        return Credits()
    return Credits(
        tuple(reading.authors), reading.extra.get("wire_agency"), reading.extra.get("dateline")
    )


# ---------------------------------------------------------------- comparing one page

_NAME_WORD = re.compile(r"[^\W\d_]+(?:[.'’-][^\W\d_]+)*")


def name_words(name: str) -> frozenset[str]:
    return frozenset(w.casefold() for w in _NAME_WORD.findall(unicodedata.normalize("NFKC", name)))


def authors_right(got: Sequence[str], want: Sequence[str], *, extra: int = 1) -> bool:
    """Every wanted name among `got`, and at most `extra` names of `got` not wanted."""
    got_words = [w for w in map(name_words, got) if w]
    want_words = [w for w in map(name_words, want) if w]
    found = all(w in got_words for w in want_words)
    return found and sum(w not in want_words for w in got_words) <= extra


def agency_key(name: str | None) -> str | None:
    """`Keystone-SDA` and `keystone sda` alike; None for no agency."""
    words = re.split(r"[\W_]+", unicodedata.normalize("NFKC", name or "").casefold())
    return " ".join(w for w in words if w) or None


def dateline_key(place: str | None) -> str | None:
    """`LOS ANGELES —`, `Los Angeles` and ` los  angeles` alike; a printed suffix stays."""
    text = " ".join(unicodedata.normalize("NFKC", place or "").casefold().split())
    text = re.sub(r"\s*,\s*", ", ", text).strip(" -—–:.,")
    return text or None


# ---------------------------------------------------------------- the tally


@dataclass
class PrecisionRecall:
    labelled: int = 0
    set: int = 0
    right: int = 0

    def add(self, got: str | None, want: str | None) -> bool:
        self.labelled += want is not None
        self.set += got is not None
        ok = got is not None and got == want
        self.right += ok
        return ok

    def cells(self) -> tuple[str, str]:
        return _ratio(self.right, self.set), _ratio(self.right, self.labelled)


@dataclass
class Tally:
    """One subset's half: the counts behind a row of the table."""

    pages: int = 0
    agency: PrecisionRecall = field(default_factory=PrecisionRecall)
    dateline: PrecisionRecall = field(default_factory=PrecisionRecall)
    authors_right: int = 0
    authors_exact: int = 0
    bare_authors_right: int = 0


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f} ({part}/{whole})" if whole else "—"


def score(
    labels: Iterable[Label],
    ours: Mapping[str, Credits],
    bare: Mapping[str, Credits],
    say: Callable[[Label, str], None] | None = None,
) -> dict[tuple[str, str], Tally]:
    """Tallies by (subset, half), and by ("all", half); `say` hears each miss of each page."""
    tell = say or (lambda _label, _miss: None)
    tallies: dict[tuple[str, str], Tally] = {}
    for label in labels:
        got = ours.get(label.id, Credits())
        for key in ((label.subset, label.half), ("all", label.half)):
            tally = tallies.setdefault(key, Tally())
            tally.pages += 1
            tally.agency.add(agency_key(got.wire_agency), agency_key(label.wire_agency))
            tally.dateline.add(dateline_key(got.dateline), dateline_key(label.dateline))
            tally.authors_right += authors_right(got.authors, label.authors)
            tally.authors_exact += authors_right(got.authors, label.authors, extra=0)
            tally.bare_authors_right += authors_right(
                bare.get(label.id, Credits()).authors, label.authors
            )
        for miss in _misses(got, label):
            tell(label, miss)
    return tallies


def _misses(got: Credits, label: Label) -> list[str]:
    misses = []
    if agency_key(got.wire_agency) != agency_key(label.wire_agency):
        kind = "missed" if got.wire_agency is None else "wrong" if label.wire_agency else "extra"
        misses.append(f"agency {kind}: {got.wire_agency!r} (want {label.wire_agency!r})")
    got_place, want_place = dateline_key(got.dateline), dateline_key(label.dateline)
    if got_place != want_place:
        if got_place is None:
            kind = "missed"
        elif want_place is None:
            kind = "extra"
        elif want_place.split(", ", 1)[0] == got_place:
            kind = "suffix missing"
        else:
            kind = "wrong"
        misses.append(f"dateline {kind}: {got.dateline!r} (want {label.dateline!r})")
    if not authors_right(got.authors, label.authors):
        misses.append(f"authors: {list(got.authors)} (want {list(label.authors)})")
    return misses


# ---------------------------------------------------------------- the report


def markdown(tallies: Mapping[tuple[str, str], Tally]) -> str:
    lines = [
        "| subset | half | pages | agency precision | agency recall | dateline precision "
        "| dateline recall | authors right | authors exact | trafilatura authors right |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for subset in (*SUBSETS, "all"):
        for half in HALVES:
            tally = tallies.get((subset, half))
            if tally is None:
                continue
            cells = [
                *tally.agency.cells(),
                *tally.dateline.cells(),
                _ratio(tally.authors_right, tally.pages),
                _ratio(tally.authors_exact, tally.pages),
                _ratio(tally.bare_authors_right, tally.pages),
            ]
            name = f"`{subset}-*`" if subset != "all" else "all"
            lines.append(f"| {name} | {half} | {tally.pages} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def credit_report(
    ours: Mapping[str, Reading],
    bare: Mapping[str, Reading],
    *,
    show_misses: bool = False,
    labels: Sequence[Label] | None = None,
) -> str:
    """The credits table, and with `show_misses` the misses of the `tune` half, page by page."""
    labels = load_labels() if labels is None else labels
    misses: list[str] = []

    def note(label: Label, miss: str) -> None:
        if label.half == "tune":
            misses.append(f"{label.id}: {miss}" + (f"  [{label.notes}]" if label.notes else ""))

    tallies = score(
        labels,
        {i: credits_of(r) for i, r in ours.items()},
        {i: credits_of(r) for i, r in bare.items()},
        note,
    )
    text = (
        "Credits against the hand labels (tests/data/credits.jsonl): tune on `tune`, report "
        "`report`.\n\n" + markdown(tallies)
    )
    if show_misses:
        text += "\n\nMisses of the `tune` half:\n" + "\n".join(sorted(misses))
    return text
