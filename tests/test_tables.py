"""Tables that fit a terminal: fewer, wider columns, long values cut with `…` on one line."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from newsdesk.tables import cell_text, print_table

COLUMNS = ["feed", "last_status", "last_polled_at", "consecutive_failures", "last_error", "url"]
ROWS = [
    (
        "tagesschau",
        "failed",
        datetime(2026, 11, 28, 4, 21, 7, tzinfo=UTC),
        3,
        "connection refused while fetching the feed after three attempts " * 2,
        "https://www.tagesschau.de/xml/rss2/",
    ),
    ("bbc-world", "ok", None, 0, None, "https://feeds.bbci.co.uk/news/world/rss.xml"),
]


def render(width: int, **options: object) -> list[str]:
    buffer = io.StringIO()
    print_table(Console(file=buffer, width=width), COLUMNS, ROWS, **options)  # type: ignore[arg-type]
    return buffer.getvalue().splitlines()


def test_an_80_column_table_keeps_whole_columns_and_says_which_it_left_out():
    lines = render(80)
    assert all(len(line) <= 80 for line in lines)
    header = lines[1]
    assert "feed" in header and "last_status" in header and "last_polled_at" in header
    assert "last_…" not in header and "failu…" not in header
    body = "\n".join(lines)
    assert "tagesschau" in body and "2026-11-28 04:21" in body
    assert lines[-1].startswith("2 rows;") or "more column" in body
    assert "--wide shows all" in body


def test_long_values_end_in_an_ellipsis_on_their_one_line():
    lines = render(160)
    rows = [line for line in lines if "tagesschau" in line]
    assert len(rows) == 1  # not wrapped into a column of single words
    assert "…" in rows[0]
    assert all(len(line) <= 160 for line in lines)


def test_wide_shows_every_column_in_full():
    lines = render(80, wide=True)
    body = "\n".join(lines)
    assert "https://feeds.bbci.co.uk/news/world/rss.xml" in body
    assert ("connection refused while fetching the feed after three attempts " * 2).strip() in body
    assert "--wide" not in body


def test_cells_are_compact_text():
    assert cell_text(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04"
    assert cell_text(timedelta(hours=36)) == "1.5 d"
    assert cell_text(["de", "en"]) == "de, en"
    assert cell_text("two\nlines") == "two lines"
