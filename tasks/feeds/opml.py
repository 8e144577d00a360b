"""OPML, the file feed readers exchange subscriptions in: read it into feeds, write feeds to it.

Reading follows what readers export: `<outline xmlUrl="…">` elements, nested in folders whose
names become tags (and a `category="/news,/tech"` attribute, OPML 2.0, does too). Writing
puts each feed's tags in `category`, so an export imports back to the same feeds file.
Bytes in, dataclasses out; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from tasks.models import FeedSpec


class OpmlError(ValueError):
    """The file is not OPML we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One subscription of an OPML file."""

    url: str
    title: str | None
    tags: tuple[str, ...] = ()
    language: str | None = None


def read_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an `xmlUrl`, in document order, with its folders as tags."""
    # No feed reader writes entity declarations; refusing them rules out entity expansion.
    if b"<!ENTITY" in data:
        raise OpmlError("entity declarations are not allowed in OPML")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not valid XML: {exc}") from None
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise OpmlError("not an OPML file (the root element is not <opml>)")
    body = next((e for e in root if _local(e) == "body"), None)
    if body is None:
        raise OpmlError("OPML without a <body>")
    feeds: list[OpmlFeed] = []
    _walk(body, (), feeds)
    return feeds


def _walk(parent: etree._Element, folders: tuple[str, ...], out: list[OpmlFeed]) -> None:
    for outline in parent:
        if _local(outline) != "outline":
            continue
        attrs = {k.lower(): (v or "").strip() for k, v in outline.attrib.items()}
        title = attrs.get("title") or attrs.get("text") or None
        url = attrs.get("xmlurl")
        if url:
            tags = [*folders, *_categories(attrs.get("category", ""))]
            out.append(
                OpmlFeed(
                    url=url,
                    title=title,
                    tags=tuple(dict.fromkeys(t for t in tags if t)),
                    language=attrs.get("language") or None,
                )
            )
        else:
            folder = tag_for(title) if title else None
            _walk(outline, (*folders, folder) if folder else folders, out)


def _categories(value: str) -> list[str]:
    # OPML 2.0: comma-separated, slash-delimited paths ("/news/world,/tech").
    return [tag_for(part) for path in value.split(",") for part in path.split("/") if part.strip()]


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname.lower() if isinstance(element.tag, str) else ""


def write_opml(feeds: Sequence[FeedSpec], title: str = "newsdesk feeds") -> bytes:
    """An OPML 2.0 document with one outline per feed; tags go to `category`."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = etree.SubElement(root, "body")
    for feed in feeds:
        outline = etree.SubElement(
            body, "outline", type="rss", text=feed.name, title=feed.name, xmlUrl=feed.url
        )
        if feed.tags:
            outline.set("category", ",".join(f"/{t}" for t in feed.tags))
        if feed.language:
            outline.set("language", feed.language)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def tag_for(text: str) -> str:
    """A folder or category name as a tag: lower-case, words joined by hyphens."""
    return slug(text)


def slug(text: str) -> str:
    """`"Süddeutsche Zeitung – Politik"` → `"suddeutsche-zeitung-politik"`; may be empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


def unique_name(wanted: str, taken: Iterable[str]) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`… whichever is not taken yet."""
    used = set(taken)
    if wanted not in used:
        return wanted
    n = 2
    while f"{wanted}-{n}" in used:
        n += 1
    return f"{wanted}-{n}"
