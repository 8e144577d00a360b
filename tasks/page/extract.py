"""Turn a feed entry and its downloaded page into an `Article`.

This is the CPU-bound stage; it runs in worker processes, so it is made of top-level functions
over picklable dataclasses and holds no state beyond per-process caches. It never raises for a
bad page: whatever goes wrong with the page, the article falls back to the feed's own text and
says why in `extraction_error`.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from html import unescape
from typing import Any
from urllib.parse import urljoin

import trafilatura
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Document, set_date_params
from trafilatura.utils import line_processing

from tasks.encoding import decode_html
from tasks.models import (
    Article,
    DatePrecision,
    DateSource,
    Extraction,
    FeedEntry,
    Page,
    PageType,
)
from tasks.page.authors import find_authors
from tasks.page.dates import find_published, printed_day
from tasks.page.entities import settle_entities
from tasks.page.headlines import find_headline, readable, strip_title_segments
from tasks.page.jsonld import article_headlines
from tasks.page.junk import (
    HEALABLE,
    REASONS,
    JunkKind,
    challenge_in,
    classify_junk,
    is_partial,
    strip_prompt,
)
from tasks.page.language import detect_language
from tasks.page.pagetype import classify_page
from tasks.page.wire import find_wire
from tasks.text import (
    MAX_SITE_NAME,
    MAX_TEXT,
    clean_headline,
    clean_line,
    clean_text,
    clip_line,
    squash,
    storable,
)
from tasks.urls import article_id, canonical_url, hostname, normalize_url, site_label

NO_PAGE_TEXT = "no text extracted from page"
# Precision mode's body is kept unless it is under this share of the default settings' body.
FALLBACK_SHARE = 0.5
FALLBACK_MIN_CHARS = 500
# trafilatura compares its body with readability's and justext's under this length
# (`MIN_EXTRACTED_SIZE`): a fast pass's body this short is not kept.
QUICK_MIN_CHARS = 250
# Running text: the page's text runs of this many characters or more, outside the parts of a
# page that are never its article (navigation, headers, footers, asides, forms, links, reader
# comments). Menus, teaser titles, captions and credits are shorter.
RUNNING_TEXT_MIN_CHARS = 80
_RUNNING_TEXT = XPath(
    f"//body//text()[string-length(normalize-space(.)) >= {RUNNING_TEXT_MIN_CHARS}]"
    "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"
    " or ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside"
    " or ancestor::form or ancestor::a"
    " or ancestor::*[contains(@id, 'comment') or contains(@class, 'comment')])]"
)

_SITE_SEPARATOR = re.compile(r"\s+[-–—|:·»/]+\s+|\s*[|·»]\s*")


@dataclass(frozen=True, slots=True)
class PageReading:
    """What the page says about itself, before it is merged with the feed entry."""

    text: str
    title: str | None
    authors: tuple[str, ...]
    site_name: str | None
    description: str | None
    declared_url: str | None
    published: tuple[datetime | None, DatePrecision | None]
    day: datetime | None
    html_lang: str | None
    page_type: PageType = "article"
    page_text: str = ""
    """The default settings' reading of the page where trafilatura ran twice (a superset of
    `text` on most pages), else the body trafilatura extracted."""
    junk: JunkKind | None = None
    """What the page is when it is not the article (`tasks.page.junk`): its reading is then
    worth nothing."""
    partial: bool = False
    """`text` is a paywalled article's teaser."""
    passes: int = 0
    """How many times trafilatura extracted the body: 1 (a fast pass in precision mode) on most
    pages, 2 where that pass's body may not be the full pass's (`keeps_quick_body`), 3 where
    precision mode may have cut the body (`needs_second_pass`)."""


