"""Where a story came from: the wire agency that supplied it and the dateline it was filed under.

Wire copy announces itself in its first words ("WASHINGTON (AP) —", "LONDON, Jan 28 (Reuters)
-", "Berlin (dpa) -", "【ワシントン共同】", or "Reuters, MOSCOW" as a paragraph of its own), in
the byline ("By Jane Doe | Bloomberg", "det/dpa", "Staff writer, with CNA"), in a closing credit
("(Reporting by …; Editing by …)", "Additional reporting by AFP", "— Reuters"), which may sit on
the page just after the extracted body, or in the publisher's own name when the agency runs the
site. `find_wire` reads those places, in that order of trust, and returns the
agency under one normalized name and the dateline as written.

Only agencies we know are reported: "Washington (CNN) —" yields the dateline and no agency, and
a city that merely starts a sentence or a quotation yields nothing. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Normalized name -> spellings seen in openings, bylines and credits (compared casefolded,
# after collapsing whitespace). Regional desks ("dpa/lno", "dpa-AFX") are handled by the
# patterns, not listed here.
AGENCIES: dict[str, tuple[str, ...]] = {
    "Reuters": ("reuters", "thomson reuters", "reuters staff"),
    "AP": ("ap", "the associated press", "associated press", "ap news"),
    "AFP": ("afp", "agence france-presse", "agence france presse", "afp-jiji"),
    "Bloomberg": ("bloomberg", "bloomberg news"),
    "dpa": ("dpa", "deutsche presse-agentur", "dpa-afx", "dpa international"),
    "EFE": ("efe", "agencia efe"),
    "ANSA": ("ansa",),
    "Kyodo": ("kyodo", "kyodo news"),
    "Jiji": ("jiji", "jiji press"),
    "Xinhua": ("xinhua", "xinhua news agency"),
    "PA": ("pa", "pa media", "press association", "pa wire", "pa reporters"),
    "CNA": ("cna", "central news agency"),
    "APA": ("apa", "austria presse agentur"),
    "Keystone-SDA": ("sda", "keystone-sda", "ats", "keystone-ats"),
    "KNA": ("kna",),
    "epd": ("epd",),
    "AFX": ("afx",),
    "Lusa": ("lusa",),
    "Europa Press": ("europa press",),
    "ANP": ("anp",),
    "Belga": ("belga",),
    "TT": ("tt", "tidningarnas telegrambyrå"),
    "NTB": ("ntb",),
    "Ritzau": ("ritzau",),
    "PAP": ("pap",),
    "ČTK": ("čtk", "ctk"),
    "MTI": ("mti",),
    "Yonhap": ("yonhap", "yonhap news agency", "연합뉴스"),
    "Newsis": ("newsis", "뉴시스"),
    "News1": ("news1", "뉴스1"),
    "PTI": ("pti", "press trust of india"),
    "IANS": ("ians",),
    "ANI": ("ani",),
    "UNI": ("uni",),
    "Anadolu": ("anadolu", "anadolu agency", "aa"),
    "TASS": ("tass", "тасс"),
    "RIA Novosti": ("ria novosti", "риа новости"),
    "Interfax": ("interfax", "интерфакс"),
    "Ukrinform": ("ukrinform", "укрінформ"),
    "Bernama": ("bernama",),
    "Antara": ("antara",),
    "AAP": ("aap", "australian associated press"),
    "Canadian Press": ("cp", "the canadian press", "canadian press"),
    "UPI": ("upi", "united press international"),
    "AGI": ("agi",),
    "BSS": ("bss", "bangladesh sangbad sangstha"),
    "UNB": ("unb",),
    "APP": ("app", "associated press of pakistan"),
    "IRNA": ("irna",),
    "WAM": ("wam",),
    "SPA": ("spa", "saudi press agency"),
    "KUNA": ("kuna",),
    "QNA": ("qna",),
    "MENA": ("mena",),
    "NAN": ("nan", "news agency of nigeria"),
    "GNA": ("gna", "ghana news agency"),
    "VNA": ("vna", "vietnam news agency"),
    "PNA": ("pna", "philippine news agency"),
    "Adnkronos": ("adnkronos",),
}
_BY_ALIAS = {alias: name for name, aliases in AGENCIES.items() for alias in aliases}

# Aliases that are also ordinary words or common initials: accepted inside "(…)" or "/…/" in
# an opening, never as a bare byline token.
_AMBIGUOUS = frozenset(
    {"aa", "ani", "ap", "apa", "ats", "cp", "pa", "tt", "uni", "agi", "cna", "app", "spa", "nan"}
)

_DASH = r"(?:\s*(?:[-—–‑]{1,2}|\.[-—–])\s*)"
# A place: one to five words, each capitalized (or an all-caps word), with the particles that
# occur in place names ("Frankfurt am Main", "Rio de Janeiro", "Frankfurt a.M.").
_WORD = r"(?:[^\W\d_][^\W\d_'’.-]*+(?:[-'’.][^\W\d_]++)*+\.?)"
_PARTICLE = r"(?:am|an|der|de|do|da|del|la|le|les|sur|upon|on|im|ob|bei|a\.\s?M\.|i\.\s?Br\.)"
_PLACE = rf"(?:{_WORD}(?:[ /](?:{_PARTICLE}|{_WORD})){{0,4}})"
# A region after the place ("KYIV, Ukraine", "PITTSBURGH, Pa."), never a date ("LONDON, Jan 28").
_REGION = rf"(?:,\s*(?P<region>(?>{_WORD}(?:\s{_WORD}){{0,2}}))(?![\s.]*\d))"
_DATE = (
    r"(?:,?\s*(?:\d{1,2}\.?\s*[^\W\d_]{3,10}\.?(?:\s+\d{4})?"
    r"|[^\W\d_]{3,10}\.?\s+\d{1,2}(?:,?\s+\d{4})?|\d{1,2}))"
)
_PAREN = r"\(\s*(?P<agency>[^()\n]{1,40}?)\s*\)"

# PLACE[, Region][, date] (AGENCY) —
_PLACE_THEN_AGENCY = re.compile(
    rf"^(?P<place>{_PLACE}){_REGION}?(?:{_DATE})?\s*{_PAREN}\.?(?P<sep>{_DASH}|:\s*|\s+)"
)
# (AGENCY) — [PLACE[, date] —]
_AGENCY_FIRST = re.compile(
    rf"^{_PAREN}{_DASH}(?:(?P<place>{_PLACE}){_REGION}?(?:{_DATE})?{_DASH})?"
)
# AGENCY, PLACE —   ("Reuters, MOSCOW —")
_AGENCY_COMMA_PLACE = re.compile(
    rf"^(?P<agency>[^\W\d_][\w -]{{1,30}}?),\s*(?P<place>{_PLACE}){_DASH}"
)
# AGENCY, PLACE   as a paragraph of its own above the text ("Reuters, MOSCOW", "AFP, PARIS"):
# how republishers such as the Taipei Times credit wire copy.
_AGENCY_LINE = re.compile(
    rf"^(?P<agency>[^\W\d_][\w .&-]{{1,30}}?),\s*(?P<place>{_PLACE}){_REGION}?(?:{_DATE})?\.?$"
)
# "Staff writer, with CNA", "By Jane Doe, with AFP", "Von Max Muster, mit Material von dpa":
# a byline that names the agency the story was written with.
_WITH_AGENCY = re.compile(
    r"^[^.!?\n]{2,60}?,\s*(?:with|mit|avec|con|com)\s+(?:(?:material|informa\w+)\s+"
    r"(?:from|von|der|de|da)\s+(?:l')?)?(?P<names>[^\W\d_][\w ./&,-]{1,40}?)\.?$",
    re.IGNORECASE,
)
# A closing line that names the agencies that contributed: "Additional reporting by AFP",
# "Mit Material von dpa und AFP", "Avec AFP".
_CONTRIBUTED = re.compile(
    r"^\W*(?:additional reporting|reporting|with reporting|additional reporting and writing)"
    r"\s+(?:by|from)\s+(?P<by>.{2,120}?)\.?$"
    r"|^\W*(?:mit material (?:von|der)|avec|con información de|com informações da)\s+"
    r"(?P<with>.{2,60}?)\.?$",
    re.IGNORECASE,
)
_NAMES_SPLIT = re.compile(r"\s*(?:[,;/&]|\band\b|\bund\b|\bet\b|\by\b|\be\b)\s*")
# PLACE, date. /TASS/.   (TASS's house style, also in Russian: "МОСКВА, 3 марта. /ТАСС/.")
_SLASHED = re.compile(
    rf"^(?P<place>{_PLACE}){_REGION}?(?:{_DATE})?\.?\s*/(?P<agency>[^/\n]{{2,20}})/"
)
# PLACE, date — RIA Novosti.
_TRAILING_AGENCY = re.compile(
    rf"^(?P<place>{_PLACE})(?:{_DATE})?{_DASH}(?P<agency>[^\W\d_][\w ]{{1,25}}?)\.\s"
)
# ALL-CAPS PLACE[, Region] —   (a dateline without an agency: "NEW YORK — The …")
_CAPS_DATELINE = re.compile(
    r"^(?P<place>[A-ZÀ-ÞĀ-Ž][A-ZÀ-ÞĀ-Ž.'’-]*(?:[ /][A-ZÀ-ÞĀ-Ž][A-ZÀ-ÞĀ-Ž.'’-]*){0,3})"
    rf"{_REGION}?\s*(?:—|–|--)\s*(?=[\"“„«‘']?[A-ZÀ-ÞĀ-Ž]\s?[a-zß-ÿā-ž])"
)
# 【ワシントン共同】, 【北京時事】: Japanese papers credit Kyodo and Jiji this way.
_JAPANESE = re.compile(r"^【(?P<place>[^】]{1,15}?)(?P<agency>共同|時事)】")
# (서울=연합뉴스): Korean agencies.
_KOREAN = re.compile(r"^\((?P<place>[^=()]{1,15})=(?P<agency>연합뉴스|뉴시스|뉴스1)\)")
# 新华社北京3月3日电: Xinhua's Chinese dispatches.
_CHINESE = re.compile(r"^新华社(?P<place>[^\d电]{1,10}?)\d{1,2}月\d{1,2}日电")
_CJK_AGENCIES = {"共同": "Kyodo", "時事": "Jiji"}

# Words an all-caps opening uses as a label, not a place.
_NOT_PLACES = frozenset(
    [
        "breaking",
        "update",
        "updated",
        "exclusive",
        "watch",
        "live",
        "analysis",
        "opinion",
        "editorial",
        "correction",
        "video",
        "photos",
        "photo",
        "review",
        "note",
        "warning",
        "advisory",
        "commentary",
        "explainer",
        "interview",
        "fact",
        "check",
        "factbox",
        "instant",
        "view",
        "urgent",
        "flash",
        "alert",
        "wrapup",
        "sports",
    ]
)
_BYLINE = re.compile(r"^(?:by|von|par|por|di|door|av)\s+", re.IGNORECASE)
_BYLINE_SPLIT = re.compile(r"\s*(?:[|/;,•·]|\bfor\b|\bund\b|\band\b|\bet\b|\by\b)\s*")
_REUTERS_CREDIT = re.compile(r"\((?:Reporting|Additional reporting|Writing) by [^)]{3,300}\)")
_AP_COPYRIGHT = re.compile(r"(?i)copyright\s+\d{4}\s+(?:the\s+)?associated\s+press")
_DPA_CREDIT = re.compile(r"©\s*dpa\b|\bdpa-infocom\b")
_CLOSING_AGENCY = re.compile(
    r"(?:^|\n)\s*[(\[]?\s*[-—–]?\s*(?P<agency>[^\W\d_][\w/ -]{1,30}?)\s*[)\]]?\s*$"
)


@dataclass(frozen=True, slots=True)
class WireInfo:
    """A story's agency (normalized) and dateline (as written); either may be None."""

    agency: str | None = None
    dateline: str | None = None


