"""Writes `tasks/feeds/date_names.py` from CLDR month and weekday names (through Babel).

    .venv/bin/python tests/date_names_cldr.py --write

Babel is a development dependency only: the table is committed, so parsing a feed date never
loads CLDR data. `tests/feeds/test_feed_dates.py` checks that the committed table is what this
script makes.
"""

from __future__ import annotations

import sys
import textwrap
import unicodedata
from collections import defaultdict
from pathlib import Path

from babel import Locale
from babel import __version__ as babel_version

TABLE = Path(__file__).parents[1] / "tasks" / "feeds" / "date_names.py"
LANGUAGES = (
    "pt", "es", "ca", "gl", "it", "fr", "de", "nl", "sv", "da", "nb", "nn", "fi", "pl", "cs",
    "sk", "sl", "ro", "tr", "id", "ru", "uk", "en",
)  # fmt: skip
"""Languages that feeds are seen writing RFC 822 dates in, day before month. Not Croatian:
its "listopad" is October, Czech and Polish "listopad" November."""


def _forms(name: str) -> set[str]:
    """The name lower-cased without its abbreviation dot, and without accents if it is Latin."""
    name = name.lower().strip().rstrip(".")
    forms = {name}
    if name.isascii() or "LATIN" in unicodedata.name(name[0], ""):
        decomposed = unicodedata.normalize("NFD", name)
        forms.add("".join(c for c in decomposed if not unicodedata.combining(c)))
    return {form for form in forms if form.isalpha()}


def build() -> tuple[dict[str, int], set[str], set[str], set[str]]:
    """Month names to numbers, weekday names, and the English ones of each."""
    names: dict[str, set[int]] = defaultdict(set)
    prefixes: dict[str, set[int]] = defaultdict(set)
    weekdays: set[str] = set()
    english_months: set[str] = set()
    english_weekdays: set[str] = set()
    for language in LANGUAGES:
        locale = Locale.parse(language)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in locale.months[context][width].items():
                    for form in _forms(name):
                        names[form].add(number)
                        if language == "en":
                            english_months.add(form)
                        if width == "wide" and len(form) > 3:
                            # "Mär", "Fev", "Okt": the first three letters, as feeds write them.
                            prefixes[form[:3]].add(number)
            for width in ("wide", "abbreviated", "short"):
                for name in locale.days[context][width].values():
                    weekdays |= _forms(name)
                    if language == "en":
                        english_weekdays |= _forms(name)
    for prefix, numbers in prefixes.items():
        names.setdefault(prefix, numbers)  # CLDR's own abbreviations win over prefixes
    # A name that means two months in two languages ("jui": juin or juillet) is left out.
    months = {name: min(numbers) for name, numbers in names.items() if len(numbers) == 1}
    return months, weekdays, english_months & set(months), english_weekdays


def _words(names: set[str] | list[str], indent: str) -> str:
    """Names as one string literal split over lines, to be `.split()`."""
    lines = textwrap.wrap(" ".join(sorted(names)), 92 - len(indent), break_long_words=False)
    return "\n".join(f'{indent}"{line} "' for line in lines)


def render() -> str:
    months, weekdays, english_months, english_weekdays = build()
    by_number: dict[int, list[str]] = defaultdict(list)
    for name, number in months.items():
        by_number[number].append(name)
    about = textwrap.fill(
        f"Made by `tests/date_names_cldr.py` from CLDR (Babel {babel_version}) for "
        f"{', '.join(LANGUAGES)}: lower-cased, without the abbreviation dot, Latin ones also "
        "without accents, plus the first three letters of each month; a name that means two "
        "different months is left out.",
        96,
    )
    parts = [
        '"""Month and weekday names of feed dates in many languages; generated, do not edit.',
        "",
        about,
        '"""',
        "",
        "",
        "def _words(text: str) -> list[str]:",
        "    return text.split()",
        "",
        "",
        "MONTHS: dict[str, int] = {",
    ]
    for number in sorted(by_number):
        parts += ["    **dict.fromkeys(", "        _words(", _words(by_number[number], " " * 12)]
        parts += ["        ),", f"        {number},", "    ),"]
    parts.append("}")
    for name, names in (
        ("WEEKDAYS", weekdays),
        ("ENGLISH_MONTHS", english_months),
        ("ENGLISH_WEEKDAYS", english_weekdays),
    ):
        parts += [f"{name} = frozenset(", "    _words(", _words(names, " " * 8), "    )", ")"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    TABLE.write_text(render())
