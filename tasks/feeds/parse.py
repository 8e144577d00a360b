"""Feed bodies (RSS 0.9x/1.0/2.0, Atom, JSON Feed, news sitemaps) to `ParsedFeed`: bytes in,
dataclasses out.

Nothing here touches the network: feedparser always receives a byte stream (a bare `bytes`
argument is tried as a *file name* first, so we wrap it in `BytesIO`), and links are resolved
by `tasks.urls.normalize_url`, not by feedparser. `sanitize_html=False` and
`resolve_relative_uris=False` make feedparser about twice as fast; we turn HTML into plain text
ourselves, so its sanitizer would be wasted work.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import pyexpat
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser
import feedparser.api
import lxml.html
from lxml import etree

from tasks.encoding import detect_legacy_encoding
from tasks.feeds.dates import has_time_of_day, impossible_day
from tasks.feeds.sitemap import parse_sitemap, parse_sitemap_index, sitemap_kind
from tasks.models import DatePrecision, FeedEntry, ParsedFeed
from tasks.text import (
    CONTROL,
    clean_line,
    join_lines,
    language_code,
    plain_text,
    repair_mojibake,
    split_authors,
)
from tasks.urls import normalize_url

__all__ = ["feed_authors", "html_to_text", "parse_feed"]

_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# expat with buffered text (see tasks/expat_buffered.py) before the drivers feedparser knows.
if "tasks.feeds.expat_buffered" not in feedparser.api.PREFERRED_XML_PARSERS:
    feedparser.api.PREFERRED_XML_PARSERS.insert(0, "tasks.feeds.expat_buffered")

_GZIP_MAGIC = b"\x1f\x8b"
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_XML_WHITESPACE = b" \t\r\n"
# A numeric character reference: feedparser's lenient parser crashes on ones that name no
# character (a lone surrogate such as &#xD800;, or anything past U+10FFFF).
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL)
# Expat 2.4.0 added limits on entity expansion ("billion laughs"); feedparser keeps simple
# internal entities of a DOCTYPE and hands them to expat. Older expat gets no DOCTYPE at all.
_EXPAT_LIMITS_EXPANSION = pyexpat.version_info >= (2, 4, 0)

# Elements whose start and end are line breaks in the plain text.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "iframe", "object"})
_TAG = re.compile(r"<[^>]*>")
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_feed(
    feed_name: str,
    body: bytes,
    base_url: str,
    content_type: str | None = None,
    default_language: str | None = None,
    parts: Sequence[bytes] = (),
) -> ParsedFeed:
    """Parse one feed body into entries with absolute, normalized links and plain text.

    A news sitemap is read by `tasks.feeds.sitemap`; for a sitemap index, `parts` are the
    bodies of the sitemaps it lists, fetched with it.

    `base_url` is where the body was fetched from; relative links resolve against the entry's
    xml:base, else the feed's own site link, else `base_url`. A body that yields entries
    despite errors is usable with `problem` set; one that yields nothing and has errors (an
    HTML page, gzip bytes, truncated JSON) is `usable=False`.
    """
    media_type, charset = _parse_content_type(content_type)
    if body[:2] == _GZIP_MAGIC:
        return ParsedFeed(feed_name, usable=False, problem="not a feed: gzip-compressed body")
    try:
        kind = sitemap_kind(body)
        if kind == "urlset":
            return parse_sitemap(feed_name, body, base_url, default_language)
        if kind == "sitemapindex":
            return parse_sitemap_index(feed_name, parts, base_url, default_language)
        if _looks_like_json(body, media_type):
            return _parse_json_feed(feed_name, body, base_url, default_language)
        return _parse_xml_feed(feed_name, body, base_url, charset, default_language)
    except Exception as exc:
        # The parsers read untrusted bytes; one feed that trips a bug in them (the fuzz tests
        # found a few in feedparser) must fail alone, not sink the run.
        return ParsedFeed(
            feed_name, usable=False, problem=f"not a feed: parser failed: {_describe_bozo(exc)}"
        )


def html_to_text(markup: str | None) -> str | None:
    """Plain text of an HTML fragment: entities decoded, one line per block element.

    Runs of whitespace inside a line become one space; empty lines are dropped; control
    characters are removed and the result is NFC-normalized. None for empty results.
    """
    if not markup:
        return None
    markup = repair_mojibake(markup)
    markup = CONTROL.sub("", markup.replace("\r\n", "\n").replace("\r", "\n"))
    if "<" not in markup and "&" not in markup:
        return join_lines(markup)
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return join_lines(html.unescape(_TAG.sub(" ", markup)))
    return join_lines("".join(_text_chunks(root)))


def _text_chunks(root: Any) -> Iterator[str]:
    # An explicit stack instead of recursion: feed HTML can nest deeper than Python's limit.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        element, closing = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else None
        if closing:
            if tag in _BLOCK_TAGS:
                yield "\n"
            if element.tail and element is not root:
                yield element.tail
            continue
        if tag is None or tag in _SKIP_TAGS:  # comments, processing instructions, scripts
            if element.tail:
                yield element.tail
            continue
        if tag in _BLOCK_TAGS:
            yield "\n"
        if element.text:
            yield element.text
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))


def _plain_text(value: str | None, content_type: str | None = None) -> str | None:
    """Text of a feed field; HTML unless feedparser says it is plain text.

    Plain-text fields keep a literal "<" but still get entities decoded, because double
    escaping (`&amp;amp;`) is common in titles.
    """
    if not value:
        return None
    if content_type == "text/plain":
        return plain_text(value)
    return html_to_text(value)


def _one_line(text: str | None) -> str | None:
    # clean_line, as headlines from pages get: a zero-width no-break space inside a real
    # feed's title (nnw-phpxml_rss.xml) went into `feed_entries.entry_title`.
    return clean_line(text)


# ---------------------------------------------------------------- XML feeds (feedparser)


def _parse_xml_feed(
    feed_name: str,
    body: bytes,
    base_url: str,
    charset: str | None,
    default_language: str | None,
) -> ParsedFeed:
    body = _CHARREF.sub(_valid_charref, _strip_leading_whitespace(body))
    if not _EXPAT_LIMITS_EXPANSION:
        body = _DOCTYPE.sub(b"", body, count=1)
    headers = {}
    charset = "utf-8" if _is_utf8(body) else _legacy_charset(body, charset)
    if charset:
        # Only the charset of the HTTP header is worth passing on. feedparser applies RFC
        # 3023 to the media type: text/xml without a charset would mean US-ASCII, and any
        # non-XML type (text/html, application/octet-stream, both common for feeds) would
        # set bozo on a perfectly good feed.
        headers["content-type"] = f"application/xml; charset={charset}"
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    problem = _describe_bozo(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    feed = parsed.get("feed", {})
    if not parsed.entries and (problem or not parsed.get("version")):
        reason = problem or "no RSS, Atom or RDF root element"
        return ParsedFeed(feed_name, usable=False, problem=f"not a feed: {reason}")

    site = normalize_url(feed.get("link") or "", base_url) or normalize_url(base_url) or base_url
    language = language_code(feed.get("language")) or language_code(default_language)
    # Atom: an entry without <author> inherits the feed's (RFC 4287 section 4.2.1). RSS's
    # managingEditor is not the author of each item, so RSS entries inherit nothing.
    inherited = _authors(feed) if parsed.get("version", "").startswith("atom") else ()
    feed_urls = _feed_document_urls(feed, base_url)
    entries = (
        _xml_entry(feed_name, entry, site, feed_urls, language, inherited)
        for entry in parsed.entries
    )
    return ParsedFeed(
        feed_name,
        entries=_dedupe(entries),
        problem=problem,
        title=_one_line(_plain_text(feed.get("title"), _detail_type(feed, "title"))),
        language=language,
        update_hint=_update_hint(feed),
    )


# sy:updatePeriod (RSS 1.0 Syndication module): the period sy:updateFrequency divides.
_UPDATE_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2629800}
_UPDATE_PERIODS["yearly"] = 12 * _UPDATE_PERIODS["monthly"]


def _update_hint(feed: Mapping[str, Any]) -> float | None:
    """Seconds between updates the feed announces: the longer of RSS `<ttl>` (minutes) and
    `sy:updatePeriod` / `sy:updateFrequency`; None when it announces neither (or nonsense)."""
    hints = []
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        hints.append(int(ttl) * 60.0)
    period = _UPDATE_PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    frequency = str(feed.get("sy_updatefrequency") or "1").strip()
    if period and frequency.isdigit() and int(frequency) > 0:
        hints.append(period / int(frequency))
    return max(hints, default=None)


def _xml_entry(
    feed_name: str,
    entry: dict[str, Any],
    site: str,
    feed_urls: frozenset[str],
    language: str | None,
    inherited: tuple[str, ...],
) -> FeedEntry | None:
    url = normalize_url(entry.get("link") or "", site)
    if url is None or url in feed_urls:
        # No link, or `href=""` resolved to the feed itself: an http(s) id is the
        # permalink (WordPress `?p=123`, RSS guid), a tag: URI is not.
        url = normalize_url(entry.get("id") or "")
        if url is None or url in feed_urls:
            return None
    contents = entry.get("content") or []
    content_texts = (_plain_text(c.get("value"), c.get("type")) for c in contents)
    content = max((t for t in content_texts if t), key=len, default=None)
    published_at, written = _entry_date(entry, "published"), "published"
    if published_at is None:
        published_at, written = _entry_date(entry, "updated"), "updated"
    return FeedEntry(
        feed_name=feed_name,
        url=url,
        guid=_guid(entry.get("id")),
        title=_one_line(_plain_text(entry.get("title"), _detail_type(entry, "title"))),
        summary=_plain_text(entry.get("summary"), _detail_type(entry, "summary")),
        content=content,
        published_at=published_at,
        authors=_authors(entry) or inherited,
        language=language,
        updated_at=_entry_date(entry, "updated"),
        published_at_precision=_precision(published_at, dict.get(entry, written)),
    )


def _feed_document_urls(feed: Mapping[str, Any], base_url: str) -> frozenset[str]:
    """URLs of the feed document itself, which are never an entry's article."""
    candidates = [base_url, (feed.get("title_detail") or {}).get("base") or ""]
    candidates += [
        link.get("href") or "" for link in feed.get("links") or () if link.get("rel") == "self"
    ]
    return frozenset(u for u in map(normalize_url, candidates) if u)


