"""The headline of an article page, as its readers see it.

Metadata titles are written for other places: `<title>` carries the site name ("… | Rust
Blog", "… - taz.de"), `og:title` is often a different, social-media headline, and both keep
the kicker that the page prints above the headline ("Klimaschutz: Bohren, bis es heiß wird").
The page's own headline is its main `<h1>`, with the kicker in a child element of its own
(`<span class="dachzeile">`, `article-heading__kicker`) that we leave out.

An `<h1>` is only taken when it looks like the article's headline: not the site's logo, not a
teaser linking elsewhere, not in navigation, and sharing words with at least one of the
metadata titles (so a section heading promoted to `<h1>` inside the text is not taken). When no
`<h1>` qualifies, the metadata title is used, cleaned of trailing "| Section | Site" segments.
Pure functions over an lxml tree; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

from tasks.text import squash

# Children of an <h1> that hold a kicker (German "Dachzeile"/"Spitzmarke", "roofline", …) or
# text for screen readers only ("visually-hidden" colons between kicker and headline).
_KICKER = re.compile(
    r"kicker|dachzeile|spitzmarke|roofline|overline|topline|toptitle|overtitle|uptitle|surtitre"
    r"|eyebrow|supertitle|superline|headline-?label|title-?label|pre-?title"
    r"|section|category|ressort|rubri[kc]",
    re.IGNORECASE,
)
_HIDDEN = re.compile(
    r"visually-?hidden|sr-only|screen-?reader|screenreader|offscreen|a11y-hidden", re.IGNORECASE
)
_NOT_TEXT = frozenset({"script", "style", "svg", "title", "noscript", "template", "button"})
_LOGO_WORDS = frozenset({"newspaper", "magazine", "news", "online", "home", "homepage", "logo"})
_OUTSIDE = frozenset({"nav", "footer", "aside", "form", "button", "noscript", "template"})
_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "at",
        "by",
        "with",
        "from",
        "is",
        "are",
        "was",
        "be",
        "as",
        "it",
        "its",
        "this",
        "that",
        "how",
        "what",
        "why",
        "who",
        "when",
        "where",
        "your",
        "you",
        "our",
        "we",
        "der",
        "die",
        "das",
        "den",
        "dem",
        "des",
        "ein",
        "eine",
        "einer",
        "und",
        "oder",
        "von",
        "zu",
        "im",
        "in",
        "am",
        "an",
        "auf",
        "für",
        "mit",
        "ist",
        "sind",
        "wie",
        "was",
        "warum",
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "du",
        "de",
        "et",
        "en",
        "au",
        "aux",
        "pour",
        "sur",
        "par",
        "est",
        "el",
        "los",
        "las",
        "y",
        "del",
        "con",
        "para",
        "por",
        "es",
        "se",
    ]
)
# Characters that show nothing: zero-width spaces, bidi marks, embeddings, overrides and
# isolates, invisible operators, the BOM, Hangul fillers. ZWJ and ZWNJ (U+200C/D) and variation
# selectors are not among them: Arabic and Indic scripts and emoji need them.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0]+"
)
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_TWO_WORDS = re.compile(r"\S\s+\S")
_PIPE = re.compile(r"\s+[|｜]\s+|\s*[|｜]\s*$")
_MIN_AGREEMENT = 0.34
"""Share of the <h1>'s content words found in some metadata title (prefix-matched)."""


def find_headline(
    tree: HtmlElement,
    url: str,
    meta_titles: Sequence[str | None],
    site_names: Iterable[str | None] = (),
) -> tuple[str | None, HtmlElement | None]:
    """The page's headline and its `<h1>` element, or `(None, None)` when no `<h1>` qualifies."""
    titles = [strip_title_segments(t) for t in meta_titles if t]
    # Words that name the site: its declared names and what `<title>` appends after a pipe.
    site_words = set(_LOGO_WORDS)
    for name in [*site_names, *(t[len(strip_title_segments(t)) :] for t in meta_titles if t)]:
        if name:
            site_words.update(_content_words(name))
            site_words.add(squash(name))
    for h1 in tree.iter("h1"):
        if any(a.tag in _OUTSIDE for a in h1.iterancestors()):
            continue
        text = headline_text(h1)
        if not text or _links_elsewhere(h1, text, url):
            continue
        words = _content_words(text)
        if squash(text) in site_words or (words and set(words) <= site_words):
            continue  # the site's logo or name set as a heading
        if titles and not any(agrees(text, title) for title in titles):
            continue
        return text, h1
    return None, None


