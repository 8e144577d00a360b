"""Find when an article page says it was published, and how precisely it says so.

trafilatura and htmldate answer with a day; feeds answer with an instant. A midnight made up
from a day must never pass for a real time, so every date here carries its precision:
"second"/"minute" when the page gave a time *and* a UTC offset, "day" otherwise.

Decision on timestamps without an offset ("2020-04-24T10:15:00"): the wall-clock time is in
an unknown zone, anywhere from UTC-12 to UTC+14, so presenting it as an instant would be off by
up to 14 hours. We keep only its calendar date and call it "day" precision. A time of exactly
00:00:00 with an offset is treated the same way: CMSs pad date-only fields that way far more
often than articles are published at midnight.

Day-precision dates are returned as midnight UTC of the page's calendar day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from lxml.html import HtmlElement

from tasks.models import DatePrecision
from tasks.page import jsonld

PageDate = tuple[datetime | None, DatePrecision | None]

EARLIEST_YEAR = 1995
"""Older "publication" dates on news pages are copyright years or broken fields."""

FUTURE_SLACK = timedelta(days=1)
"""Dates later than now by more than this are rejected (scheduled posts, typos)."""

_IGNORED_TYPES = frozenset({"comment", "review", "person", "organization", "event", "product"})

# Meta tags, most specific first. Matched case-insensitively against name/property/itemprop.
_META_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "article:published",
    "published_time",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.date",
    "pubdate",
    "publishdate",
    "publish_date",
    "publish-date",
    "date.published",
    "dc.date",
    "date",
)
_META_RANK = {key: rank for rank, key in enumerate(_META_KEYS)}

# Inside the article first: listings of related stories carry their own dates.
_TIME_XPATHS = (
    ".//article//*[@itemprop='datePublished']",
    ".//time[@pubdate][@datetime]",
    ".//article//time[@datetime]",
    ".//*[@itemprop='datePublished']",
)

_ISO = re.compile(
    r"""^\s*
    (?P<y>\d{4})(?P<sep>[-/.]?)(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})
    (?:
        (?:[T\s]+|\s*,\s*)
        (?P<H>\d{1,2}):?(?P<M>\d{2})
        (?::?(?P<S>\d{2})(?:[.,]\d+)?)?
        \s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?
        (?:\s*\(?[A-Za-z]{2,5}\)?)?
    )?
    \s*$""",
    re.VERBOSE,
)
_RFC2822_HINT = re.compile(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "january jan januar jänner janvier enero",
            "february feb februar février fevrier febrero",
            "march mar märz maerz mars marzo",
            "april apr avril abril",
            "may mai mayo",
            "june jun juni juin junio",
            "july jul juli juillet julio",
            "august aug août aout agosto",
            "september sep sept septembre septiembre",
            "october oct oktober okt octobre octubre",
            "november nov novembre noviembre",
            "december dec dezember dez décembre decembre diciembre",
        ),
        start=1,
    )
    for name in names.split()
}
_WEEKDAY = r"(?:[^\W\d_]+\.?,?\s+)?"
_MONTH_FIRST = re.compile(
    _WEEKDAY + r"(?P<month>[^\W\d_]{3,})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})\b"
)
_DAY_FIRST = re.compile(
    _WEEKDAY + r"(?P<d>\d{1,2})(?:\.|st|nd|rd|th|er)?\s+(?:de\s+)?(?P<month>[^\W\d_]{3,})\.?,?"
    r"\s+(?:de\s+)?(?P<y>\d{4})\b"
)
_DOTTED = re.compile(_WEEKDAY + r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})\b")
_DAY_ONLY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")

_SLASHED = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\b")
_URL_DATE = re.compile(
    r"/(?P<y>(?:19|20)\d{2})(?:/|-)?(?P<m>0[1-9]|1[0-2])(?:/|-)?(?P<d>0[1-9]|[12]\d|3[01])(?:/|-|\.|$)"
)
_MODIFIED_KEYS = frozenset(
    {
        "article:modified_time",
        "og:updated_time",
        "og:article:modified_time",
        "datemodified",
        "dc.date.modified",
        "dcterms.modified",
        "last-modified",
        "lastmod",
    }
)
# A date written in running text: 01.11.2023, March 27, 2025, 27. März 2020, 2020-04-24.
_TEXT_DATE = re.compile(
    r"(?<![\w.])(?:"
    r"(?P<d1>\d{1,2})\.\s?(?P<m1>\d{1,2})\.\s?(?P<y1>\d{4})"
    r"|(?P<mon2>[^\W\d_]{3,10})\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{4})"
    r"|(?P<d3>\d{1,2})(?:\.|st|nd|rd|th|er)?\s+(?:de\s+)?(?P<mon3>[^\W\d_]{3,10})\.?,?\s+(?:de\s+)?(?P<y3>\d{4})"
    r"|(?P<y4>\d{4})-(?P<m4>\d{2})-(?P<d4>\d{2})"
    r")(?!\d)"
)
_UPDATE_LABEL = re.compile(
    r"(?:updated|update|aktualisiert|zuletzt|last modified|modified|geändert|mis à jour"
    r"|actualizado|actualización|aggiornato|reviewed|review due|überarbeitet|edited|editiert)"
    r"\W{0,3}(?:on|am|le|el|il|:)?\W{0,3}$"
)
_UPDATE_AFTER = re.compile(r"^\W{0,4}(?:latest version|updated|aktualisiert|last updated)", re.I)
_PUBLISHED_LABEL = re.compile(
    r"(?:published|publiziert|veröffentlicht|erstellt|erschienen|publié|publicado|pubblicato"
    r"|posted|first published|originally published|erstveröffentlichung)"
    r"\W{0,3}(?:on|am|le|el|il|:)?\W{0,3}$"
)
_UPDATE_MARKUP = re.compile(r"\bupdated\b|modified|last-?update", re.I)
_PUBLISHED_MARKUP = re.compile(r"datepublished|\bpublished\b|pubdate|publish-?date", re.I)
_PUBLISHED_AFTER = re.compile(r"^\W{0,4}(?:originally published|first published)", re.I)
_INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template", "head", "svg", "select"})
_NEAR_CHARS = 1500
"""How far after the headline (characters of text) a printed date still counts as its date."""
_LONG_CHUNK = 150
"""A text piece this long is running text: dates after it may be dates in the story."""


def _accept(value: datetime) -> bool:
    if value.year < EARLIEST_YEAR:
        return False
    return value <= datetime.now(UTC) + FUTURE_SLACK


def _as_day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def parse_date(value: str) -> tuple[datetime, DatePrecision] | None:
    """Parse one date string from a page into an aware datetime and its precision.

    An instant keeps the UTC offset it was written with (compare it, or convert it with
    `astimezone(UTC)`); a day is midnight UTC of that calendar day.

    Understands ISO-8601 and its common variants (space separator, no colon in the offset,
    fractional seconds, trailing zone names, slashes) and RFC 2822 dates. Returns None for
    anything else, and for dates before 1995 or in the future.
    """
    if not value or len(value) > 64:
        return None
    match = _ISO.match(value)
    if match:
        return _from_iso_match(match)
    if _RFC2822_HINT.match(value):
        try:
            parsed = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if parsed.tzinfo is None:  # RFC 2822 "-0000": the sender did not know the zone.
            day = _as_day(parsed.year, parsed.month, parsed.day)
            return (day, "day") if _accept(day) else None
        return (parsed, "second") if _accept(parsed) else None
    return _parse_written_day(value)


def _parse_written_day(value: str) -> tuple[datetime, DatePrecision] | None:
    """A written date ("March 27, 2025", "27. März 2020", "24.04.2020, 10:15 Uhr") → that day.

    Written dates rarely carry a UTC offset, so only the day is kept. Slashed numeric dates
    (04/05/2020) are skipped: day-first and month-first are equally common.
    """
    text = value.strip()
    for pattern in (_MONTH_FIRST, _DAY_FIRST, _DOTTED):
        match = pattern.match(text)
        if not match:
            continue
        groups = match.groupdict()
        month = int(groups["m"]) if groups.get("m") else _MONTHS.get(groups["month"].lower(), 0)
        try:
            day = _as_day(int(groups["y"]), month, int(groups["d"]))
        except ValueError:
            continue
        return (day, "day") if _accept(day) else None
    return None


def _from_iso_match(match: re.Match[str]) -> tuple[datetime, DatePrecision] | None:
    try:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
        local_day = _as_day(year, month, day)
        if match["H"] is None:
            return (local_day, "day") if _accept(local_day) else None
        hour, minute = int(match["H"]), int(match["M"])
        second = int(match["S"] or 0)
        offset = _offset(match["tz"])
        if offset is None or (hour, minute, second) == (0, 0, 0):
            return (local_day, "day") if _accept(local_day) else None
        instant = datetime(year, month, day, hour, minute, second, tzinfo=offset)
    except ValueError:  # month 13, hour 25, ...
        return None
    if not _accept(instant):
        return None
    return instant, ("minute" if match["S"] is None else "second")


def _offset(token: str | None) -> timezone | None:
    if not token:
        return None
    if token in {"Z", "UTC", "GMT"}:
        return UTC
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes >= 60:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_day(value: str | None) -> datetime | None:
    """A `YYYY-MM-DD` string (trafilatura's date format) → midnight UTC of that day, or None."""
    match = _DAY_ONLY.match(value or "")
    if not match:
        return None
    try:
        day = _as_day(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return day if _accept(day) else None


def printed_day(
    value: str | None, html: str, tree: HtmlElement, url: str | None = None
) -> datetime | None:
    """trafilatura's day (htmldate's, `YYYY-MM-DD`) when the page prints or declares that day.

    htmldate guesses: it takes a year from a headline ("… number 1995" gave 1995-01-01) and
    reads an impossible date as the month it names ("2024-02-30" gave 2024-02-01). Its day is
    kept only when the page writes it somewhere, in its text, markup or URL, as a date with
    day, month and year: ISO or compact (`2024-05-03`, `20240503`), day first or month first
    with dots, slashes or dashes (`03.05.2024`, `5/3/2024`), with CJK units (`2024年5月3日`),
    or with a month name (`May 3, 2024`, `3. Mai 2024`). htmldate reads slashed dates near
    the headline that our own readers leave alone, as ambiguous; this is what they add.
    """
    day = parse_day(value)
    if day is None:
        return None
    if url_day(url) == day or day.date() in shown_dates(tree).days:
        return day
    y, m, d = day.year, day.month, day.day
    pattern = (
        rf"(?<!\d)(?:{y}(?P<s1>[-/.])0?{m}(?P=s1)0?{d}|{y}{m:02d}{d:02d}"
        rf"|0?{d}(?P<s2>[-/.])0?{m}(?P=s2){y}|0?{m}/0?{d}/{y}"
        rf"|{y}\s*[年년]\s*0?{m}\s*[月월]\s*0?{d}\s*[日일]?)(?!\d)"
    )
    return day if re.search(pattern, html) else None


def find_published(
    page: HtmlElement | str, url: str | None = None, anchor: HtmlElement | None = None
) -> PageDate:
    """The publication date a page declares, with its precision; `(None, None)` if none.

    Instants keep the UTC offset the page wrote (convert with `astimezone(UTC)`); days are
    midnight UTC. Sources, reconciled:

    1. what the page declares for machines: JSON-LD `datePublished` (article types first),
       publication `<meta>` tags, `itemprop="datePublished"` and `<time datetime>` in the
       article. The first that parses wins, except that a later one may add the time of day to
       a date-only value of the same calendar day;
    2. what it shows readers: a date labelled as the publication ("Veröffentlicht am",
       "Originally published"), else the first date printed near the headline (`anchor`, the
       headline's `<h1>`; the first `<h1>` when not given), skipping dates labelled as updates.

    When the two disagree, a machine-readable date of the shown day (often the "modified"
    time: the page shows the version it serves) is taken, with its time; a shown day also
    replaces a declared value that is only a day. Otherwise the declaration stands. Without
    either, a full date in the URL path (`/2024/05/03/`) gives the day.
    """
    tree = _as_tree(page)
    if tree is None:
        return None, None
    shown = shown_dates(tree, anchor)
    declared = _declared(tree, shown.days)
    visible = shown.labelled or shown.near
    if visible is None:
        if declared is not None:
            return declared
        day = url_day(url)
        return (day, "day") if day else (None, None)
    if declared is not None and _same_day(declared, visible):
        return declared
    for instant, precision in _machine_dates(tree):
        if instant.date() == visible and precision != "day":
            return instant, precision
    shown_day = _as_day(visible.year, visible.month, visible.day)
    # A printed day overrides a declared instant only when labelled as the publication date;
    # it overrides a declared day (no time, no zone: the weaker claim) when printed as the
    # byline's date, before any running text.
    if shown.labelled or (shown.near_is_close and (declared is None or declared[1] == "day")):
        return shown_day, "day"
    if declared is not None:
        return declared
    day = url_day(url)
    return (day, "day") if day else (None, None)


def _declared(
    tree: HtmlElement, shown_days: frozenset[date]
) -> tuple[datetime, DatePrecision] | None:
    best: tuple[datetime, DatePrecision] | None = None
    for raw in _candidates(tree):
        parsed = parse_date(raw) or _slashed_day(raw, shown_days)
        if parsed is None:
            continue
        if parsed[1] != "day":
            if best is None or best[0].date() == parsed[0].date():
                return parsed
            continue
        if best is None:
            best = parsed
    return best


def _slashed_day(raw: str, shown_days: frozenset[date]) -> tuple[datetime, DatePrecision] | None:
    """`11/01/2023 12:43` is the 1st of November or the 11th of January: the page text decides.

    Taken only when exactly one reading is a valid date, or exactly one is a day the page
    prints somewhere ("Erstellt am: 01.11.2023").
    """
    match = _SLASHED.match(raw)
    if not match:
        return None
    first, second, year = (int(g) for g in match.groups())
    readings: set[date] = set()
    for month, day_of_month in ((first, second), (second, first)):
        try:
            readings.add(date(year, month, day_of_month))
        except ValueError:
            continue
    if len(readings) > 1:
        readings &= shown_days
    if len(readings) != 1:
        return None
    (reading,) = readings
    value = _as_day(reading.year, reading.month, reading.day)
    return (value, "day") if _accept(value) else None


def url_day(url: str | None) -> datetime | None:
    """A full date in the URL path: `/2024/05/03/`, `/2024-05-03/`, `/20240503/`."""
    if not url:
        return None
    match = _URL_DATE.search(url.split("?", 1)[0])
    if not match:
        return None
    try:
        day = _as_day(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None
    return day if _accept(day) else None


def _machine_dates(tree: HtmlElement) -> Iterator[tuple[datetime, DatePrecision]]:
    """Every machine-readable date on the page, published or modified, in document order."""
    raws = [*_candidates(tree)]
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        if key.strip().lower() in _MODIFIED_KEYS and element.get("content"):
            raws.append(element.get("content", "").strip())
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json":
            raws.extend(
                re.findall(
                    r'"(?:dateModified|dateCreated|uploadDate)"\s*:\s*"([^"]{6,40})"',
                    script.text or "",
                )
            )
    for element in tree.iter("time"):
        if element.get("datetime"):
            raws.append(element.get("datetime", "").strip())
    for raw in raws:
        parsed = parse_date(raw)
        if parsed is not None:
            yield parsed


@dataclass(frozen=True, slots=True)
class ShownDates:
    """Dates printed in the page's text, as calendar days."""

    labelled: date | None = None
    """The first date after the headline labelled as the publication date."""
    near: date | None = None
    """The first unlabelled date printed near the headline (not labelled as an update)."""
    near_is_close: bool = False
    """`near` comes before any paragraph of running text: a byline date, not a date in the text."""
    days: frozenset[date] = frozenset()
    """Every day printed anywhere in the text."""


def shown_dates(tree: HtmlElement, anchor: HtmlElement | None = None) -> ShownDates:
    """The dates a page prints for its readers, relative to its headline."""
    if anchor is None:
        anchor = next((h for h in tree.iter("h1") if h.text_content().strip()), None)
    chunks = list(_text_chunks(tree))
    start = 0
    if anchor is not None:
        inside = {id(anchor), *(id(e) for e in anchor.iterdescendants())}
        start = next((i for i, (el, _) in enumerate(chunks) if id(el) in inside), 0)

    days: set[date] = set()
    labelled: date | None = None
    near: date | None = None
    near_is_close = False
    seen_chars = 0
    seen_long = False
    for index, (element, text) in enumerate(chunks):
        after = index >= start
        if after:
            seen_chars += len(text)
        for match in _TEXT_DATE.finditer(text):
            day = _text_day(match)
            if day is None:
                continue
            days.add(day)
            if not after:
                continue
            before = _before(chunks, index, match.start())
            following = _after(chunks, index, match.end())
            marks = _markup(element)
            near_enough = seen_chars <= _NEAR_CHARS
            published_markup = near_enough and bool(_PUBLISHED_MARKUP.search(marks))
            if _UPDATE_LABEL.search(before) or _UPDATE_AFTER.match(following):
                continue
            if _UPDATE_MARKUP.search(marks) and not published_markup:
                continue
            # Words label a date wherever it is; markup only near the headline (teaser lists
            # mark their own dates "published" too).
            if labelled is None and (
                _PUBLISHED_LABEL.search(before)
                or _PUBLISHED_AFTER.match(following)
                or published_markup
            ):
                labelled = day
            if near is None and seen_chars <= _NEAR_CHARS:
                near, near_is_close = day, not seen_long and len(text) < _LONG_CHUNK
        if after and len(text) >= _LONG_CHUNK:
            seen_long = True
    return ShownDates(labelled, near, near_is_close, frozenset(days))


def _same_day(value: tuple[datetime, DatePrecision], day: date) -> bool:
    """Whether a declared date can be the printed day.

    An instant written with a real offset has a known local date. One written in UTC ("Z")
    may be printed in the site's own zone, so it agrees with any day it falls inside in some
    zone from UTC-12 to UTC+14 (a story published at 21:59 in Minnesota is "Z" the next day).
    """
    instant, precision = value
    if precision == "day" or instant.utcoffset():
        return instant.date() == day
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight - timedelta(hours=14) <= instant < midnight + timedelta(hours=36)


def _markup(element: HtmlElement) -> str:
    """class and itemprop of an element and its parent: how the page labels a date it prints."""
    marks = []
    for node in (element, element.getparent()):
        if node is not None:
            marks.append(f"{node.get('class') or ''} {node.get('itemprop') or ''}")
    return " ".join(marks)


def _text_chunks(tree: HtmlElement) -> Iterator[tuple[HtmlElement, str]]:
    """Visible text pieces in document order, each with the element it belongs to."""
    stack: list[tuple[HtmlElement, bool]] = [(tree, False)]
    while stack:
        element, closing = stack.pop()
        if closing:
            if element.tail and element.tail.strip():
                parent = element.getparent()
                yield (parent if parent is not None else element), " ".join(element.tail.split())
            continue
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is None or tag in _INVISIBLE_TAGS:
            if element.tail and element.tail.strip():
                parent = element.getparent()
                yield (parent if parent is not None else element), " ".join(element.tail.split())
            continue
        if element.text and element.text.strip():
            yield element, " ".join(element.text.split())
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))


def _before(chunks: list[tuple[HtmlElement, str]], index: int, position: int) -> str:
    """Up to 40 characters of text before a match, across chunk boundaries."""
    text = chunks[index][1][:position]
    back = index
    while len(text) < 40 and back > 0:
        back -= 1
        text = chunks[back][1] + " " + text
    return text[-40:].casefold()


def _after(chunks: list[tuple[HtmlElement, str]], index: int, position: int) -> str:
    """Up to 40 characters of text after a match, across chunk boundaries."""
    text = chunks[index][1][position:]
    ahead = index
    while len(text) < 40 and ahead + 1 < len(chunks):
        ahead += 1
        text = text + " " + chunks[ahead][1]
    return text[:40]


def _text_day(match: re.Match[str]) -> date | None:
    groups = match.groupdict()
    try:
        if groups["y1"]:
            return date(int(groups["y1"]), int(groups["m1"]), int(groups["d1"]))
        if groups["y4"]:
            return date(int(groups["y4"]), int(groups["m4"]), int(groups["d4"]))
        if groups["y2"]:
            month = _MONTHS.get(groups["mon2"].casefold(), 0)
            return date(int(groups["y2"]), month, int(groups["d2"])) if month else None
        month = _MONTHS.get(groups["mon3"].casefold(), 0)
        return date(int(groups["y3"]), month, int(groups["d3"])) if month else None
    except ValueError:
        return None


def _as_tree(page: HtmlElement | str) -> HtmlElement | None:
    if isinstance(page, HtmlElement):
        return page
    if not page or not page.strip():
        return None
    from trafilatura import load_html  # heavy import; callers on the hot path pass a tree

    return load_html(page)


def _candidates(tree: HtmlElement) -> Iterator[str]:
    """Raw date strings in the order we trust them."""
    yield from _jsonld_dates(tree)
    yield from _meta_dates(tree)
    for xpath in _TIME_XPATHS:
        for element in tree.iterfind(xpath):
            value = element.get("content") or element.get("datetime") or element.text_content()
            if value and value.strip():
                yield value.strip()


def _meta_dates(tree: HtmlElement) -> Iterator[str]:
    found: list[tuple[int, str]] = []
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        rank = _META_RANK.get(key.strip().lower())
        content = (element.get("content") or "").strip()
        if rank is not None and content:
            found.append((rank, content))
    found.sort(key=lambda pair: pair[0])  # stable: document order within one key
    for _, content in found:
        yield content


def _jsonld_dates(tree: HtmlElement) -> Iterator[str]:
    article_dates: list[str] = []
    other_dates: list[str] = []
    for text, data in jsonld.blocks(tree):
        if data is None:
            # Broken JSON is common (trailing commas, raw newlines); a regex still finds dates.
            other_dates.extend(re.findall(r'"datePublished"\s*:\s*"([^"]{6,40})"', text))
            continue
        for node in jsonld.objects(data):
            value = node.get("datePublished")
            if not isinstance(value, str) or not value.strip():
                continue
            names = jsonld.type_names(node)
            if names & jsonld.ARTICLE_TYPES:
                article_dates.append(value.strip())
            elif not names & _IGNORED_TYPES:
                other_dates.append(value.strip())
    yield from article_dates
    yield from other_dates