def normalize_agency(name: str | None, *, strict: bool = False) -> str | None:
    """`"The Associated Press"` → `"AP"`, `"dpa/lno"` → `"dpa"`, unknown names → None.

    With `strict`, initials that are also ordinary words ("AP", "PA", "AA") are not accepted on
    their own: bylines use them for people's initials too.
    """
    if not name:
        return None
    key = " ".join(name.replace("\u00a0", " ").split()).casefold().strip(" .:-—–")
    key = key.removeprefix("the ") if key not in _BY_ALIAS else key
    if key in _BY_ALIAS:
        return None if strict and key in _AMBIGUOUS else _BY_ALIAS[key]
    # Regional desks and services: "dpa/lno", "dpa-AFX", "AFP/Jiji", "Reuters/Bloomberg".
    head = re.split(r"[/+-]", key, maxsplit=1)[0].strip()
    if head != key and head in _BY_ALIAS and not (strict and head in _AMBIGUOUS):
        return _BY_ALIAS[head]
    return None


def find_wire(
    text: str | None,
    authors: Iterable[str] = (),
    site_name: str | None = None,
    page_text: str | None = None,
) -> WireInfo:
    """The wire agency and dateline of an article, from its text, byline and publisher.

    `page_text` is more of the page than the stored body (the extractor's fuller reading): a
    closing credit the body leaves out ("Additional reporting by AFP", "— Reuters") is read
    from the lines that follow the body there.
    """
    agency, dateline = None, None
    # The opening is the first paragraph of running text; the headline, a kicker or a byline
    # may come before it as short lines.
    lines: list[str] = []
    for line in (text or "").splitlines():
        if line.strip():
            lines.append(line.strip())
        if len(lines) >= 6 or len(line) >= 150:
            break
    for index, line in enumerate(lines):
        found = read_opening(line, first=index == 0)
        if found.agency or found.dateline:
            agency, dateline = found.agency, found.dateline
            break
    agency = agency or _from_byline(authors) or _from_byline_lines(lines)
    agency = agency or _from_credits(text or "")
    agency = agency or _from_credits_after(text or "", page_text)
    agency = agency or normalize_agency(site_name, strict=True)
    return WireInfo(agency, dateline)


