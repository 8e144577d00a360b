"""Text hygiene, the one home of it: clean lines and headlines, plain-text fields, mojibake
repaired, author names split into people. Shared by the feeds and page stages."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

# Cc (controls) except whitespace, which is collapsed instead, plus invisible characters that
# leak from CMSs into headlines and bylines. ZWJ/ZWNJ are kept: scripts such as Bengali need them.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff\u00ad]")
_TAG = re.compile(r"<[A-Za-z/!][^>]*>")
# C0 and C1 controls except tab and newline, DEL, and non-characters; a bare CR becomes "\n".
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
# UTF-8 lead byte read as Latin-1 followed by a continuation byte, or "â€" (curly quotes).
_MOJIBAKE = re.compile("[ÂÃÐÑ][\x80-\xbf]|â€")
# Starts only where a run of address characters starts, and takes the run possessively: a
# search over a name of 100,000 characters without a space would otherwise try every start
# and cost minutes.
_EMAIL = re.compile(r"(?<![^\s()<>\[\],;])[^\s()<>\[\],;@]++@[^\s()<>\[\],;]+\.[^\s()<>\[\],;]+")
_AUTHOR_SEPARATORS = re.compile(r"\s*;\s*|\s*\|\s*|\s+(?:and|&|und|et)\s+", re.IGNORECASE)
_BYLINE = re.compile(r"^(?:(?:by|von|par|por)\s+|author:\s*)", re.IGNORECASE)
# "M.", "K. T.", "J.-P.": the given-name part of "Surname, Initials" bylines. Possessive, so
# that the spaces between initials are split one way only: `(?:\s*-?\s*)` let a long byline
# of spaced initials that fails at its end backtrack for hours.
_INITIALS = re.compile(r"(?:[^\W\d_]{1,2}\.\s*+-?\s*+)+|[A-Z]{1,3}")
# "Jane Doe, Jr." must not be split at its comma.
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "md", "phd", "ph.d."})


def squash(text: str) -> str:
    """Letters and digits only, compatibility-folded and casefolded: a key under which
    "Tages­schau.de", "TAGESSCHAU DE" and "tagesschau-de" are one name."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def language_code(code: object) -> str | None:
    """Primary subtag, lower-cased: `en-US`, `EN_gb`, ` de ` → `en`, `en`, `de`; empty,
    non-alphabetic or not a string → None."""
    if not isinstance(code, str) or not code.strip():
        return None
    primary = code.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary.isascii() and primary.isalpha() and 2 <= len(primary) <= 3 else None


def clean_line(value: str | None) -> str | None:
    """One line of display text: no control or invisible characters, whitespace collapsed."""
    if not value:
        return None
    cleaned = " ".join(_INVISIBLE.sub("", unicodedata.normalize("NFC", value)).split())
    return cleaned or None


def clean_headline(value: str | None) -> str | None:
    """A headline or a name, from a feed or a page's metadata, as plain text: tags removed
    (feeds do put `<em>` in titles), one line.

    Entity references left after the parser's own decoding (double escaping, `&amp;amp;`, as
    common in `<title>` and `og:site_name` as in feeds) are decoded first, as `plain_text`
    does. Then controls go, and tags are removed until none is left, so neither `<\x07b>`
    nor `<<b>b>` turns into a tag on the way out.
    """
    if not value:
        return None
    for _ in range(3):  # each pass undoes one escaping; a name nothing decodes stops it
        if not _ENTITY.search(value) or (decoded := html.unescape(value)) == value:
            break
        value = decoded
    value = _INVISIBLE.sub("", value)
    while _TAG.search(value):
        value = _TAG.sub("", value)
    return clean_line(value)


