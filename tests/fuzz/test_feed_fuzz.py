"""Mutated real feeds (RSS, Atom, JSON Feed, news sitemaps) through `parse_feed` in a parsing
worker with the run's parse time limit: nothing escapes, and every entry has an absolute
http(s) link, storable bounded fields and a sane date or none."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bounds import check_entry, check_storable
from hypothesis import given
from hypothesis import strategies as st
from mutations import (
    BASE,
    FEED_SEEDS,
    HOSTILE_PIECES,
    SIZES,
    Mutated,
    as_xml,
    examples,
    flip_bytes,
    read_seed,
    shorten,
    truncate,
)

from flows.steps import WORKER_PRELOAD
from harness.corpus import CORPUS, needs_corpus
from newsdesk.demo import SAMPLE_DIR
from newsdesk.settings import Settings
from tasks.fetch.pool import WorkerLost, WorkerPool
from tasks.models import ParsedFeed

PARSE_TIMEOUT = Settings.model_fields["parse_timeout"].default
MAX_LATE = 1
LATE: list[str] = []


LINKS = [
    "javascript:alert(1)",
    "//elsewhere.example/story",
    "/relative/story",
    "mailto:desk@news.example",
    "http://[::1",
    "https://news.example/\x00story",
    "https://news.example/" + "a" * 100_000,
    "https://user:pass@news.example:99999/x",
    "data:text/html,<b>x</b>",
    " \t\nhttps://news.example/padded\t",
]

# Where an entry's fields sit, per format: the element names that may hold each.
XML_FIELDS = {
    "id": ("guid", "id"),
    "title": ("title", "news:title"),
    "link": ("link", "loc", "guid", "id"),
    "summary": ("description", "summary", "content", "content:encoded"),
    "author": ("author", "dc:creator", "name"),
    "date": ("pubDate", "published", "updated", "dc:date", "news:publication_date"),
}
JSON_FIELDS = {
    "id": "id",
    "title": "title",
    "link": "url",
    "summary": "content_html",
    "author": "authors",
    "date": "date_published",
}
ITEM = re.compile(rb"<(?:item|entry|url)\b[^>]*>", re.IGNORECASE)


def inject_xml(body: bytes, field: str, value: str) -> bytes:
    """`value` as the text of the first entry's `field`."""
    item = ITEM.search(body)
    start = item.end() if item else 0
    for tag in XML_FIELDS[field]:
        name = re.escape(tag.encode())
        element = re.compile(rb"(<" + name + rb"\b[^>]*>)(.*?)(</" + name + rb">)", re.S)
        found = element.search(body, start)
        if found:
            return body[: found.start(2)] + as_xml(value) + body[found.end(2) :]
    return body[:start] + f"<{XML_FIELDS[field][0]}>".encode() + as_xml(value) + body[start:]