def read_opening(line: str, *, first: bool = True) -> WireInfo:
    """Agency and dateline from the first words of one paragraph."""
    line = line.lstrip("\ufeff ").replace("\u00a0", " ")
    for pattern in (_JAPANESE, _KOREAN):
        match = pattern.match(line)
        if match:
            agency = match["agency"]
            return WireInfo(_CJK_AGENCIES.get(agency) or normalize_agency(agency), match["place"])
    if match := _CHINESE.match(line):
        return WireInfo("Xinhua", match["place"])

    match = _PLACE_THEN_AGENCY.match(line)
    if match and _is_place(match["place"]):
        agency = normalize_agency(match["agency"])
        if agency:
            return WireInfo(agency, _dateline(match))
        # "Washington (CNN) —": a dateline credited to an outlet we do not count as a wire.
        if _looks_like_outlet(match["agency"]) and match["sep"].strip():
            return WireInfo(None, _dateline(match))
    match = _AGENCY_FIRST.match(line)
    if match and (agency := normalize_agency(match["agency"])):
        place = match["place"] if match["place"] and _is_place(match["place"]) else None
        return WireInfo(agency, _dateline(match) if place else None)
    for pattern in (_SLASHED, _TRAILING_AGENCY):
        match = pattern.match(line)
        if match and _is_place(match["place"]) and (agency := normalize_agency(match["agency"])):
            return WireInfo(agency, _dateline(match))
    match = _AGENCY_COMMA_PLACE.match(line)
    if match and _is_place(match["place"]) and (agency := normalize_agency(match["agency"])):
        return WireInfo(agency, match["place"].strip())
    if found := _agency_line(line):
        return found
    # An all-caps dateline alone: only at the start of a real paragraph, never a short line
    # (a headline in capitals repeated above the text).
    match = _CAPS_DATELINE.match(line)
    if match and len(line) >= 60 and _is_place(match["place"], caps=True):
        return WireInfo(None, _dateline(match))
    return WireInfo()