def clean_text(value: str) -> str:
    """Body text from a feed: NFC, no stray control characters, trimmed."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", value)).strip()


def plain_text(value: str) -> str | None:
    """A plain-text field: mojibake repaired, entities decoded (double escaping such as
    `&amp;amp;` is common in titles) but a literal "<" kept, controls removed, lines joined."""
    value = repair_mojibake(value)
    if _ENTITY.search(value):
        value = html.unescape(value)
    return join_lines(CONTROL.sub("", value))


def join_lines(text: str) -> str | None:
    # Controls again: character references (`&#8;`) become control characters only now.
    text = CONTROL.sub("", text.replace("\r", "\n"))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    joined = "\n".join(line for line in lines if line)
    return unicodedata.normalize("NFC", joined) or None


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as Latin-1/windows-1252 ("BrÃ¸ndby" to "Brøndby").

    Feeds mix encodings: feedkit-Ampersand.xml is ISO-8859-1 with one UTF-8 description.
    The repair is kept only when the whole string round-trips, so correct text is never
    touched. It runs before whitespace and controls are cleaned, because a misread "à" ends
    in U+00A0 and a misread "”" in the C1 control U+009D.
    """
    if not _MOJIBAKE.search(text):
        return text
    raw = bytearray()
    for char in text:
        try:
            raw += char.encode("cp1252")
        except UnicodeEncodeError:
            # Five bytes are undefined in windows-1252; decoders pass them through as C1.
            if ord(char) > 0xFF:
                return text
            raw.append(ord(char))
    if raw[-1:] in (b"\xc2", b"\xc3"):
        # feedparser strips the field, and str.strip() eats the U+00A0 that was the second
        # half of a misread no-break space ("Â\xa0") or "à" ("Ã\xa0").
        raw.append(0xA0)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text


def split_authors(raw: Iterable[str | None]) -> tuple[str, ...]:
    """Author names (plain text) split into people, e-mail addresses removed.

    Splits on ";", "|", " and ", " & " (and German/French "und"/"et"; not Spanish "y",
    which joins compound surnames). Commas are ambiguous, so they split only in two shapes:
    "Surname, Initials" lists ("Ash, C., Mueller, K. L." gives "Ash, C." and "Mueller,
    K. L.") and lists whose every part has two words or an initial ("Jane Doe, R.Scheer").
    "Doe, Jane" (one person, surname first) and "Jane Doe, Jr." stay whole.
    "jane@example.com (Jane Doe)" and "Jane Doe <jane@example.com>" give "Jane Doe"; a bare
    address gives nothing, since an address is not a name. A leading "By " is dropped.
    Order kept, duplicates removed.
    """
    names: dict[str, None] = {}
    for value in raw:
        text = value
        if not text:
            continue
        text = _BYLINE.sub("", " ".join(text.split()))
        for part in _AUTHOR_SEPARATORS.split(text):
            for name in _split_on_commas(part):
                name = _clean_name(name)
                if name:
                    names.setdefault(name, None)
    return tuple(names)