def headline_text(h1: HtmlElement) -> str | None:
    """The text of an `<h1>` without its kicker and screen-reader-only parts, on one line."""
    parts: list[str] = []
    _collect(h1, parts, top=True)
    text = readable(" ".join(parts))
    if not text:  # the whole heading was marked up as a kicker: keep it rather than nothing
        text = readable(h1.text_content())
    return text and (readable(unicodedata.normalize("NFC", text).strip(" :|-–—")))


def readable(text: str | None) -> str | None:
    """`text` on one line without invisible characters, or None when it has no letter or digit.

    A headline of zero-width and bidi-control characters, or of punctuation alone ("…",
    "– | –"), says nothing: it is no candidate, and the next one (or the feed's title) is
    taken. Runs of invisible characters go in one pass, so 100,000 of them before the words
    cost what their length costs.
    """
    if not text:
        return None
    text = " ".join(_INVISIBLE.sub("", text).split())
    return text if _LETTER_OR_DIGIT.search(text) else None


def _collect(element: HtmlElement, parts: list[str], *, top: bool = False) -> None:
    if not top:
        marks = f"{element.get('class') or ''} {element.get('id') or ''}"
        if _KICKER.search(marks) or _HIDDEN.search(marks) or element.tag in _NOT_TEXT:
            if element.tail:
                parts.append(element.tail)
            return
    if element.text:
        parts.append(element.text)
    for child in element:
        if isinstance(child.tag, str):
            _collect(child, parts)
        elif child.tail:  # comments and processing instructions keep their tail text
            parts.append(child.tail)
    if not top and element.tail:
        parts.append(element.tail)


def _links_elsewhere(h1: HtmlElement, text: str, url: str) -> bool:
    """A heading that is mostly a link to another page: a teaser or the site's logo."""
    here = urlsplit(url).path.rstrip("/")
    for link in h1.iter("a"):
        href = (link.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        if urlsplit(urljoin(url, href)).path.rstrip("/") == here:
            continue  # a permalink to the article itself
        if len(" ".join(link.text_content().split())) >= 0.6 * len(text):
            return True
    return False


def agrees(headline: str, title: str) -> bool:
    """Whether a metadata title is about the same thing as a headline (shares its words)."""
    if squash(headline) in squash(title):
        return True
    words = _content_words(headline)
    if not words:
        return False
    other = _content_words(title)
    shared = sum(any(w[:5] == o[:5] for o in other) for w in words)
    return shared / len(words) >= _MIN_AGREEMENT


def strip_title_segments(title: str) -> str:
    """`Headline | Section | Site | 23.05.2011` → `Headline`.

    Trailing segments after a pipe are dropped while each is short (at most four words and 30
    characters): sections, site names and dates, not a second half of the headline. Dashes are
    left alone: "Rheinmetall gehackt - Interne Unterlagen im Netz" is a headline with a subtitle.
    """
    # One pass from the end over the separators: a title of 50,000 "| x" segments once took
    # minutes, searched again after each cut.
    two_words = _TWO_WORDS.search(title)
    end = len(title)
    for separator in reversed(list(_PIPE.finditer(title))):
        head_end = separator.start()
        while head_end and title[head_end - 1].isspace():
            head_end -= 1
        tail = title[separator.end() : end].strip()
        if len(tail) > 30 or len(tail.split()) > 4 or not two_words or two_words.end() > head_end:
            break
        end = head_end
    return title[:end]


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold()) if w not in _STOPWORDS]
