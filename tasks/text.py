"""Display text: one clean line, no markup, no control or invisible characters."""

from __future__ import annotations

import re
import unicodedata

# Cc (controls) except whitespace, which is collapsed instead, plus invisible characters that
# leak from CMSs into headlines and bylines. ZWJ/ZWNJ are kept: scripts such as Bengali need them.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff\u00ad]")
_TAG = re.compile(r"<[A-Za-z/!][^>]*>")


def clean_line(value: str | None) -> str | None:
    """One line of display text: no control or invisible characters, whitespace collapsed."""
    if not value:
        return None
    cleaned = " ".join(_INVISIBLE.sub("", unicodedata.normalize("NFC", value)).split())
    return cleaned or None


def clean_headline(value: str | None) -> str | None:
    """A feed title as plain text: tags removed (feeds do put `<em>` in titles), one line.

    Controls go first and tags are removed until none is left, so neither `<\x07b>` nor
    `<<b>b>` turns into a tag on the way out.
    """
    if not value:
        return None
    value = _INVISIBLE.sub("", value)
    while _TAG.search(value):
        value = _TAG.sub("", value)
    return clean_line(value)


def clean_text(value: str) -> str:
    """Body text from a feed: NFC, no stray control characters, trimmed."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", value)).strip()


# Longest values kept in the one-line text columns (README, "Schema"). Real headlines run to
# ~200 characters and names to ~60; a 200,000-character <title> is a broken or hostile page.
MAX_HEADLINE = 300
MAX_SITE_NAME = 200
MAX_AUTHOR = 100
MAX_AUTHORS = 30
MAX_DATELINE = 100
MAX_SUMMARY = 2000


def clip_line(value: str | None, limit: int) -> str | None:
    """`value` if it has at most `limit` characters, else its start cut at a word and `…`.

    Text without spaces (Chinese, Japanese) is cut at a character. The result, ellipsis
    included, has at most `limit` characters.
    """
    if value is None or len(value) <= limit:
        return value
    head = value[: limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:-–—") + "…"
