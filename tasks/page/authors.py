"""Author names of an article page, as a clean list of people.

Pages state their authors in several places of uneven quality: JSON-LD `author`, `<meta
name="author">`, trafilatura's byline heuristics, and the byline printed under the headline.
Each source brings its own noise: job titles ("Harry Rabinowitz Tech Reporter"), link labels
("View all posts by Daniel Lemire"), placeholders ("admin", "No Author", "Name"), the publisher
("Tagesschau De"), date fragments ("Dec"). `clean_bylines` removes those; `find_authors` takes
the first source that still names someone. Pure functions over an lxml tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from lxml.html import HtmlElement

from tasks.page import jsonld
from tasks.page.wire import normalize_agency
from tasks.text import clean_headline, plain_text, split_authors, squash

_PREFIX = re.compile(
    r"^(?:(?:view|see) all (?:posts|articles|stories) by|(?:more )?(?:posts|articles|stories) by"
    r"|written by|posted by|reported by|(?:analysis|opinion|commentary|interview) by"
    r"|text(?:e)?:|author:|autor(?:in)?:|by|von|par|por|di)"
    r"\s+",
    re.IGNORECASE,
)
# ", with CNA", ", mit Material von dpa": the agency a story was written with goes to
# `wire_agency` (tasks/page/wire.py), not into the name.
_WITH_CREDIT = re.compile(r",?\s+(?:with|mit|avec)\s+(?:material\s+von\s+)?\S.*$", re.I)
_REVIEWED = re.compile(r"\s+(?:medically\s+)?(?:reviewed|fact[- ]checked|edited)\s+by\b.*$", re.I)
_ROLE_NOUNS = frozenset(
    [
        "reporter",
        "writer",
        "editor",
        "editor-at-large",
        "correspondent",
        "contributor",
        "columnist",
        "staff",
        "producer",
        "photographer",
        "redakteur",
        "redakteurin",
        "autor",
        "autorin",
        "korrespondent",
        "korrespondentin",
    ]
)
_ROLE_WORDS = _ROLE_NOUNS | frozenset(
    [
        "contributing",
        "senior",
        "national",
        "political",
        "politics",
        "sports",
        "sport",
        "tech",
        "technology",
        "science",
        "health",
        "business",
        "associate",
        "managing",
        "chief",
        "deputy",
        "executive",
        "assistant",
        "freelance",
        "guest",
        "special",
        "international",
        "foreign",
        "economics",
        "culture",
        "investigative",
        "data",
        "digital",
        "news",
        "editorial",
    ]
)
_HANDLE = re.compile(r"^[a-z0-9._-]+$")
_PLACEHOLDERS = frozenset(
    [
        "admin",
        "administrator",
        "author",
        "name",
        "unknown",
        "anonymous",
        "guest",
        "user",
        "webmaster",
        "editor",
        "editors",
        "redaktion",
        "staff",
        "noauthor",
        "none",
        "null",
        "undefined",
    ]
)
_MONTH_OR_DAY = re.compile(
    r"^(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:sday)?"
    r"|wed(?:nesday)?|thu(?:rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?,?$|^\d",
    re.IGNORECASE,
)
_URLISH = re.compile(r"^(?:https?://|www\.)|@|\.(?:com|org|net|de|at|ch|co\.uk)/", re.I)
# A lower-case word that is not a name particle or a connector: an organisation's name.
_ORGANISATION = re.compile(
    r"\s(?!(?:and|und|et|y|von|van|der|den|de|da|di|du|del|la|le|bin|al|ter|zu)\s)[a-z]{2,}\s"
)
_BYLINE_START = re.compile(r"^(?:by|von|par|por|door|av)\s+(?=[A-ZÀ-Þ])", re.IGNORECASE)
_BYLINE_WORD = re.compile(r"(?:by|von|par|por|door|av):?", re.IGNORECASE)
_BYLINE_MARKUP = re.compile(r"byline|author", re.IGNORECASE)
_INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "button"})


def find_authors(
    tree: HtmlElement,
    extracted: Iterable[str],
    site_names: Iterable[str | None] = (),
    anchor: HtmlElement | None = None,
) -> tuple[str, ...]:
    """The article's authors from the first source that names a person.

    Sources in order: JSON-LD article `author`, `<meta name="author">`, `extracted` (what
    trafilatura found), then the byline printed after the headline (`anchor`). `extracted` is
    iterated only when the sources before it name no one, so it may be read lazily.
    """
    sites = [s for s in site_names if s]
    publisher_only: tuple[str, ...] = ()
    for names in (_jsonld_authors(tree), _meta_authors(tree), extracted, _printed(tree, anchor)):
        people = clean_bylines(names, sites)
        if people and not all(_is_site(p, sites) for p in people):
            return tuple(p for p in people if not _is_site(p, sites))
        publisher_only = publisher_only or people
    return publisher_only


def clean_bylines(names: Iterable[str], site_names: Sequence[str] = ()) -> tuple[str, ...]:
    """Names cleaned of prefixes, roles, placeholders and dates; duplicates removed."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in names:
        parts: list[str] = []
        # "Lin Chia-nan / Staff reporter": the slash between spaces separates name and role.
        for piece in re.split(r"\s*[;|]\s*|\s+/\s+", _clean(raw)):
            # "Center for Drug Evaluation and Research" is one organisation, not two people.
            piece = _clean(piece)
            parts.extend(
                [piece] if _ORGANISATION.search(piece) else split_authors([plain_text(piece)])
            )
        for part in parts:
            name = _clean_one(part)
            if name and name.casefold() not in seen:
                seen.add(name.casefold())
                result.append(name)
    return tuple(result)