def _agency_line(line: str) -> WireInfo | None:
    """`Reuters, MOSCOW` alone on its line; `Anna Schmidt, Berlin` or `Paris, Texas` is not."""
    match = _AGENCY_LINE.match(line.strip())
    if not match or not _is_place(match["place"]):
        return None
    written = match["agency"].strip()
    agency = normalize_agency(written)
    # "ap, bangkok" is not the Associated Press: initials that are also words count in capitals.
    if agency is None or (written.casefold() in _AMBIGUOUS and not written.isupper()):
        return None
    # "AFP, Reuters": two agencies credited, no place.
    return WireInfo(agency, None if normalize_agency(match["place"]) else _dateline(match))


def _dateline(match: re.Match[str]) -> str:
    place = match["place"].strip().rstrip(",")
    region = match.groupdict().get("region")
    return f"{place}, {region.strip()}" if region else place


def _is_place(place: str | None, *, caps: bool = False) -> bool:
    if not place:
        return False
    words = place.replace("/", " ").split()
    if not 1 <= len(words) <= 5 or len(place) > 40:
        return False
    if " ".join(words).casefold().strip(".") in _NOT_PLACES or words[0].casefold() in _NOT_PLACES:
        return False
    # Sentence openers that look like places in front of a parenthesis ("The company (NYSE: X)").
    if words[0].casefold() in {"the", "a", "an", "der", "die", "das", "le", "la", "el", "il"}:
        return False
    if caps:
        return sum(c.isalpha() for c in place) >= 3
    return words[0][:1].isupper()