def _detail_type(item: Mapping[str, Any], key: str) -> str | None:
    detail = item.get(f"{key}_detail")
    return detail.get("type") if detail else None


def _authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    # feedparser puts every <author>, <dc:creator> and Atom <author><name> in `authors`
    # (names split from "jane@example.com (Jane Doe)"), and the last one alone in `author`.
    # feedparser's own split of "address (Name)" is unreliable (it returned the name
    # "stries (Jonas Große Sundrup" for "jonas@insanity.industries (Jonas Große Sundrup)"),
    # so a single author is read from the raw `author` text.
    people = item.get("authors") or ()
    raw = [p.get("name") or "" for p in people]
    if len(people) <= 1 and item.get("author"):
        raw = [item["author"]]
    return feed_authors(raw)


def _entry_date(entry: dict[str, Any], key: str) -> datetime | None:
    """The entry's `published` or `updated` date, None when it names an impossible day."""
    if impossible_day(dict.get(entry, key)):
        return None
    # dict.get: FeedParserDict.get maps updated_parsed to published_parsed, with a warning.
    return _struct_to_utc(dict.get(entry, f"{key}_parsed"))


def _struct_to_utc(value: Any) -> datetime | None:
    # feedparser's *_parsed are struct_time already converted to UTC.
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = value[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _precision(published_at: datetime | None, written: Any) -> DatePrecision:
    """ "day" for a date the feed wrote without a time of day: its midnight is not an instant."""
    if published_at is not None and not has_time_of_day(
        written if isinstance(written, str) else None
    ):
        return "day"
    return "second"


def _describe_bozo(exc: BaseException | None) -> str:
    if exc is None:
        return "malformed feed"
    if isinstance(exc, SAXParseException):
        message = f"malformed XML at line {exc.getLineNumber()}, column "
        message += f"{exc.getColumnNumber()}: {exc.getMessage()}"
    else:
        message = f"{type(exc).__name__}: {exc}"
    return (" ".join(message.split()))[:200]


def _valid_charref(match: re.Match[bytes]) -> bytes:
    hex_digits, decimal = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return b"&#xFFFD;"
    return match.group(0)


def _strip_leading_whitespace(body: bytes) -> bytes:
    # Whitespace before <?xml is a fatal error for the strict XML parser, and feedparser's
    # lenient fallback is less faithful; a dozen real feeds do it. UTF-16/32 bodies are left
    # alone because the stripped result would not start with "<".
    stripped = body.lstrip(_XML_WHITESPACE)
    return stripped if stripped[:1] == b"<" else body


def _is_utf8(body: bytes) -> bool:
    """Whether the body is UTF-8, whatever it declares.

    Non-ASCII text in a legacy encoding is almost never valid UTF-8, while feeds that are
    UTF-8 but declare ISO-8859-1 or windows-1252 are a classic source of mojibake. NUL bytes
    mean UTF-16/32, which feedparser detects on its own.
    """
    if b"\x00" in body[:4]:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _legacy_charset(body: bytes, http_charset: str | None) -> str | None:
    """The charset of a feed that is not UTF-8: the declared one if the bytes fit it, else
    the detected legacy encoding of a non-Latin script, else `http_charset` (feedparser then
    tries the XML declaration, UTF-8, windows-1252 and ISO-8859-2 in turn).

    A single-byte declaration always "fits", so a feed that says ISO-8859-1 is read as
    ISO-8859-1; the detector decides only for feeds that declare nothing, or a charset that
    their bytes break (UTF-8 over KOI8-R, GB2312 over Big5).
    """
    if body[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or b"\x00" in body[:4]:
        return http_charset  # UTF-16/32: feedparser reads the BOM or the zero bytes
    match = _XML_ENCODING.match(body.removeprefix(codecs.BOM_UTF8)[:256])
    declared = [http_charset, match.group(1).decode("ascii") if match else None]
    for name in filter(None, declared):
        try:
            body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        return http_charset
    return detect_legacy_encoding(body) or http_charset


# ---------------------------------------------------------------- JSON feeds


def _looks_like_json(body: bytes, media_type: str | None) -> bool:
    # The body wins over the header: servers label XML feeds application/json and back.
    start = body[:64]
    for bom in _BOMS:
        start = start.removeprefix(bom)
    first = start.lstrip(_XML_WHITESPACE)[:1]
    return first == b"{" or (media_type in _JSON_TYPES and first != b"<")


def _parse_json_feed(
    feed_name: str, body: bytes, base_url: str, default_language: str | None
) -> ParsedFeed:
    """JSON Feed 1.0/1.1, and Dave Winer's RSS-in-JSON (`{"rss": {"channel": ...}}`)."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except RecursionError:
        return ParsedFeed(feed_name, usable=False, problem="not a feed: JSON nested too deeply")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        message = _describe_bozo(exc).split(": ", 1)[-1]
        return ParsedFeed(feed_name, usable=False, problem=f"not a feed: invalid JSON: {message}")
    if not isinstance(document, dict):
        return ParsedFeed(feed_name, usable=False, problem="not a feed: JSON is not an object")
    document = _without_lone_surrogates(document)
    if isinstance(document.get("rss"), dict):
        return _parse_rss_in_json(feed_name, document["rss"], base_url, default_language)
    items = document.get("items")
    if not isinstance(items, list):
        return ParsedFeed(feed_name, usable=False, problem="not a feed: JSON without items")

    site = _json_url(document.get("home_page_url"), base_url) or normalize_url(base_url)
    site = site or base_url
    language = language_code(document.get("language")) or language_code(default_language)
    inherited = _json_authors(document)
    entries = (
        _json_entry(feed_name, item, site, language, inherited)
        for item in items
        if isinstance(item, dict)
    )
    return ParsedFeed(
        feed_name,
        entries=_dedupe(entries),
        problem=None if "version" in document else "JSON Feed without a version",
        title=_one_line(_plain_text(_json_str(document.get("title")), "text/plain")),
        language=language,
    )


def _json_entry(
    feed_name: str,
    item: Mapping[str, Any],
    site: str,
    language: str | None,
    inherited: tuple[str, ...],
) -> FeedEntry | None:
    url = _json_url(item.get("url"), site) or _json_url(item.get("external_url"), site)
    if url is None:
        return None
    content_html = _json_str(item.get("content_html"))
    content = (
        html_to_text(content_html)
        if content_html
        else _plain_text(_json_str(item.get("content_text")), "text/plain")
    )
    published, written = _parse_date(item.get("date_published")), item.get("date_published")
    if published is None:
        published, written = _parse_date(item.get("date_modified")), item.get("date_modified")
    guid = item.get("id")
    return FeedEntry(
        feed_name=feed_name,
        url=url,
        guid=_guid(guid),
        # JSON Feed titles are plain text, but publishers paste HTML into them anyway.
        title=_one_line(html_to_text(_json_str(item.get("title")))),
        summary=html_to_text(_json_str(item.get("summary"))),
        content=content,
        published_at=published,
        authors=_json_authors(item) or inherited,
        language=language_code(item.get("language")) or language,
        updated_at=_parse_date(item.get("date_modified")),
        published_at_precision=_precision(published, written),
    )


def _parse_rss_in_json(
    feed_name: str, rss: Mapping[str, Any], base_url: str, default_language: str | None
) -> ParsedFeed:
    channel = rss.get("channel")
    if not isinstance(channel, dict):
        return ParsedFeed(
            feed_name, usable=False, problem="not a feed: RSS-in-JSON without channel"
        )
    items = channel.get("item") or []
    items = [items] if isinstance(items, dict) else items
    site = _json_url(channel.get("link"), base_url) or normalize_url(base_url) or base_url
    language = language_code(channel.get("language")) or language_code(default_language)
    entries: list[FeedEntry | None] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        guid = item.get("guid")
        guid = guid.get("#value") or guid.get("value") if isinstance(guid, dict) else guid
        link = _json_url(item.get("link"), site)
        if link is None and isinstance(guid, str):
            link = _json_url(guid, site)
        if link is None:
            entries.append(None)
            continue
        published = _parse_date(item.get("pubDate"))
        entries.append(
            FeedEntry(
                feed_name=feed_name,
                url=link,
                guid=_guid(_json_str(guid)),
                title=_one_line(html_to_text(_json_str(item.get("title")))),
                summary=html_to_text(_json_str(item.get("description"))),
                published_at=published,
                authors=feed_authors([_json_str(item.get("author")) or ""]),
                language=language,
                published_at_precision=_precision(published, item.get("pubDate")),
            )
        )
    return ParsedFeed(
        feed_name,
        entries=_dedupe(entries),
        title=_one_line(html_to_text(_json_str(channel.get("title")))),
        language=language,
    )


def _without_lone_surrogates(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every lone surrogate in its values replaced by U+FFFD (keys are only
    looked up), as the XML path
    does with `&#xD800;`: JSON escapes them validly (`"\\udc00"`), and one in a title or an id
    made the run fail where it met UTF-8 (the warehouse lookup, the Arrow table)."""
    stack: list[Any] = [document]
    while stack:  # a loop, not recursion: the document may nest as deep as json allows
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(pairs):
            if isinstance(value, str):
                if _SURROGATE.search(value):
                    node[key] = _SURROGATE.sub("\ufffd", value)
            elif isinstance(value, dict | list):
                stack.append(value)
    return document


def _guid(value: Any) -> str | None:
    """An entry's id as stored: without control characters (a flipped byte or a `&#x1;` kept
    them), otherwise as written, since it identifies the entry across polls."""
    if value is None:
        return None
    return CONTROL.sub("", str(value)).strip() or None


def _json_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _json_url(value: Any, base: str) -> str | None:
    return normalize_url(value, base) if isinstance(value, str) else None


def _json_authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    # 1.1 has "authors": [{"name": ...}]; 1.0 had a single "author" object.
    people = item.get("authors")
    if not isinstance(people, list):
        people = [item.get("author")]
    names = []
    for person in people:
        if isinstance(person, dict):
            names.append(_json_str(person.get("name")) or "")
        elif isinstance(person, str):
            names.append(person)
    return feed_authors(names)


def _parse_date(value: Any) -> datetime | None:
    """RFC 3339 (JSON Feed) or RFC 822 (RSS-in-JSON) to aware UTC; naive means UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------- shared helpers


def feed_authors(raw: Iterable[str]) -> tuple[str, ...]:
    """Author names from feed fields (plain text, entities decoded), split into people
    (`tasks.text.split_authors`)."""
    return split_authors(plain_text(value) if value else None for value in raw)


def _parse_content_type(content_type: str | None) -> tuple[str | None, str | None]:
    if not content_type:
        return None, None
    media_type, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return media_type.strip().lower() or None, charset


def _dedupe(entries: Iterable[FeedEntry | None]) -> tuple[FeedEntry, ...]:
    """Drop missing entries and repeated links; the first entry with a link wins."""
    seen: dict[str, FeedEntry] = {}
    for entry in entries:
        if entry is not None and entry.url not in seen:
            seen[entry.url] = entry
    return tuple(seen.values())