def _clean(raw: str) -> str:
    text = (clean_headline(raw) or "").strip(" ,;|·-–—")
    text = _WITH_CREDIT.sub("", _REVIEWED.sub("", text))
    return _PREFIX.sub("", text)


def _clean_one(name: str) -> str | None:
    name = re.sub(r"\s*\((?:https?://|www\.)[^)]*\)", "", name)  # "Deutsche Welle (www.dw.com)"
    name = _PREFIX.sub("", name.strip(" ,;|·-–—:"))
    if not name or _URLISH.search(name) or _HANDLE.match(name) or len(name) > 80:
        return None
    words = name.split()
    # "Harry Rabinowitz Tech Reporter", "Jeff Foust Monday": drop trailing roles and dates.
    had_role = False
    if len(words) > 1 and words[-1].casefold().strip(",") in _ROLE_NOUNS:
        had_role = True
        words.pop()
        while len(words) > 1 and words[-1].casefold().strip(",") in _ROLE_WORDS:
            words.pop()
    while len(words) > 1 and _MONTH_OR_DAY.match(words[-1]):
        words.pop()
    if had_role and normalize_agency(words[0]):
        return None  # "AP Auto Writer", "AP National Security Writer": a desk, not a person
    # "ERIC TUCKER Associated Press": the agency goes to `wire_agency`, the person stays.
    for cut in range(2, len(words)):
        if normalize_agency(" ".join(words[cut:])):
            words = words[:cut]
            break
    if all(w.casefold().strip(",.") in _ROLE_WORDS for w in words):
        return None
    name = " ".join(words).strip(" ,")
    squashed = "".join(c for c in name.casefold() if c.isalnum())
    if squashed in _PLACEHOLDERS or _MONTH_OR_DAY.match(name) or len(squashed) < 2:
        return None
    return name


def _is_site(name: str, site_names: Sequence[str]) -> bool:
    """ "Tagesschau De", "Cleveland.com", "USA TODAY": the publisher named as the author."""
    keys = {squash(name), squash(name.split(".")[0])} - {""}
    sites = {squash(s) for s in site_names} | {squash(s.split(".")[0]) for s in site_names}
    sites |= {squash(s.removeprefix("www.").split(".")[0]) for s in site_names}
    return bool(keys & (sites - {"", "www"}))


def _jsonld_authors(tree: HtmlElement) -> list[str]:
    names: list[str] = []
    for _, data in jsonld.blocks(tree):
        for node in jsonld.objects(data):
            if not jsonld.type_names(node) & jsonld.ARTICLE_TYPES:
                continue
            author = node.get("author")
            for person in author if isinstance(author, list) else [author]:
                if isinstance(person, dict) and isinstance(person.get("name"), str):
                    names.append(person["name"])
                elif isinstance(person, str):
                    names.append(person)
        if names:
            break
    return names


def _meta_authors(tree: HtmlElement) -> list[str]:
    names = []
    for meta in tree.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        if key in ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author"):
            content = (meta.get("content") or "").strip()
            if content and not _URLISH.search(content):
                names.append(content)
    return names


def _printed(tree: HtmlElement, anchor: HtmlElement | None) -> list[str]:
    """A byline printed within the first short lines after the headline: "By Jane Doe"."""
    if anchor is None:
        return []
    budget = 600
    pending = False  # "By" on its own, the name in the next element
    for element, text in _following_text(anchor):
        budget -= len(text)
        if budget < 0 or len(text) > 150:
            break
        if pending:
            return [text] if text[:1].isupper() else []
        if _BYLINE_WORD.fullmatch(text):
            pending = True
            continue
        marks = f"{element.get('class') or ''} {element.get('itemprop') or ''}"
        if _BYLINE_START.match(text) or (_BYLINE_MARKUP.search(marks) and len(text.split()) <= 6):
            byline = _BYLINE_START.sub("", text)
            return [byline] if byline and byline[0].isupper() else []
    return []


def _following_text(anchor: HtmlElement) -> Iterator[tuple[HtmlElement, str]]:
    """Text pieces after `anchor` in document order (its own text excluded)."""
    for element in anchor.itersiblings():
        yield from _texts(element)
    for ancestor in anchor.iterancestors():
        for element in ancestor.itersiblings():
            yield from _texts(element)


def _texts(element: HtmlElement) -> Iterator[tuple[HtmlElement, str]]:
    if not isinstance(element.tag, str) or element.tag in _INVISIBLE_TAGS:
        return
    if element.text and element.text.strip():
        yield element, " ".join(element.text.split())
    for child in element:
        yield from _texts(child)
        if child.tail and child.tail.strip():
            yield element, " ".join(child.tail.split())
