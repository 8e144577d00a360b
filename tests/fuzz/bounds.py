"""The bounds every stored value keeps, whatever the page or feed held (issue 18's "bounds that
make nothing up"), as assertions that name the field and the offending characters."""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tasks.models import Article, FeedEntry
from tasks.text import (
    MAX_AGENCY,
    MAX_AUTHOR,
    MAX_AUTHORS,
    MAX_DATELINE,
    MAX_ERROR,
    MAX_HEADLINE,
    MAX_SITE_NAME,
    MAX_SUMMARY,
    MAX_TEXT,
)

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)

SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls but tab and newline, DEL; in one-line fields tab and newline too.
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f]")
# Bidi embeddings, overrides and isolates, and the zero-width characters that are never
# needed (ZWJ and ZWNJ are: scripts such as Bengali use them, one at a time).
INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u180e]|[\u200c\u200d]{2,}")
# HTML's named references (with their semicolon), as literal text.
_NAMES = sorted((n[:-1] for n in html.entities.html5 if n.endswith(";")), key=len, reverse=True)
HTML_ENTITY = re.compile("&(?:" + "|".join(_NAMES) + ");")


def latest_date() -> datetime:
    return datetime.now(UTC) + timedelta(days=2)


def _shown(value: str) -> str:
    return ascii(value if len(value) <= 120 else value[:60] + "…" + value[-60:])


def check_storable(field: str, value: str | None, *, line: bool, limit: int) -> None:
    """`value` can be stored and shown: no lone surrogates, no controls (none at all when it
    is one line), at most `limit` characters."""
    if value is None:
        return
    assert isinstance(value, str), f"{field} is {type(value).__name__}"
    assert not SURROGATE.search(value), f"{field} holds a lone surrogate: {_shown(value)}"
    control = (CONTROL_IN_LINE if line else CONTROL_IN_TEXT).search(value)
    assert not control, f"{field} holds control {control.group()!r}: {_shown(value)}"
    assert len(value) <= limit, f"{field} has {len(value):,} characters (at most {limit:,})"


def check_name(field: str, value: str | None, limit: int) -> None:
    """A headline, a person's or a site's name, a dateline: one line, nothing invisible."""
    check_storable(field, value, line=True, limit=limit)
    if value is not None:
        found = INVISIBLE.search(value)
        assert not found, f"{field} holds invisible {found.group()!r}: {_shown(value)}"


def check_headline(field: str, value: str | None) -> None:
    check_name(field, value, MAX_HEADLINE)
    if value is not None:
        assert any(c.isalnum() for c in value), f"{field} has no letter or digit: {_shown(value)}"


def check_authors(field: str, authors: Iterable[str]) -> None:
    names = list(authors)
    assert len(names) <= MAX_AUTHORS, f"{len(names)} {field} (at most {MAX_AUTHORS})"
    for name in names:
        check_name(field, name, MAX_AUTHOR)


def check_date(field: str, value: datetime | None) -> None:
    if value is not None:
        assert value.tzinfo is not None, f"{field} {value} has no time zone"
        assert EARLIEST <= value <= latest_date(), f"{field} {value} is out of range"


def check_no_entities(field: str, value: str | None, names: Iterable[str] = ()) -> None:
    """No literal reference to an HTML entity, or to one of `names` (a page's own DTD's)."""
    if not value:
        return
    found = HTML_ENTITY.search(value)
    assert not found, f"{field} holds the literal reference {found.group()}: {_shown(value)}"
    for name in names:
        assert f"&{name};" not in value, f"{field} holds the literal reference &{name};"


def check_article(article: Article, entity_names: Iterable[str] = ()) -> None:
    """Everything an article row must keep, whatever its page held."""
    assert isinstance(article, Article)
    check_headline("title", article.title)
    check_authors("authors", article.authors)
    check_name("site_name", article.site_name, MAX_SITE_NAME)
    check_name("dateline", article.dateline, MAX_DATELINE)
    check_name("wire_agency", article.wire_agency, MAX_AGENCY)
    check_storable("text", article.text, line=False, limit=MAX_TEXT)
    check_storable("summary", article.summary, line=False, limit=MAX_SUMMARY)
    check_storable("extraction_error", article.extraction_error, line=True, limit=MAX_ERROR)
    check_storable("language", article.language, line=True, limit=35)
    for field in ("url", "canonical_url"):
        url = getattr(article, field)
        check_storable(field, url, line=True, limit=MAX_TEXT)
        assert url.startswith(("http://", "https://")), f"{field} {_shown(url)} is not http(s)"
    check_date("published_at", article.published_at)
    names = list(entity_names)
    for field in ("title", "text", "summary", "site_name"):
        check_no_entities(field, getattr(article, field), names)
    for name in article.authors:
        check_no_entities("authors", name, names)


def check_entry(entry: FeedEntry) -> None:
    """Everything a feed entry must keep, whatever its feed held."""
    assert isinstance(entry, FeedEntry)
    check_storable("url", entry.url, line=True, limit=MAX_TEXT)
    assert entry.url.startswith(("http://", "https://")), f"url {_shown(entry.url)} is relative"
    check_storable("guid", entry.guid, line=False, limit=MAX_TEXT)
    check_name("title", entry.title, MAX_HEADLINE)
    check_authors("authors", entry.authors)
    check_storable("summary", entry.summary, line=False, limit=MAX_TEXT)
    check_storable("content", entry.content, line=False, limit=MAX_TEXT)
    check_storable("language", entry.language, line=True, limit=35)
    check_date("published_at", entry.published_at)
    check_date("updated_at", entry.updated_at)