def _split_on_commas(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1:
        return parts
    if len(parts) % 2 == 0 and all(_INITIALS.fullmatch(p) for p in parts[1::2]):
        pairs = zip(parts[::2], parts[1::2], strict=True)
        return [f"{surname}, {initials}" for surname, initials in pairs]
    if any(p.lower() in _SUFFIXES or _INITIALS.fullmatch(p) for p in parts):
        return [text]
    if all(len(p.split()) >= 2 or "." in p.rstrip(".") for p in parts):
        return parts
    return [text]


def _clean_name(name: str) -> str:
    name = _EMAIL.sub("", name.replace("mailto:", ""))
    name = re.sub(r"\(\s*\)|<\s*>|\[\s*\]", "", name)
    name = name.strip(" \t,;:-–—\"'")
    # "(Jane Doe)" left over from "jane@example.com (Jane Doe)"; "Jakub Alba (yakubin)" stays.
    if name.startswith("(") and name.endswith(")") and name.count("(") == 1:
        name = name[1:-1].strip()
    return name if any(c.isalpha() for c in name) else ""


# Longest values kept in the text columns (README, "Schema"). Real headlines run to ~200
# characters and names to ~60; a 200,000-character <title> is a broken or hostile page. The
# longest bodies of the shared corpus run to ~60,000 characters (a long feature); a body of
# megabytes is a page that is not an article, or one word repeated.
MAX_HEADLINE = 300
MAX_SITE_NAME = 200
MAX_AUTHOR = 100
MAX_AUTHORS = 30
MAX_DATELINE = 100
MAX_AGENCY = 100
MAX_SUMMARY = 2000
MAX_ERROR = 500
MAX_LANGUAGE = 35
"""A BCP 47 tag's practical longest (RFC 5646, 4.4.1); stored codes are two or three letters."""
MAX_TEXT = 300_000

# What no stored string holds: lone surrogates (which cannot be encoded, so neither Arrow nor
# DuckDB takes them), C0 controls but tab and newline, DEL, C1 controls and non-characters.
_UNSTORABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
# What a one-line field (a headline, a name) holds neither: tab and newline, and the invisible
# characters that reorder or hide its text: bidi marks, embeddings, overrides and isolates,
# zero-width spaces, word joiners, byte-order marks, soft hyphens.
_UNSEEN = re.compile(
    "[\\t\\n\\u00ad\\u061c\\u200b\\u200e\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u180e\\ufeff]"
)
# ZWNJ and ZWJ shape scripts such as Bengali and Persian between two letters: one is kept there,
# a run of them or one beside a space never is.
_JOINERS = re.compile(
    "(?<![^\\s])[\\u200c\\u200d]+|[\\u200c\\u200d]+(?![^\\s])|(?<=[\\u200c\\u200d])[\\u200c\\u200d]+"
)


def storable(value: str | None, limit: int | None = None, *, line: bool = True) -> str | None:
    """`value` as every stored string is: encodable, free of controls, at most `limit` characters.

    The one guard between whatever a page or feed holds and the warehouse, applied where the
    models are built (`tasks.models`), so no single odd string can fail a batch's write. A
    surrogate pair left split (`"\\ud83d\\ude00"` from a JSON escape) is joined into its
    character; a lone surrogate, a C0 or C1 control (but tab and newline in text) and a
    non-character are dropped. A one-line field (`line`) also loses tabs, newlines and the
    invisible characters that reorder or hide text (bidi overrides, zero-width runs), and its
    spaces are collapsed; a value left without a visible character is None. Over `limit`, the
    value is cut at a word (`clip_line`) or, for text, at a paragraph (`clip_text`).
    """
    if value is None:
        return None
    if _UNSTORABLE.search(value) is not None:
        value = _SURROGATE_PAIR.sub(_join_pair, value)
        value = _UNSTORABLE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    if line:
        if _UNSEEN.search(value) is not None:
            value = _UNSEEN.sub(" ", value)
        value = " ".join(value.split())
        if "\u200c" in value or "\u200d" in value:
            value = " ".join(_JOINERS.sub("", value).split())
        if not value:
            return None
    if limit is not None and len(value) > limit:
        value = clip_line(value, limit) if line else clip_text(value, limit)
    return value


def storable_names(names: Iterable[str], limit: int, most: int) -> tuple[str, ...]:
    """At most `most` names, each `storable` within `limit`; names left empty are dropped."""
    kept = (storable(name, limit) for name in names)
    return tuple(name for name in kept if name)[:most]


def _join_pair(pair: re.Match[str]) -> str:
    return pair[0].encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def clip_text(value: str, limit: int) -> str:
    """`value` if it has at most `limit` characters, else its start cut at the last paragraph
    break in the last tenth, else at a space there, else at `limit`; the result ends in `…` and
    has at most `limit` characters."""
    if len(value) <= limit:
        return value
    head = value[: limit - 1]
    for stop in ("\n", " "):
        cut = head.rfind(stop)
        if cut >= limit * 9 // 10:
            head = head[:cut]
            break
    return head.rstrip() + "…"


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
