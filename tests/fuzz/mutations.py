"""Seeds (real pages and feeds) and the hypothesis strategies that mutate them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st

from harness.corpus import CORPUS
from newsdesk.demo import SAMPLE_DIR

SCALE = max(1, int(os.environ.get("NEWSDESK_FUZZ_SCALE", "1")))
PROFILE = settings.get_profile("fuzz" if SCALE == 1 else "fuzz-long")  # see conftest.py
BASE = "https://news.example"
TESTS = Path(__file__).parents[1]
SEED_LIMIT = 400_000
"""Bytes: larger seeds only slow the examples down; 200 corpus pages and most feeds are below."""


def examples(count: int) -> settings:
    """The fuzz profile with `count` examples, times `NEWSDESK_FUZZ_SCALE`."""
    return settings(PROFILE, max_examples=count * SCALE)


def _files(*patterns: tuple[Path, str]) -> list[Path]:
    found: list[Path] = []
    for folder, pattern in patterns:
        if folder.is_dir():
            found.extend(p for p in sorted(folder.glob(pattern)) if p.stat().st_size <= SEED_LIMIT)
    return found


# In-repo seeds come first: hypothesis leans towards the first choices, and they are always here.
PAGE_SEEDS = _files((SAMPLE_DIR / "articles", "*.html"), (CORPUS / "articles", "*.html"))
FEED_SEEDS = _files(
    (SAMPLE_DIR / "feeds", "*.xml"),
    (TESTS / "feeds" / "fixtures", "*.xml"),
    (CORPUS / "feeds", "*.xml"),
    (CORPUS / "feeds", "*.json"),
)


def read_seed(path: Path) -> bytes:
    # The sample's feeds name their site as a template.
    return path.read_bytes().replace(b"{{base}}", BASE.encode())


# ---------------------------------------------------------------- hostile strings

# Pieces that broke, or could break, a stored row; hypothesis joins a few with arbitrary text.
HOSTILE_PIECES = [
    "\ud800",
    "\udc00",
    "\x00",
    "\x01\x02\x1b[31m",
    "\x7f",
    "\x0b\x0c",
    "\r",
    "\t",
    "\u202e",  # right-to-left override
    "\u2066\u2067\u2069",  # isolates
    "\u202a\u202b\u202c",
    "\u200b" * 1_000,
    "\u2060\ufeff",
    "\u200d" * 500,
    "A" * 100_000,  # a long run without spaces
    "x" * 400,
    "&nbsp;",
    "&amp;amp;",
    "&eacute;",
    "&#0;",
    "&#x1;",
    "&#xdc00;",
    "&#x202e;",
    "&#1114112;",
    "1995",
    "number 1995",
    "February 30, 2024",
    "9999-12-31T23:59:59Z",
    "0001-01-01",
    "1970-01-01T00:00:00Z",
    "2024-13-45",
    "\U0001f600",
    "Jane Doe",
    "<b>",
    "]]>",
    "--><!--",
    "\u0301\u0301\u0301",
    "\ufffe\uffff",
]

hostile_strings = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=20)), min_size=1, max_size=5
).map("".join)
"""Text with crafted hostile pieces, surrogates included."""

everything = st.characters(codec=None, categories=None, exclude_categories=())
"""Any code point, lone surrogates and controls included (`st.text()` leaves surrogates out)."""

any_strings = st.one_of(hostile_strings, st.text(everything, max_size=50))


def as_html(value: str) -> bytes:
    """Text as it would sit in a page's source: a lone surrogate as the bytes a broken encoder
    writes (invalid UTF-8), quotes escaped for attributes."""
    return value.replace('"', "&quot;").encode("utf-8", "surrogatepass")


def as_json(value: str) -> bytes:
    """A JSON string: lone surrogates as `\\udc00` escapes, which are valid JSON."""
    return json.dumps(value).encode("ascii")


def as_xml(value: str) -> bytes:
    """Text inside an XML element: `<` and `&` escaped only when they would end it."""
    return value.replace("]]>", "]]&gt;").encode("utf-8", "surrogatepass")


def shorten(value: str) -> str:
    """`value` as ASCII, its middle left out when long."""
    shown = ascii(value)
    return shown if len(shown) <= 160 else f"{shown[:80]}…{shown[-40:]} ({len(value):,} chars)"


# ---------------------------------------------------------------- page mutations

Mutation = Callable[[bytes], bytes]


class Mutated:
    """A mutated body and what was done to it, for the report of a failing example (not a
    dataclass: hypothesis would print the megabytes of its body)."""

    def __init__(
        self,
        seed: str,
        body: bytes,
        steps: tuple[str, ...],
        entity_names: tuple[str, ...] = (),
        content_type: str = "text/html; charset=utf-8",
    ) -> None:
        self.seed = seed
        self.body = body
        self.steps = steps
        self.entity_names = entity_names
        self.content_type = content_type

    def __repr__(self) -> str:
        return f"Mutated(seed={self.seed!r}, steps={self.steps!r}, {len(self.body):,} bytes)"


def _after(pattern: bytes, body: bytes, insert: bytes) -> bytes:
    """`insert` after the first match of `pattern` (a tag's opening), else at the start."""
    match = re.search(pattern, body, re.IGNORECASE)
    at = match.end() if match else 0
    return body[:at] + insert + body[at:]


def _before(pattern: bytes, body: bytes, insert: bytes) -> bytes:
    match = re.search(pattern, body, re.IGNORECASE)
    at = match.start() if match else len(body)
    return body[:at] + insert + body[at:]


HEAD = rb"<head\b[^>]*>"
BODY = rb"<body\b[^>]*>"
PARAGRAPH = rb"<p\b"


def _quiet(body: bytes, *names: bytes) -> bytes:
    """The page's own values of these meta properties or scripts renamed, so ours are read."""
    for name in names:
        body = body.replace(name, name + b"-was")
    return body


def inject_page_field(field: str, value: str) -> Mutation:
    """`value` put where a page declares `field`, the page's own declaration set aside."""

    def meta(attribute: str, name: str) -> Mutation:
        def put(body: bytes) -> bytes:
            body = _quiet(body, f'"{name}"'.encode(), f"'{name}'".encode())
            tag = f'<meta {attribute}="{name}" content="'.encode() + as_html(value) + b'">'
            return _after(HEAD, body, tag)

        return put

    def jsonld(key: str) -> Mutation:
        def put(body: bytes) -> bytes:
            fields = {
                "headline": b'"A healthy headline"',
                "author": b'{"@type": "Person", "name": "Jane Doe"}',
                "datePublished": b'"2024-03-05T10:00:00Z"',
            }
            if key == "author.name":
                fields["author"] = b'{"@type": "Person", "name": ' + as_json(value) + b"}"
            else:
                fields[key] = as_json(value)
            block = b'{"@context": "https://schema.org", "@type": "NewsArticle", ' + b", ".join(
                b'"' + k.encode() + b'": ' + v for k, v in fields.items()
            )
            body = _quiet(body, b"application/ld+json")
            script = b'<script type="application/ld+json">' + block + b"}</script>"
            return _after(HEAD, body, script)

        return put

    def title(body: bytes) -> bytes:
        new = b"<title>" + as_html(value) + b"</title>"
        # A function, not the bytes: a backslash in the value is text, not a group reference.
        replaced, count = re.subn(
            rb"<title\b[^>]*>.*?</title>", lambda _: new, body, count=1, flags=re.I | re.S
        )
        return replaced if count else _after(HEAD, body, new)

    def byline(body: bytes) -> bytes:
        html = (
            b'<div class="byline author">By <a rel="author" href="/authors/x">'
            + as_html(value)
            + b"</a></div>"
        )
        return _before(PARAGRAPH, body, html)

    def paragraph(body: bytes) -> bytes:
        return _before(PARAGRAPH, body, b"<p>" + as_html(value) + b"</p>")

    return {
        "title": title,
        "og:title": meta("property", "og:title"),
        "og:site_name": meta("property", "og:site_name"),
        "author": meta("name", "author"),
        "article:published_time": meta("property", "article:published_time"),
        "jsonld headline": jsonld("headline"),
        "jsonld author.name": jsonld("author.name"),
        "jsonld datePublished": jsonld("datePublished"),
        "byline": byline,
        "body": paragraph,
    }[field]


PAGE_FIELDS = (
    "title",
    "og:title",
    "og:site_name",
    "author",
    "article:published_time",
    "jsonld headline",
    "jsonld author.name",
    "jsonld datePublished",
    "byline",
    "body",
)

ENTITY = "fuzzent"


def structural(kind: str, size: int) -> Mutation:
    """The shapes that cost parsers time or stack: deep nesting, giant attributes and scripts,
    one entity of the page's internal DTD subset referenced `size` times."""

    def apply(body: bytes) -> bytes:
        if kind == "deep divs":
            return _before(PARAGRAPH, body, b"<div>" * size)
        if kind == "deep divs before body":
            return _after(BODY, body, b"<div>" * size)
        if kind == "deep jsonld":
            nested = b"[" * size + b"]" * size
            block = (
                b'<script type="application/ld+json">{"@context": "https://schema.org", '
                b'"@type": "NewsArticle", "headline": "A healthy headline", "about": '
                + nested
                + b"}</script>"
            )
            return _after(HEAD, body, block)
        if kind == "giant attribute":
            return _before(PARAGRAPH, body, b'<div data-x="' + b"A" * size + b'"></div>')
        if kind == "many attributes":
            attrs = b" ".join(b"a%d=x" % i for i in range(size // 8))
            return _before(PARAGRAPH, body, b"<div " + attrs + b"></div>")
        if kind == "giant script":
            return _after(HEAD, body, b"<script>" + b"var a=1;" * (size // 8) + b"</script>")
        if kind == "dtd entity":
            doctype = f'<!DOCTYPE html [<!ENTITY {ENTITY} "an entity of this page">]>'.encode()
            body = re.sub(
                rb"^\s*(<\?xml[^>]*>\s*)?(<!DOCTYPE[^>]*>)?", b"", body, count=1, flags=re.I
            )
            refs = f"&{ENTITY}; ".encode() * size
            return doctype + _before(PARAGRAPH, body, b"<p>" + refs + b"</p>")
        raise ValueError(kind)

    return apply


STRUCTURAL = (
    "deep divs",
    "deep divs before body",
    "deep jsonld",
    "giant attribute",
    "many attributes",
    "giant script",
    "dtd entity",
)
SIZES = (1_000, 50_000, 100_000, 2_000_000)
"""Sizes of the structural mutations: deep, and deeper than any recursion limit."""


def flip_bytes(flips: list[tuple[float, int]]) -> Mutation:
    def apply(body: bytes) -> bytes:
        data = bytearray(body)
        for where, value in flips:
            if data:
                data[min(int(where * len(data)), len(data) - 1)] = value
        return bytes(data)

    return apply


def truncate(where: float) -> Mutation:
    return lambda body: body[: int(where * len(body))]


@st.composite
def page_mutations(draw: st.DrawFn, kinds: tuple[str, ...] = ("field", "structure", "bytes")):
    """One mutation of a page body, described."""
    kind = draw(st.sampled_from(kinds))
    if kind == "field":
        field = draw(st.sampled_from(PAGE_FIELDS))
        value = draw(hostile_strings)
        return f"{field} = {shorten(value)}", inject_page_field(field, value)
    if kind == "structure":
        shape, size = draw(st.sampled_from(STRUCTURAL)), draw(st.sampled_from(SIZES))
        if shape in ("deep divs", "deep divs before body", "deep jsonld"):
            size = min(size, 100_000)
        if shape == "many attributes":  # more only measures libxml2's quadratic duplicate check
            size = min(size, 400_000)
        return f"{shape} × {size:,}", structural(shape, size)
    if draw(st.booleans()):
        where = draw(st.floats(0, 1))
        return f"truncated at {where:.3f}", truncate(where)
    flips = draw(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=30))
    return f"{len(flips)} bytes flipped", flip_bytes(flips)


@st.composite
def mutated_pages(draw: st.DrawFn, kinds: tuple[str, ...] = ("field", "structure", "bytes")):
    seed = draw(st.sampled_from(PAGE_SEEDS))
    body, steps = seed.read_bytes(), []
    for described, mutate in draw(st.lists(page_mutations(kinds), min_size=1, max_size=3)):
        body = mutate(body)
        steps.append(described)
    names = (ENTITY,) if any(s.startswith("dtd entity") for s in steps) else ()
    return Mutated(seed.name, body, tuple(steps), names)
