"""JSON-LD blocks of a page (`<script type="application/ld+json">`), read leniently.

Publishers' JSON-LD is often broken (trailing commas, raw newlines, HTML comment wrappers):
what parses is walked object by object; callers fall back to regexes on the raw text for the
rest. Pure functions over an lxml tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from lxml.html import HtmlElement

ARTICLE_TYPES = frozenset(
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


def blocks(tree: HtmlElement) -> Iterator[tuple[str, object | None]]:
    """Each JSON-LD script's raw text and its parsed value (None when it does not parse)."""
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        text = script.text or ""
        yield text, load(text)


def load(text: str) -> object | None:
    """The parsed JSON, or None when it does not parse or nests too deep for `json` to read."""
    cleaned = text.strip()
    for wrapper in ("<!--", "-->", "//<![CDATA[", "//]]>", "<![CDATA[", "]]>"):
        cleaned = cleaned.replace(wrapper, "")
    try:
        return json.loads(cleaned, strict=False)
    except (ValueError, RecursionError):
        # `json` recurses once per level: a block nested 100,000 deep raises RecursionError.
        # It is one unreadable block, not an unreadable page.
        return None


def top_nodes(tree: HtmlElement) -> Iterator[dict[str, object]]:
    """The top-level objects of the page's JSON-LD: each block's object, each object of a
    block that is a list, and each object of an `@graph`."""
    for _, data in blocks(tree):
        for top in data if isinstance(data, list) else [data]:
            if not isinstance(top, dict):
                continue
            graph = top.get("@graph")
            for node in graph if isinstance(graph, list) else [top]:
                if isinstance(node, dict):
                    yield node


def objects(data: object) -> Iterator[dict[str, object]]:
    """Every JSON object in a JSON-LD document, depth first, parents before children."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def type_names(node: dict[str, object]) -> frozenset[str]:
    """`{"@type": ["NewsArticle", "schema:Article"]}` → `{"newsarticle", "article"}`."""
    types = node.get("@type")
    return frozenset(
        str(t).lower().rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        for t in (types if isinstance(types, list) else [types])
        if t
    )


def article_headlines(tree: HtmlElement) -> list[str]:
    """`headline` of every article-typed JSON-LD object on the page."""
    found = []
    for _, data in blocks(tree):
        for node in objects(data):
            headline = node.get("headline")
            if isinstance(headline, str) and headline.strip() and type_names(node) & ARTICLE_TYPES:
                found.append(headline.strip())
    return found
