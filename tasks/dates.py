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

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from lxml.html import HtmlElement

from tasks.models import DatePrecision

PageDate = tuple[datetime | None, DatePrecision | None]

EARLIEST_YEAR = 1995
"""Older "publication" dates on news pages are copyright years or broken fields."""

FUTURE_SLACK = timedelta(days=1)
"""Dates later than now by more than this are rejected (scheduled posts, typos)."""

_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "blogposting",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "askpublicnewsarticle",
        "satiricalarticle",
        "liveblogposting",
        "techarticle",
        "scholarlyarticle",
        "medicalscholarlyarticle",
        "report",
        "socialmediaposting",
        "posting",
    }
)
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


def _accept(value: datetime) -> bool:
    if value.year < EARLIEST_YEAR:
        return False
    return value <= datetime.now(UTC) + FUTURE_SLACK


def _as_day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def parse_date(value: str) -> tuple[datetime, DatePrecision] | None:
    """Parse one date string from a page into an aware UTC datetime and its precision.

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
        instant = parsed.astimezone(UTC)
        return (instant, "second") if _accept(instant) else None
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
        instant = datetime(year, month, day, hour, minute, second, tzinfo=offset).astimezone(UTC)
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


def find_published(page: HtmlElement | str, url: str | None = None) -> PageDate:
    """The publication date a page declares, in UTC, with its precision; `(None, None)` if none.

    Looks, in order, at JSON-LD `datePublished` (article types first, then other types),
    publication `<meta>` tags, then `itemprop="datePublished"` and `<time datetime>` inside
    the article. The first source that parses wins, except that a later source may add the
    time of day to an earlier date-only value when both agree on the calendar day.
    `url` is accepted for symmetry with the other page readers and for future URL-date rules.
    """
    tree = _as_tree(page)
    if tree is None:
        return None, None
    best: tuple[datetime, DatePrecision] | None = None
    for raw in _candidates(tree):
        parsed = parse_date(raw)
        if parsed is None:
            continue
        if parsed[1] != "day":
            if best is None or best[0].date() == _local_date(raw, parsed[0]):
                return parsed
            continue
        if best is None:
            best = parsed
    return best if best else (None, None)


def _local_date(raw: str, instant: datetime) -> date:
    """The calendar date as written in the string (before conversion to UTC)."""
    match = _ISO.match(raw)
    if match:
        try:
            return _as_day(int(match["y"]), int(match["m"]), int(match["d"])).date()
        except ValueError:
            pass
    return instant.date()


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
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        text = script.text or ""
        data = _load_json(text)
        if data is None:
            # Broken JSON is common (trailing commas, raw newlines); a regex still finds dates.
            other_dates.extend(re.findall(r'"datePublished"\s*:\s*"([^"]{6,40})"', text))
            continue
        for node in _walk(data):
            value = node.get("datePublished")
            if not isinstance(value, str) or not value.strip():
                continue
            types = node.get("@type")
            type_names = {
                str(t).lower().rsplit("/", 1)[-1]
                for t in (types if isinstance(types, list) else [types])
                if t
            }
            if type_names & _ARTICLE_TYPES:
                article_dates.append(value.strip())
            elif not type_names & _IGNORED_TYPES:
                other_dates.append(value.strip())
    yield from article_dates
    yield from other_dates


def _load_json(text: str) -> object | None:
    cleaned = text.strip()
    for wrapper in ("<!--", "-->", "//<![CDATA[", "//]]>", "<![CDATA[", "]]>"):
        cleaned = cleaned.replace(wrapper, "")
    try:
        return json.loads(cleaned, strict=False)
    except ValueError:
        return None


def _walk(data: object) -> Iterator[dict[str, object]]:
    """Every JSON object in a JSON-LD document, depth first, parents before children."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
