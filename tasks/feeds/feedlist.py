"""Read the operator's feeds file (TOML) into `FeedSpec`s, rejecting bad files before any fetch."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import tomlkit

from tasks.feeds.opml import unique_name
from tasks.models import FeedSpec
from tasks.urls import normalize_url

_TABLE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*feeds[ \t]*\]\]", re.MULTILINE)
_ALLOWED_KEYS = {"name", "url", "tags", "language", "interval"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = 60.0
"""The shortest interval a feeds file may pin, in seconds."""


class FeedsFileError(ValueError):
    """The feeds file cannot be used; the message names the file and the line or feed."""


def load_feeds(path: Path) -> list[FeedSpec]:
    """Parse and validate a feeds file.

    Raises `FeedsFileError` for a missing file, a TOML syntax error, a table without a `url`,
    a duplicate `name` or a value of the wrong type.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeedsFileError(f"{path}: feeds file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedsFileError(f"{path}: cannot read feeds file: {exc}") from None
    return parse_feeds_text(text, path)


def parse_feeds_text(text: str, path: Path) -> list[FeedSpec]:
    """Validate the text of a feeds file; `path` is only used in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line N, column M)".
        raise FeedsFileError(f"{path}: invalid TOML: {exc}") from None

    tables = data.get("feeds")
    if tables == []:
        return []  # `feeds = []`: deliberately none (yet); a run polls nothing
    if not isinstance(tables, list):
        raise FeedsFileError(f"{path}: no [[feeds]] tables found")
    header_lines = [text.count("\n", 0, m.start()) + 1 for m in _TABLE_HEADER.finditer(text)]

    specs: list[FeedSpec] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        line = header_lines[index] if index < len(header_lines) else None
        where = f"{path}:{line}" if line else f"{path} (feed #{index + 1})"
        spec = _to_spec(table, where)
        if spec.name in seen:
            first = seen[spec.name]
            raise FeedsFileError(
                f"{where}: duplicate feed name {spec.name!r} (first defined at line {first})"
            )
        seen[spec.name] = line or index + 1
        specs.append(spec)
    return specs


def _to_spec(table: object, where: str) -> FeedSpec:
    if not isinstance(table, dict):
        raise FeedsFileError(f"{where}: each [[feeds]] entry must be a table")
    name = table.get("name")
    label = f"feed {name!r}" if isinstance(name, str) and name else "feed"
    unknown = set(table) - _ALLOWED_KEYS
    if unknown:
        raise FeedsFileError(f"{where}: {label} has unknown keys: {', '.join(sorted(unknown))}")
    if not isinstance(name, str) or not name.strip():
        raise FeedsFileError(f"{where}: feed is missing a 'name' (a non-empty string)")
    url = table.get("url")
    if not isinstance(url, str) or not url.strip():
        raise FeedsFileError(f"{where}: {label} is missing a 'url'")
    if not re.match(r"^https?://[^\s/]+", url.strip()):
        raise FeedsFileError(f"{where}: {label} has a url that is not http(s): {url!r}")
    tags = table.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise FeedsFileError(f"{where}: {label} has 'tags' that are not a list of strings")
    language = table.get("language")
    if language is not None and (not isinstance(language, str) or not language):
        raise FeedsFileError(f"{where}: {label} has a 'language' that is not a string")
    interval = table.get("interval")
    seconds = None if interval is None else parse_interval(interval)
    if interval is not None and (seconds is None or seconds < MIN_INTERVAL):
        raise FeedsFileError(
            f"{where}: {label} has an 'interval' that is not a duration of a minute or more "
            f'(such as "30m", "2h", "1d", or a number of minutes): {interval!r}'
        )
    return FeedSpec(
        name=name.strip(), url=url.strip(), tags=tuple(tags), language=language, interval=seconds
    )


def parse_interval(value: object) -> float | None:
    """Seconds of a feeds file `interval`: `"30m"`, `"90s"`, `"2h"`, `"1d"`, or a number of
    minutes; None when it is none of those."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) * 60 if value > 0 else None
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def select_feeds(
    specs: Iterable[FeedSpec], names: Iterable[str] = (), tags: Iterable[str] = ()
) -> list[FeedSpec]:
    """Feeds matching any of `names` or any of `tags`; all feeds when both are empty.

    Raises `FeedsFileError` when a requested name or tag matches nothing, so a typo is not
    silently a no-op run.
    """
    specs = list(specs)
    names, tags = set(names), set(tags)
    if not names and not tags:
        return specs
    known_names = {s.name for s in specs}
    known_tags = {t for s in specs for t in s.tags}
    if missing := sorted(names - known_names):
        raise FeedsFileError(f"unknown feed name(s): {', '.join(missing)}")
    if missing := sorted(tags - known_tags):
        raise FeedsFileError(f"unknown tag(s): {', '.join(missing)}")
    return [s for s in specs if s.name in names or tags.intersection(s.tags)]


NEW_FILE_HEADER = """\
# Feeds polled by `newsdesk ingest`. Each [[feeds]] table: name (unique), url, optional tags
# (list), optional language (a hint used when an article's text is too short to detect),
# optional interval ("30m", "2h": poll this often instead of the adaptive interval).
"""


def new_feeds(
    existing: Sequence[FeedSpec], candidates: Iterable[FeedSpec]
) -> tuple[list[FeedSpec], list[FeedSpec]]:
    """The candidates worth adding, renamed where a name is taken, and those already present.

    A candidate is already present when its URL, normalized, is that of a feed in the file (or
    of an earlier candidate).
    """
    urls = {_url_key(spec.url) for spec in existing}
    names = {spec.name for spec in existing}
    added: list[FeedSpec] = []
    present: list[FeedSpec] = []
    for spec in candidates:
        key = _url_key(spec.url)
        if key in urls:
            present.append(spec)
            continue
        spec = replace(spec, name=unique_name(spec.name, names))
        urls.add(key)
        names.add(spec.name)
        added.append(spec)
    return added, present


def append_feeds(path: Path, specs: Sequence[FeedSpec]) -> None:
    """Append `[[feeds]]` tables to the feeds file, leaving its existing text untouched.

    The new file is validated as a whole before it replaces the old one (written to a
    temporary file next to it, then renamed), so a failure leaves the old file as it was.
    Creates the file when it does not exist.
    """
    if not specs:
        return
    existing = path.read_text(encoding="utf-8") if path.exists() else NEW_FILE_HEADER
    tables = tomlkit.aot()
    for spec in specs:
        table = tomlkit.table()
        table.add("name", spec.name)
        table.add("url", spec.url)
        if spec.tags:
            table.add("tags", list(spec.tags))
        if spec.language:
            table.add("language", spec.language)
        tables.append(table)
    document = tomlkit.document()
    document.append("feeds", tables)
    text = existing.rstrip("\n") + "\n\n" + tomlkit.dumps(document).lstrip("\n")
    parse_feeds_text(text, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _url_key(url: str) -> str:
    return normalize_url(url.strip()) or url.strip()