def inject_json(body: bytes, field: str, value: str) -> bytes | None:
    try:
        document = json.loads(body.decode("utf-8-sig"))
        item = document["items"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    key = JSON_FIELDS[field]
    item[key] = [{"name": value}] if key == "authors" else value
    return json.dumps(document).encode("ascii")  # lone surrogates as valid `\udc00` escapes


def structure_feed(body: bytes, shape: str, size: int) -> bytes:
    if body.lstrip()[:1] in (b"{", b"["):
        nested = b"[" * size + b"]" * size
        return body.replace(b'"items"', b'"deep": ' + nested + b', "items"', 1)
    item = ITEM.search(body)
    at = item.end() if item else 0
    if shape == "deep elements":
        return body[:at] + b"<x>" * size + b"</x>" * size + body[at:]
    if shape == "giant attribute":
        return body[:at] + b'<x a="' + b"A" * size + b'"/>' + body[at:]
    if shape == "giant text":
        return body[:at] + b"<description>" + b"A" * size + b"</description>" + body[at:]
    raise ValueError(shape)


def _format(seed: Path) -> str:
    if seed.suffix == ".json":
        return "json"
    head = seed.read_bytes()[:2_000]
    return "sitemap" if b"<urlset" in head or b"<sitemapindex" in head else "xml"


SEEDS_BY_FORMAT: dict[str, list[Path]] = {}
for _seed in FEED_SEEDS:
    SEEDS_BY_FORMAT.setdefault(_format(_seed), []).append(_seed)


@st.composite
def mutated_feeds(draw: st.DrawFn, kinds: tuple[str, ...]) -> Mutated:
    # The format first: JSON feeds are few among the seeds, and their strings arrive unescaped.
    form = draw(st.sampled_from(sorted(SEEDS_BY_FORMAT)))
    seed = draw(st.sampled_from(SEEDS_BY_FORMAT[form]))
    body, steps = read_seed(seed), []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        if kind == "field":
            field = draw(st.sampled_from(sorted(XML_FIELDS)))
            pieces = st.sampled_from(LINKS + HOSTILE_PIECES if field == "link" else HOSTILE_PIECES)
            value = "".join(draw(st.lists(st.one_of(pieces, st.text(max_size=10)), max_size=4)))
            injected = inject_json(body, field, value)
            body = injected if injected is not None else inject_xml(body, field, value)
            steps.append(f"{field} = {shorten(value)}")
        elif kind == "structure":
            shape = draw(st.sampled_from(("deep elements", "giant attribute", "giant text")))
            size = draw(st.sampled_from(SIZES))
            size = min(size, 100_000) if shape == "deep elements" else size
            body = structure_feed(body, shape, size)
            steps.append(f"{shape} × {size:,}")
        elif draw(st.booleans()):
            where = draw(st.floats(0, 1))
            body = truncate(where)(body)
            steps.append(f"truncated at {where:.3f}")
        else:
            flips = draw(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=30))
            body = flip_bytes(flips)(body)
            steps.append(f"{len(flips)} bytes flipped")
    media = "application/feed+json" if seed.suffix == ".json" else "application/xml"
    return Mutated(seed.name, body, tuple(steps), content_type=media)


@pytest.fixture(scope="module")
def parsers() -> Iterator[WorkerPool]:
    """Two parsing workers as a run starts them (`flows.steps.parse_feeds`)."""
    with WorkerPool(2, timeout=PARSE_TIMEOUT, preload=WORKER_PRELOAD, doing="feed parsing") as pool:
        yield pool


def parse_in_worker(parsers: WorkerPool, feed: Mutated) -> ParsedFeed | None:
    """The feed as a run reads it, None when it ran past the time limit."""
    from tasks.feeds.parse import parse_feed  # the workers' module, preloaded by their server

    try:
        return asyncio.run(
            parsers.run(parse_feed, "fuzz", feed.body, f"{BASE}/feed", feed.content_type, None)
        )
    except WorkerLost as lost:
        assert "took longer than" in str(lost), f"{feed!r}: {lost}"
        LATE.append(repr(feed))
        assert len(LATE) <= MAX_LATE, f"feeds past the {PARSE_TIMEOUT:g} s limit: {LATE}"
        return None


def check_parsed(parsers: WorkerPool, feed: Mutated) -> None:
    parsed = parse_in_worker(parsers, feed)
    if parsed is None:
        return
    assert isinstance(parsed, ParsedFeed)
    assert parsed.usable or parsed.problem
    check_storable("feed title", parsed.title, line=True, limit=1_000)
    check_storable("problem", parsed.problem, line=False, limit=10_000)
    for entry in parsed.entries:
        check_entry(entry)


@given(feed=mutated_feeds(kinds=("bytes",)))
@examples(40)
def test_feeds_with_flipped_or_truncated_bytes_give_well_formed_entries(parsers, feed):
    check_parsed(parsers, feed)


@given(feed=mutated_feeds(kinds=("field", "bytes")))
@examples(60)
def test_hostile_strings_in_any_entry_field_give_storable_entries(parsers, feed):
    check_parsed(parsers, feed)


@given(feed=mutated_feeds(kinds=("structure",)))
@examples(10)
def test_feeds_nested_deep_or_grown_giant_give_well_formed_entries(parsers, feed):
    check_parsed(parsers, feed)


@needs_corpus
def test_the_corpus_feeds_are_seeds_too():
    """Without the corpus the fuzzing runs on the in-repo feeds alone; this says so."""
    assert sum(CORPUS in seed.parents for seed in FEED_SEEDS) >= 100
    assert len(SEEDS_BY_FORMAT["json"]) >= 5


def test_the_in_repo_feed_seeds_are_here():
    names = {seed.name for seed in FEED_SEEDS}
    assert {p.name for p in (SAMPLE_DIR / "feeds").glob("*.xml")} <= names
    assert "news-sitemap.xml" in names
