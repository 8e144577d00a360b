"""Feed dates written with month and weekday names in other languages.

Feeds in Portuguese, French, German, Polish... write RFC 822 dates in translation
(`Qua, 05 Mar 2025 10:00:00 -0300`, `lun, 3 mars 2025`, `Di, 04 Mär 2025 08:30:00 +0100`),
and feedparser knows English names only. `parse_localized_date` is registered with feedparser
(`feedparser.registerDateHandler`), so it answers for every feed date feedparser reads, and
returns a UTC time tuple as feedparser's own handlers do. The names come from CLDR through a
generated table (`tasks/feeds/date_names.py`), so the hot path is one regular expression and
two dictionary lookups.

Dates that are English throughout are left to feedparser, unchanged. Nothing is guessed: an
unknown month, weekday or zone name, or an impossible day, gives None. A date without a time
of day is midnight UTC of that day, like feedparser's; `has_time_of_day` tells the caller to
keep it as a day, never as an instant.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import feedparser

from tasks.feeds.date_names import ENGLISH_MONTHS, ENGLISH_WEEKDAYS, MONTHS, WEEKDAYS

__all__ = ["has_time_of_day", "impossible_day", "parse_localized_date"]

_DATE = re.compile(
    r"""\s*
    (?:(?P<weekday>[^\W\d_]+)\.?,?\s+)?
    (?P<day>\d{1,2})\.?\s+(?:de\s+)?
    (?P<month>[^\W\d_]+)\.?,?\s+(?:de\s+)?
    (?P<year>\d{4})
    (?:,?\s+(?:(?:à|às|as|a\ las|alle|ore|um|om|kl|klo|o)\.?\s+)?
        (?P<hour>\d{1,2})[:h](?P<minute>\d{2})(?::(?P<second>\d{2}))?
        (?:\s*(?P<zone>[+-]\d{2}:?\d{2}|[A-Za-z]{1,5}(?:[+-]\d{1,2}(?::?\d{2})?)?))?
    )?
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_NUMERIC_ZONE = re.compile(r"([+-])(\d{1,2}):?(\d{2})?$")
# Zone names seen in feeds, in minutes east of UTC. Ambiguous ones ("IST": India, Ireland or
# Israel) are not here, so a date that uses them is not parsed rather than put hours off. The
# US names have feedparser's values, so the same feed reads the same in any language.
_ZONES = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0, "wet": 0, "west": 60, "bst": 60,
    "cet": 60, "cest": 120, "met": 60, "mest": 120, "mez": 60, "mesz": 120,
    "eet": 120, "eest": 180, "msk": 180, "brt": -180, "brst": -120, "art": -180,
    "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360,
    "pst": -480, "pdt": -420,
}  # fmt: skip
_ISO_DAY = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_TIME_OF_DAY = re.compile(r"\d[T\s]\d{1,2}:\d{2}|\d{1,2}[:h]\d{2}\b")


def parse_localized_date(value: str) -> time.struct_time | None:
    """`Qua, 05 Mar 2025 10:00:00 -0300` and the like to a UTC time tuple; None otherwise.

    Day, month name, four-digit year, then optionally a time and a zone; a weekday name may
    lead, Iberian `de` may join ("5 de março de 2025"). None for dates English throughout
    (feedparser reads those), and for anything not understood.
    """
    match = _DATE.match(value)
    if match is None:
        return None
    month_name = match["month"].lower()
    weekday = (match["weekday"] or "").lower()
    month = MONTHS.get(month_name)
    if month is None or (weekday and weekday not in WEEKDAYS):
        return None
    if month_name in ENGLISH_MONTHS and (not weekday or weekday in ENGLISH_WEEKDAYS):
        return None
    offset = _offset(match["zone"]) if match["zone"] else 0
    if offset is None:
        return None
    try:
        local = datetime(
            int(match["year"]),
            month,
            int(match["day"]),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
        )
    except ValueError:  # 30 February, hour 25
        return None
    return (local - timedelta(minutes=offset)).replace(tzinfo=UTC).timetuple()


def has_time_of_day(value: str | None) -> bool:
    """Whether a feed's date string gives a time of day, not only a calendar day."""
    return bool(value and _TIME_OF_DAY.search(value))


def impossible_day(value: object) -> bool:
    """Whether a feed's date string is an ISO date of a day no calendar has (`2024-02-30`).

    feedparser's W3C-DTF reader rolls such a day over (`2024-02-30T10:00:00Z` came out as the
    1st of March); its RFC 822 reader and ours already give None for them.
    """
    match = _ISO_DAY.match(value) if isinstance(value, str) else None
    if match is None:
        return False
    try:
        year, month, day = (int(part) for part in match.groups())
        datetime(year, month, day)
    except ValueError:
        return True
    return False


def _offset(zone: str) -> int | None:
    """Minutes east of UTC, or None for a zone we cannot place."""
    zone = zone.lower()
    for prefix in ("gmt", "utc"):
        if zone.startswith(prefix) and len(zone) > len(prefix):
            zone = zone[len(prefix) :]
    numeric = _NUMERIC_ZONE.match(zone)
    if numeric is None:
        return _ZONES.get(zone)
    sign, hours, minutes = numeric.groups()
    if int(hours) > 14 or int(minutes or 0) >= 60:
        return None
    return (-1 if sign == "-" else 1) * (int(hours) * 60 + int(minutes or 0))


if parse_localized_date not in feedparser.datetimes._date_handlers:
    feedparser.registerDateHandler(parse_localized_date)
