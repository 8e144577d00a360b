"""Is a page an article? Section fronts, tag pages and video pages are not.

Feeds do link to pages that are not articles: a section front ("/politik/"), a tag or topic
listing ("/tag/klima/"), a video with a caption. Extracted like articles they give junk text
(a list of teasers, a player's captions), so they are recognised and stored as what they are.

The signals, none decisive alone:
- what the page says it is: JSON-LD `@type` (NewsArticle vs CollectionPage / ItemList /
  VideoObject) and `og:type` (article, website, video.*);
- its URL: `/tag/`, `/topics/`, `/thema/`, `/category/`, `/author/`, `/video/`;
- its shape: many teaser headings linking to other pages, and an extracted text made of those
  teasers, or a video player with almost no text.

An article type declared by the page and a body of running text win over everything else:
mistaking an article for a listing loses the article, the reverse only stores some junk.
Pure functions over an lxml tree.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

from tasks.models import PageType
from tasks.page import jsonld

_LISTING_TYPES = frozenset(
    {"collectionpage", "itemlist", "searchresultspage", "profilepage", "mediagallery"}
)
_VIDEO_TYPES = frozenset({"videoobject", "videogallery"})
_LISTING_PATH = re.compile(
    r"/(?:tag|tags|topic|topics|thema|themen|schlagwort|schlagworte|stichwort|category"
    r"|categories|kategorie|section|sections|ressort|rubrik|author|authors|autor|autoren"
    r"|archive|archiv|page)/",
    re.IGNORECASE,
)
_VIDEO_PATH = re.compile(r"/(?:video|videos|mediathek|watch|tv)/", re.IGNORECASE)
_PLAYER = re.compile(
    r"youtube\.com/embed|youtube-nocookie|player\.vimeo|dailymotion\.com/embed|jwplayer"
    r"|brightcove|players\.|/player/|videoplayer|video-player",
    re.IGNORECASE,
)
_MIN_TEASERS = 8
_ARTICLE_WORDS = 300
"""A text this long, not made of teaser headings, is an article whatever else the page says."""
_VIDEO_MAX_WORDS = 120


def classify_page(tree: HtmlElement, url: str, text: str, has_headline: bool) -> PageType:
    """`article`, `index` (section front, tag/topic/author listing) or `video`."""
    types = _declared_types(tree)
    og_type = _og_type(tree)
    declares_article = bool(types & jsonld.ARTICLE_TYPES) or og_type == "article"
    words = len(text.split())
    path = urlsplit(url).path or "/"

    video_declared = og_type.startswith("video") or bool(types & _VIDEO_TYPES)
    if (
        not declares_article
        and words < _VIDEO_MAX_WORDS
        and (video_declared or _VIDEO_PATH.search(path))
        and _has_player(tree)
    ):
        return "video"

    teasers = _teaser_titles(tree, url)
    teaser_share = _share_of_lines_in(text, teasers)
    if words >= _ARTICLE_WORDS and teaser_share < 0.3:
        return "article"
    score = 0
    if types & _LISTING_TYPES and not types & jsonld.ARTICLE_TYPES:
        score += 2
    if _LISTING_PATH.search(path) or (path.count("/") <= 2 and path.endswith("/")):
        score += 2 if _LISTING_PATH.search(path) else 1
    if og_type in ("website", ""):
        score += 1
    if len(teasers) >= _MIN_TEASERS and (teaser_share >= 0.3 or words < 100):
        score += 2
    if not has_headline:
        score += 1
    if declares_article:
        score -= 3
    return "index" if score >= 4 else "article"


def _declared_types(tree: HtmlElement) -> frozenset[str]:
    """JSON-LD types of the page's top-level objects (and their `mainEntity`)."""
    found: set[str] = set()
    for node in jsonld.top_nodes(tree):
        found |= jsonld.type_names(node)
        main = node.get("mainEntity")
        if isinstance(main, dict):
            found |= jsonld.type_names(main)
    return frozenset(found)


def _og_type(tree: HtmlElement) -> str:
    for meta in tree.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").strip().lower() == "og:type":
            return (meta.get("content") or "").strip().lower()
    return ""


def _has_player(tree: HtmlElement) -> bool:
    if next(tree.iter("video"), None) is not None:
        return True
    for element in tree.iter("iframe", "div", "script"):
        marks = " ".join(
            element.get(a) or "" for a in ("src", "data-src", "class", "id", "data-player")
        )
        if marks.strip() and _PLAYER.search(marks):
            return True
    return False


def _teaser_titles(tree: HtmlElement, url: str) -> set[str]:
    """Texts of headings that are links to other pages: the teasers of a listing."""
    here = urlsplit(url).path.rstrip("/")
    titles = set()
    for heading in tree.iter("h2", "h3", "h4"):
        text = " ".join(heading.text_content().split())
        if len(text.split()) < 3:
            continue
        for link in heading.iter("a"):
            href = (link.get("href") or "").strip()
            target = urlsplit(urljoin(url, href)).path.rstrip("/") if href else here
            if target != here and len(" ".join(link.text_content().split())) >= 0.6 * len(text):
                titles.add(text.casefold())
                break
    return titles


def _share_of_lines_in(text: str, titles: set[str]) -> float:
    lines = [" ".join(line.split()).casefold() for line in text.splitlines() if line.strip()]
    if not lines or not titles:
        return 0.0
    return sum(line in titles for line in lines) / len(lines)
