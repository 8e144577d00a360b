"""Generated pages and feeds: articles trafilatura reads as articles, RSS and Atom around them."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from xml.sax.saxutils import escape

HTML = {"Content-Type": "text/html; charset=utf-8"}
T0 = datetime(2026, 6, 1, tzinfo=UTC)
"""When `atom`'s feeds were last updated; entries are dated from it."""
WORDS = (
    "river",
    "council",
    "budget",
    "school",
    "harbour",
    "festival",
    "railway",
    "museum",
    "library",
    "bridge",
)
"""The words of generated articles."""


def article_page(
    title: str,
    seed: int | str,
    *,
    paragraphs: int = 6,
    heading: str | None = None,
    head: str = "",
    ending: str = ".",
) -> bytes:
    """A page trafilatura reads as an article: `title` in <title> (with `head` after it) and in
    <h1> (unless `heading` differs), then `paragraphs` paragraphs of 40 words drawn from
    `WORDS` by `seed`, each closed by `ending`. The same arguments give the same bytes."""
    rng = random.Random(seed)
    body = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + f"{ending}</p>"
        for _ in range(paragraphs)
    )
    return (
        f"<html><head><title>{title}</title>{head}</head><body><article>"
        f"<h1>{title if heading is None else heading}</h1>{body}</article></body></html>"
    ).encode()


def rss(items: Iterable[Mapping[str, str]], extra_prolog: str = "") -> bytes:
    """RSS 2.0; each item maps element names to (unescaped) text."""
    body = "".join(
        "<item>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items()) + "</item>"
        for item in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{extra_prolog}<rss version="2.0"><channel>'
        f"<title>t</title><link>http://news.invalid/</link>{body}</channel></rss>"
    ).encode()


def item(link: str, title: str, guid: str | None = None) -> dict[str, str]:
    """An RSS item: a headline, a link, a guid (the link by default) and a line of text."""
    return {"title": title, "link": link, "guid": guid or link, "description": f"About {title}"}


def headline_item(link: str, name: str) -> dict[str, str]:
    """An RSS item whose headline and text say they are the feed's ("Feed headline NAME",
    "About NAME from the feed."): an article stored from its feed is told from one stored from
    its page."""
    return {
        "title": f"Feed headline {name}",
        "link": link,
        "guid": link,
        "description": f"About {name} from the feed.",
        "pubDate": "Sun, 04 Jan 2026 10:00:00 GMT",
    }


def atom_entry(title: str, link: str, id: str, updated: datetime, summary: str) -> str:
    """One Atom entry, for `atom`."""
    return (
        f"<entry><title>{title}</title><link href='{escape(link)}'/><id>{id}</id>"
        f"<updated>{updated:%Y-%m-%dT%H:%M:%SZ}</updated><summary>{summary}</summary></entry>"
    )


def atom(title: str, id: str, entries: Iterable[str]) -> bytes:
    """An Atom feed of `entries` (`atom_entry`), updated at `T0`."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>{id}</id>"
        f"<updated>{T0:%Y-%m-%dT%H:%M:%SZ}</updated>{''.join(entries)}</feed>"
    ).encode()