def extract_article(entry: FeedEntry, page: Page) -> Article:
    """Extract text and metadata from `page`, falling back to `entry` for whatever it lacks."""
    final_url = page.final_url or page.url or entry.url
    reading: PageReading | None = None
    error: str | None = page.error
    retryable = page.retryable
    failed = page.http_status is not None and page.http_status >= 400
    if error is None and failed:
        error = f"HTTP {page.http_status}"
    if failed and page.body and _is_challenge(page):
        # A 403 is refused for good, unless it is a challenge: those pass.
        error, retryable = f"{REASONS['challenge']} (HTTP {page.http_status})", True
    elif error is None and page.body:
        try:
            reading = read_page(decode_html(page.content_type, page.body), final_url)
        except Exception as exc:  # one odd page must never sink the batch
            error = f"extraction failed: {type(exc).__name__}"
    if reading is not None and reading.junk is not None:
        # Nothing of a wall's page is the article's, not even its address (a consent host's).
        error, retryable = REASONS[reading.junk], reading.junk in HEALABLE
        reading, final_url = None, page.url or entry.url
    page_type = reading.page_type if reading else None
    if error is None and page_type == "article" and (reading is None or not reading.text):
        error = NO_PAGE_TEXT

    # A page that parsed but gave no body still knows its title and date. A section front or
    # a video page keeps no text at all: its teasers or captions are not an article's body.
    extraction: Extraction
    if reading is not None and (reading.text or page_type != "article"):
        text, extraction = reading.text if page_type == "article" else "", "page"
    else:
        text, extraction = clean_text(entry.content or entry.summary or ""), "feed"
    # Made storable before it is counted, hashed and sketched, so that they describe the row;
    # a body cut at the bound is partial too.
    cut = len(text) > MAX_TEXT
    text = storable(text, MAX_TEXT, line=False) or ""

    canonical = canonical_url(final_url, reading.declared_url if reading else None)
    site_name = reading.site_name if reading else None
    title = reading.title if reading else None
    if not title and (title := readable(clean_headline(entry.title))):
        title = strip_site_suffix(title, site_name, site_label(final_url))
    authors = (reading.authors if reading else ()) or split_authors(entry.authors)
    published_at, source, precision = _choose_date(entry, reading)
    offset = None
    if source == "page" and precision != "day" and reading and reading.published[0]:
        delta = reading.published[0].utcoffset()
        offset = int(delta.total_seconds() // 60) if delta is not None else None
    hint = entry.language or (reading.html_lang if reading else None)
    summary = clean_line(entry.summary) or (clean_line(reading.description) if reading else None)
    wire = find_wire(text, authors, site_name, page_text=reading.page_text if reading else None)
    # The story sketch is made here, in the extraction worker, where it runs in parallel;
    # datasketch (and scipy) load on first use, preloaded by the workers' fork server.
    from tasks.sketches import sketch_bytes

    story_sketch = sketch_bytes(text) if text and page_type in ("article", None) else None

    # Every string is bounded to its column by `Article` itself (`tasks.text.storable`).
    return Article(
        article_id=article_id(canonical),
        url=normalize_url(final_url) or final_url,
        canonical_url=canonical,
        feed_name=entry.feed_name,
        title=title,
        text=text,
        summary=summary,
        authors=authors,
        published_at=published_at,
        published_at_source=source,
        published_at_precision=precision,
        language=detect_language(text, hint=hint),
        word_count=len(text.split()),
        content_hash=content_hash(text),
        extraction=extraction,
        extraction_error=error,
        site_name=site_name,
        http_status=page.http_status,
        published_at_offset_minutes=offset,
        page_type=page_type,
        wire_agency=wire.agency,
        dateline=wire.dateline,
        sketch=story_sketch,
        text_partial=cut or (bool(reading and reading.partial) and extraction == "page"),
        retryable=retryable and extraction == "feed",
    )


def _is_challenge(page: Page) -> bool:
    """Whether an error response's page is a bot challenge (`tasks.page.junk`)."""
    try:
        tree = trafilatura.load_html(decode_html(page.content_type, page.body or b""))
        return tree is not None and challenge_in(tree)
    except Exception:  # an unreadable error page is no challenge
        return False


def read_page(html: str, url: str) -> PageReading:
    """Run trafilatura and our own metadata readers over one page's HTML.

    trafilatura runs once, a fast pass in precision mode, on most pages; again in full where
    the fast pass's body may differ (`keeps_quick_body`), and with its defaults where precision
    mode may have cut the body (`needs_second_pass`). Its metadata is read field by field, only
    where our readers found nothing (`TrafilaturaMetadata`).
    May raise whatever lxml or trafilatura raise; `extract_article` turns that into a fallback.
    """
    tree = trafilatura.load_html(settle_entities(html))
    if tree is None:
        return PageReading("", None, (), None, None, None, (None, None), None, None)
    # Every reader shares this one tree; trafilatura works on a copy of it.
    declared = declared_canonical(tree, url)
    # Bounded before the readers compare names with it: a huge one costs seconds there.
    og_site_name = clip_line(_meta_content(tree, "og:site_name"), MAX_SITE_NAME)
    html_lang = tree.get("lang") or tree.get("xml:lang")
    meta_titles = [
        _meta_content(tree, "og:title"),
        _meta_content(tree, "twitter:title"),
        *(t.text_content() for t in tree.iter("title")),
        *article_headlines(tree),
    ]
    titles = [readable(clean_line(t)) for t in meta_titles]
    headline, h1 = find_headline(tree, url, titles, [og_site_name, site_label(url)])
    published = find_published(tree, url, anchor=h1)

    quick = _run_trafilatura(tree, url, favor_precision=True, fast=True)
    passes, fuller = 1, None
    if quick is not None and keeps_quick_body(tree, quick):
        precise: str | None = quick.text
    else:
        full = _run_trafilatura(tree, url, favor_precision=True)
        precise, passes = full.text if full else None, 2
        if not precise or needs_second_pass(tree, precise):
            # Precision mode discards short bodies outright; the default settings keep them.
            default = _run_trafilatura(tree, url, favor_precision=False)
            fuller, passes = default.text if default else None, 3
    body = choose_body(precise, fuller) if passes == 3 else precise or ""
    if precise is None and fuller is None:
        return PageReading(
            "",
            None,
            (),
            clean_headline(og_site_name),
            None,
            declared,
            published,
            None,
            html_lang,
            page_type=classify_page(tree, url, "", headline is not None),
            junk=classify_junk(tree, ""),
            passes=passes,
        )
    metadata = TrafilaturaMetadata(tree, url)
    # Markup in a page's metadata (`<i>` in og:site_name, `<b>` in <title>) is removed like
    # markup in feed titles: these columns are plain text.
    site_name = clean_headline(og_site_name) or clip_line(
        clean_headline(metadata.sitename), MAX_SITE_NAME
    )
    junk = classify_junk(tree, body)
    partial = junk is None and is_partial(tree, body)
    if partial:
        body = strip_prompt(body)
    title = readable(clean_headline(headline))
    # trafilatura's title, else the first metadata title that says something: trafilatura
    # cuts a long <title> to "…", and one of invisible characters before its words is long.
    if not title:
        for candidate in (metadata.title, *titles):
            if title or not (candidate := readable(clean_headline(candidate))):
                continue
            candidate = strip_site_suffix(candidate, site_name, metadata.sitename, site_label(url))
            title = readable(strip_title_segments(candidate))
    return PageReading(
        text=unicodedata.normalize("NFC", body).strip(),
        title=title,
        authors=find_authors(
            tree,
            metadata.authors(),
            [site_name, metadata.sitename, site_label(url), hostname(url)],
            anchor=h1,
        ),
        site_name=site_name,
        description=metadata.description,
        declared_url=declared,
        published=published,
        # Only read when the page's own readers found no date, the one case it is used in.
        day=printed_day(metadata.date, html, tree, url) if published[0] is None else None,
        html_lang=html_lang,
        page_type=classify_page(tree, url, body, headline is not None),
        page_text=fuller or precise or "",
        junk=junk,
        partial=partial,
        passes=passes,
    )


def keeps_quick_body(tree: HtmlElement, quick: Document) -> bool:
    """Whether the body of trafilatura's fast pass is the one its full pass would give.

    The fast pass (`fast=True`) leaves out trafilatura's comparison with readability and
    justext, a third of a pass. That comparison replaces trafilatura's own body only when it
    is short (under `MIN_EXTRACTED_SIZE`), holds no paragraph text, is mostly tables, or is
    under half of what readability finds: here, when it leaves out more running text than it
    keeps. On any of these the full pass runs. The fast body is kept on 265 of the 293 corpus
    pages, and on every one it equals the full pass's.
    """
    text, body = quick.text or "", quick.body
    if len(text) < QUICK_MIN_CHARS or body is None or not body.xpath(".//p//text()"):
        return False
    if len(body.findall(".//table")) > len(body.findall(".//p")):
        return False
    flat = " ".join(text.split())
    return left_out(tree, flat) <= len(flat)


def needs_second_pass(tree: HtmlElement, precise: str) -> bool:
    """Whether precision mode's body may be a cut the default settings would not make.

    Precision mode keeps only the first block of some long features, rankings and guides
    (`choose_body`). Such a body leaves out more of the page's running text than it keeps,
    which the default settings mostly keep. A body that leaves out less is kept without a
    pass with the defaults (275 of the 293 corpus pages). Checked against `choose_body` on
    every corpus page: no page it would have changed goes without that pass.
    """
    flat = " ".join(precise.split())
    return left_out(tree, flat) > max(len(flat), FALLBACK_MIN_CHARS)


def left_out(tree: HtmlElement, flat: str) -> int:
    """Characters of the page's running text (`_RUNNING_TEXT`) not in `flat`, a body with its
    whitespace collapsed."""
    count = 0
    for run in _RUNNING_TEXT(tree):
        run = " ".join(run.split())
        if run not in flat:
            count += len(run)
    return count


def choose_body(precise: str | None, fuller: str | None) -> str:
    """Precision mode's body, unless it keeps less than half of what the default settings keep.

    Precision mode drops related-story lists, promos and captions that the default settings let
    through (body F1 0.955 → 0.961 on the aeb-* corpus pages), but on long features, rankings
    and guides it keeps only the first block (wcxb-0140: 0.24 against 0.97). A precise body
    under half the default's length is such a cut, unless the two differ by a few lines only
    (a short news item, where the default's extra lines are a caption or a promo). Chosen on
    one half of the annotated corpus and checked on the other (docs/benchmarks.md, "Body
    extraction").
    """
    precise, fuller = precise or "", fuller or ""
    cut = len(precise) < FALLBACK_SHARE * len(fuller)
    return fuller if cut and len(fuller) - len(precise) > FALLBACK_MIN_CHARS else precise


def _run_trafilatura(
    tree: HtmlElement, url: str, *, favor_precision: bool, fast: bool = False
) -> Document | None:
    """The body trafilatura extracts, without its metadata (`TrafilaturaMetadata` reads that).

    No comments: reader comments are not the article.
    """
    document = trafilatura.bare_extraction(
        tree, url=url, favor_precision=favor_precision, fast=fast, include_comments=False
    )
    return document if isinstance(document, Document) else None


_DATE_PARAMS = set_date_params(extensive=True)


class TrafilaturaMetadata:
    """trafilatura's metadata of a page, each field read when it is first asked for.

    The values are those `bare_extraction(with_metadata=True)` gives, but that reads every
    field (categories, tags and licence included) for half the cost of a pass, and newsdesk's
    own readers answer most fields first: here the meta tags and JSON-LD are read once
    (cheap), and the costly searches of the page (authors, the date, the title) only when a
    field that needs them is used.
    """

    def __init__(self, tree: HtmlElement, url: str) -> None:
        self._tree, self._url = tree, url

    @cached_property
    def _declared(self) -> Document:
        document = trafilatura_metadata.examine_meta(self._tree)
        if document.author and " " not in document.author:
            document.author = None
        # trafilatura guards its JSON-LD reader the same way: it has bugs.
        with contextlib.suppress(Exception):
            document = trafilatura_metadata.extract_meta_json(self._tree, document)
        return document

    @cached_property
    def title(self) -> str | None:
        return _trimmed(self._declared.title or trafilatura_metadata.extract_title(self._tree))

    @cached_property
    def author(self) -> str | None:
        return _trimmed(self._declared.author or trafilatura_metadata.extract_author(self._tree))

    def authors(self) -> Iterator[str]:
        """The author names, read only when a caller iterates over them."""
        yield from (self.author or "").split(";")

    @cached_property
    def description(self) -> str | None:
        return _trimmed(self._declared.description)

    @cached_property
    def url(self) -> str | None:
        return self._declared.url or trafilatura_metadata.extract_url(self._tree, self._url)

    @cached_property
    def sitename(self) -> str | None:
        name = self._declared.sitename or trafilatura_metadata.extract_sitename(self._tree)
        if name:
            name = name.lstrip("@")
            if name and "." not in name and not name[0].isupper():
                name = name.title()
        elif self.url and (match := trafilatura_metadata.META_URL.match(self.url)):
            name = match[1]
        return _trimmed(name)

    @cached_property
    def date(self) -> str | None:
        return _trimmed(trafilatura_metadata.find_date(self._tree, **_DATE_PARAMS, url=self.url))


def _trimmed(value: Any) -> str | None:
    """A metadata string as trafilatura's `Document.clean_and_trim` leaves it."""
    if not isinstance(value, str):
        return value
    if len(value) > 10000:
        value = value[:9999] + "…"
    return line_processing(unescape(value))


def _choose_date(
    entry: FeedEntry, reading: PageReading | None
) -> tuple[datetime | None, DateSource | None, DatePrecision | None]:
    """A page time beats the feed's time, which beats a page day, then a feed day. Never the
    fetch time."""
    page_date, page_precision = reading.published if reading else (None, None)
    if page_date is not None:
        page_date = page_date.astimezone(UTC)
    if page_date is not None and page_precision in ("second", "minute"):
        return page_date, "page", page_precision
    feed_date = entry.published_at
    if feed_date is not None:
        if feed_date.tzinfo is None:  # FeedEntry promises UTC; be lenient with naive values
            feed_date = feed_date.replace(tzinfo=UTC)
        feed_date = feed_date.astimezone(UTC)
        if entry.published_at_precision != "day":
            return feed_date, "feed", "second"
    if page_date is not None:
        return page_date, "page", "day"
    if reading is not None and reading.day is not None:
        return reading.day, "page", "day"
    if feed_date is not None:
        return feed_date, "feed", "day"
    return None, None, None


def declared_canonical(tree: HtmlElement, base_url: str) -> str | None:
    """The page's `<link rel="canonical">`, else its `og:url`, made absolute against `base_url`."""
    for link in tree.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rels and href:
            return urljoin(base_url, href)
    og_url = _meta_content(tree, "og:url")
    return urljoin(base_url, og_url) if og_url else None


def _meta_content(tree: HtmlElement, key: str) -> str | None:
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or "").strip().lower()
        content = (meta.get("content") or "").strip()
        if name == key and content:
            return content
    return None