def _looks_like_outlet(token: str) -> bool:
    # CNN, BBC, KNA, NHK: a short capitalized token without digits or dots ("D-Calif." is not).
    return bool(re.fullmatch(r"[A-Z][A-Za-z]{1,9}", token.strip()))


def _from_byline(authors: Iterable[str]) -> str | None:
    for author in authors:
        if agency := _with_agency(author):
            return agency
        for part in _BYLINE_SPLIT.split(_BYLINE.sub("", author.strip())):
            agency = normalize_agency(part, strict=True)
            if agency:
                return agency
    return None


def _from_byline_lines(lines: list[str]) -> str | None:
    """A byline written into the text: "By Jane Doe | Bloomberg", "Von Max Muster, dpa"."""
    for line in lines[:3]:
        if len(line) <= 80 and (agency := _with_agency(line)):
            return agency
    for line in lines[:2]:
        if len(line) <= 80 and _BYLINE.match(line):
            return _from_byline([line])
    return None


def _with_agency(line: str) -> str | None:
    """`Staff writer, with CNA` → CNA: the first agency named after "with"."""
    match = _WITH_AGENCY.match(line.strip())
    return _first_agency(match["names"]) if match else None


def _first_agency(names: str) -> str | None:
    for name in _NAMES_SPLIT.split(names):
        if agency := normalize_agency(name):
            return agency
    return None


def _from_credits(text: str) -> str | None:
    tail = text[-600:]
    if _REUTERS_CREDIT.search(tail):
        return "Reuters"
    if _AP_COPYRIGHT.search(tail):
        return "AP"
    if _DPA_CREDIT.search(tail):
        return "dpa"
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    for line in lines[-3:]:
        match = _CONTRIBUTED.match(line)
        if match and (agency := _first_agency(match["by"] or match["with"])):
            return agency
    # A last line that is only an agency credit: "(AFP)", "— Reuters", "dpa/lno".
    last = lines[-1] if lines else ""
    if len(last) <= 40:
        match = _CLOSING_AGENCY.search(last)
        if match:
            return normalize_agency(match["agency"], strict=True)
    return None


def _from_credits_after(text: str, page_text: str | None) -> str | None:
    """A credit in the few lines of `page_text` that follow the body's last line."""
    body_lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not page_text or not body_lines:
        return None
    end = page_text.rfind(body_lines[-1])
    if end < 0:
        return None
    following = [
        line.strip() for line in page_text[end + len(body_lines[-1]) :].splitlines() if line.strip()
    ][:3]
    for count in range(len(following), 0, -1):
        # Each candidate ends the tail, so the closing-line check sees it as the last line.
        if agency := _from_credits("\n".join([body_lines[-1], *following[:count]])):
            return agency
    return None
