"""The feeds file: what operators write, and the errors they get for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.feeds.feedlist import FeedsFileError, append_feeds, load_feeds, new_feeds, select_feeds
from tasks.models import FeedSpec

GOOD = """
# news
[[feeds]]
name = "one"
url = "https://example.org/one.xml"
tags = ["world", "en"]
language = "en"

[[feeds]]
name = "two"
url = "https://example.org/two.xml"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_gives_one_spec_per_table(tmp_path):
    assert load_feeds(write(tmp_path, GOOD)) == [
        FeedSpec("one", "https://example.org/one.xml", ("world", "en"), "en"),
        FeedSpec("two", "https://example.org/two.xml"),
    ]


def test_the_shipped_feeds_file_is_valid():
    specs = load_feeds(Path(__file__).parents[2] / "feeds.toml")
    assert len(specs) >= 15
    assert len({s.language for s in specs}) >= 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[feeds]]\nname = "a"\nurl = "https://x"\n[[feeds\n',
            r"feeds\.toml: invalid TOML.*line 4",
        ),
        (
            '[[feeds]]\nname = "a"\n\n[[feeds]]\nname = "b"\nurl = "https://x"\n',
            r"feeds\.toml:1: feed 'a' is missing a 'url'",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://x"\n\n[[feeds]]\nname = "a"\nurl = "https://y"\n',
            r"feeds\.toml:5: duplicate feed name 'a' \(first defined at line 1\)",
        ),
        ('[[feeds]]\nurl = "https://x"\n', r"feeds\.toml:1: feed is missing a 'name'"),
        (
            '[[feeds]]\nname = "a"\nurl = "ftp://x"\n',
            r"feeds\.toml:1: feed 'a' has a url that is not http",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://x"\ntags = "world"\n',
            r"'tags' that are not a list",
        ),
        ('[[feeds]]\nname = "a"\nurl = "https://x"\nlangauge = "en"\n', r"unknown keys: langauge"),
        ("title = 'no feeds'\n", r"no \[\[feeds\]\] tables found"),
        (
            '[[feeds]]\nname = "a"\nurl = "https://x"\n\n[[feeds]]\nname = "b"\n'
            'url = "https://y"\ninterval = "soon"\n',
            r"feeds\.toml:5: feed 'b' has an 'interval' that is not a duration .*'soon'",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://x"\ninterval = "30s"\n',
            r"feeds\.toml:1: feed 'a' has an 'interval' .*a minute or more",
        ),
        ('[[feeds]]\nname = "a"\nurl = "https://x"\ninterval = 0\n', r"'interval'"),
        ('[[feeds]]\nname = "a"\nurl = "https://x"\ninterval = true\n', r"'interval'"),
    ],
)
def test_a_bad_file_is_rejected_naming_the_file_and_line(tmp_path, text, expected):
    with pytest.raises(FeedsFileError, match=expected):
        load_feeds(write(tmp_path, text))


def test_an_explicitly_empty_list_is_a_file_with_no_feeds(tmp_path):
    assert load_feeds(write(tmp_path, "# none yet\nfeeds = []\n")) == []
    with pytest.raises(FeedsFileError, match=r"no \[\[feeds\]\] tables found"):
        load_feeds(write(tmp_path, "# forgot them\n"))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FeedsFileError, match=r"nope\.toml: feeds file not found"):
        load_feeds(tmp_path / "nope.toml")


def test_selection_by_name_or_tag(tmp_path):
    specs = load_feeds(write(tmp_path, GOOD))
    assert [s.name for s in select_feeds(specs)] == ["one", "two"]
    assert [s.name for s in select_feeds(specs, names=["two"])] == ["two"]
    assert [s.name for s in select_feeds(specs, tags=["world"])] == ["one"]
    with pytest.raises(FeedsFileError, match="unknown feed name"):
        select_feeds(specs, names=["three"])
    with pytest.raises(FeedsFileError, match="unknown tag"):
        select_feeds(specs, tags=["sport"])


def test_appending_feeds_keeps_the_file_as_written(tmp_path):
    path = write(tmp_path, GOOD)
    added = [
        FeedSpec("three", 'https://example.org/a "quoted" feed.xml?x=1&y=2', ("de",), "de"),
        FeedSpec("four", "https://example.org/four.xml"),
    ]
    append_feeds(path, added)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(GOOD.rstrip("\n") + "\n\n[[feeds]]")  # comments and layout kept
    assert load_feeds(path)[2:] == added


def test_a_new_feeds_file_is_created_with_a_header(tmp_path):
    path = tmp_path / "sub" / "feeds.toml"
    append_feeds(path, [FeedSpec("one", "https://example.org/one.xml")])
    assert path.read_text().startswith("# Feeds polled by")
    assert load_feeds(path) == [FeedSpec("one", "https://example.org/one.xml")]


def test_an_append_that_would_break_the_file_leaves_it_alone(tmp_path):
    # A file whose feeds are an inline array cannot take [[feeds]] tables.
    original = 'feeds = [{name = "one", url = "https://example.org/one.xml"}]\n'
    path = write(tmp_path, original)
    with pytest.raises(FeedsFileError):
        append_feeds(path, [FeedSpec("two", "https://example.org/two.xml")])
    assert path.read_text() == original
    assert list(tmp_path.iterdir()) == [path]


def test_new_feeds_skips_known_urls_and_renames_taken_names():
    existing = [FeedSpec("one", "https://Example.org/one.xml")]
    added, present = new_feeds(
        existing,
        [
            FeedSpec("one", "https://example.org/other.xml"),
            FeedSpec("dup", "https://example.org/one.xml#top"),
            FeedSpec("one", "https://example.org/third.xml"),
        ],
    )
    assert [(s.name, s.url) for s in added] == [
        ("one-2", "https://example.org/other.xml"),
        ("one-3", "https://example.org/third.xml"),
    ]
    assert [s.name for s in present] == ["dup"]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [('"30m"', 1800), ('"2h"', 7200), ('"1d"', 86400), ('"90s"', 90), ("45", 2700), ("1.5", 90)],
)
def test_an_operator_can_pin_a_feed_interval(tmp_path, value, seconds):
    text = f'[[feeds]]\nname = "a"\nurl = "https://x/feed"\ninterval = {value}\n'
    (spec,) = load_feeds(write(tmp_path, text))
    assert spec.interval == seconds


def test_a_feed_without_an_interval_is_adaptive(tmp_path):
    assert {s.interval for s in load_feeds(write(tmp_path, GOOD))} == {None}