def strip_site_suffix(title: str, *site_names: str | None) -> str:
    """`Headline | Site`, `Headline - Site`, `Headline – Site` → `Headline`.

    The last segment is dropped when, ignoring case, spaces and punctuation, it equals one of
    `site_names` or the first segment of one ("Columbia Star" for "Columbia Star - Weekly
    news since 1963"). Pass the site's host too, to catch "| UKBDNEWS" on ukbdnews.com.
    """
    separators = list(_SITE_SEPARATOR.finditer(title))
    if not separators:
        return title
    last = separators[-1]
    keys = set()
    for name in site_names:
        if name:
            keys.add(squash(name))
            keys.add(squash(_SITE_SEPARATOR.split(name, maxsplit=1)[0]))
    keys.discard("")
    head = title[: last.start()].rstrip()
    return head if head and squash(title[last.end() :]) in keys else title


def split_authors(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Clean names, dropping empties and case-insensitive duplicates, keeping the order."""
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        cleaned = clean_headline(name)
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            result.append(cleaned)
    return tuple(result)


def content_hash(text: str) -> str:
    """sha256 of the NFC text with whitespace collapsed: layout changes do not count as edits."""
    normalized = " ".join(unicodedata.normalize("NFC", text).split())
    # surrogatepass: a lone surrogate from a badly decoded page must not crash the batch.
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()
