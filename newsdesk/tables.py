"""Rows on a terminal or for other programs: `table` fits the terminal, `csv` and `json` do
not care about it.

A table that does not fit shows fewer columns, each wide enough to read, and says which it
left out (`--wide` shows them all); a long value ends in `…` on its one line instead of
wrapping into a column of single words.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

MIN_COLUMN = 8
"""Narrowest a column is squeezed to (its header may be cut to this); below, it is left out."""
# Per column: a vertical bar and one space of padding each side.
_BORDER = 3


def cell_text(value: object) -> str:
    """A value as one line of text, compact for a terminal: instants to the minute."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    return " ".join(str(value).split())


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds} s"


def fit_columns(
    columns: Sequence[str], rows: Sequence[Sequence[object]], width: int, max_width: int
) -> dict[int, int]:
    """The leading columns that fit in `width` characters, index -> width: each as wide as its
    longest value up to 24 characters (its header up to 12, at least `MIN_COLUMN`), none wider
    than its longest value or header, or `max_width`; the room left goes to the columns still
    cut, the one missing least first."""
    natural: dict[int, int] = {}
    chosen: dict[int, int] = {}
    used = 1
    for i, name in enumerate(columns):
        longest = max((len(cell_text(row[i])) for row in rows), default=0)
        natural[i] = max(1, min(max(len(name), longest), max_width))
        # Values are what is read: a long header may be cut before a short value is.
        need = min(natural[i], max(MIN_COLUMN, min(longest, 24), min(len(name), 12)))
        if chosen and used + need + _BORDER > width:
            break
        chosen[i] = need
        used += need + _BORDER
    spare = max(0, width - used)
    while spare:
        short = [i for i in chosen if chosen[i] < natural[i]]
        if not short:
            break
        share = max(1, spare // len(short))
        for i in sorted(short, key=lambda i: natural[i] - chosen[i]):
            grow = min(share, natural[i] - chosen[i], spare)
            chosen[i] += grow
            spare -= grow
    return chosen


def print_table(
    console: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    wide: bool = False,
    max_width: int = 60,
    title: str | None = None,
) -> None:
    """`rows` as a table that fits `console`, or every column in full with `wide`."""
    if wide:
        widths = {
            i: max([len(c), *(len(cell_text(r[i])) for r in rows)]) for i, c in enumerate(columns)
        }
        console = Console(
            file=console.file, width=sum(widths.values()) + _BORDER * len(columns) + 1
        )
    else:
        widths = fit_columns(columns, rows, console.width, max_width)
    shown = sorted(widths)
    table = Table(title=title, title_justify="left")
    for i in shown:
        table.add_column(
            columns[i],
            no_wrap=True,
            overflow="ellipsis",
            width=widths[i],
            justify="right" if _numeric(rows, i) else "left",
        )
    for row in rows:
        table.add_row(*(_styled(row[i]) for i in shown))
    console.print(table)
    note = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
    hidden = [columns[i] for i in range(len(columns)) if i not in shown]
    if hidden:
        note += f"; {len(hidden)} more column{'s' if len(hidden) != 1 else ''} "
        names = ", ".join(hidden[:6]) + (", …" if len(hidden) > 6 else "")
        note += f"({names}): --wide shows all"
    console.print(Text(note, style="dim"))


def _numeric(rows: Sequence[Sequence[object]], i: int) -> bool:
    values = [r[i] for r in rows if r[i] is not None]
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def _styled(value: object) -> Text:
    if value is None:
        return Text("NULL", style="dim")
    return Text(cell_text(value))


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[object]], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)


def write_json_lines(
    columns: Sequence[str], rows: Sequence[Sequence[object]], out: IO[str]
) -> None:
    """One JSON object per row and line; instants in ISO 8601 with their offset."""
    for row in rows:
        record = {c: _jsonable(v) for c, v in zip(columns, row, strict=True)}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def write_rows(
    fmt: str,
    console: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    wide: bool = False,
    max_width: int = 60,
) -> None:
    """Write `rows` as `fmt`: `table`, `csv` or `json`."""
    if fmt == "table":
        print_table(console, columns, rows, wide=wide, max_width=max_width)
    elif fmt == "csv":
        write_csv(columns, rows, sys.stdout)
    else:
        write_json_lines(columns, rows, sys.stdout)
