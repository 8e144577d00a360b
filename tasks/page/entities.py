"""Entity references a page's markup holds, settled before the markup is parsed.

An HTML parser keeps a reference to an entity it does not know as literal text: `&foo;` stays
`&foo;`, and so does a reference to an entity that an XHTML page defines in its DOCTYPE's
internal subset (`<!ENTITY lol "lol">`), which HTML parsers ignore. Such a page referencing its
entity 50,000 times had 250,000 characters of `&lol;` stored as its body. Browsers show the
literal; we drop it, since it is markup the publisher meant to be replaced, not words.

So, on the page's text before it is parsed: the internal subset is removed (its entities are
never expanded, the billion-laughs shape is one of its uses), a reference to a named character
of HTML5 is left to the parser (or written as a numeric reference when the parser's list
predates HTML5), and any other named reference is dropped. Script and style contents are
left as they are. `&amp;foo;` is text that reads
`&foo;` and is left alone, as are names without a semicolon (`AT&T`, `?a=1&b=2`).
Pure functions over a string; no I/O.
"""

from __future__ import annotations

import re
from html.entities import html5, name2codepoint

# Script and style contents are raw text, where `&x;` is code (`a&&s;`), not a reference: they
# are matched whole and kept. One left open runs to the end, as in browsers, which also keeps
# the scan linear on a page of unclosed `<script>` tags.
_REFERENCE = re.compile(
    r"<(script|style)\b(?:.*?</\1\s*>|.*\Z)|&([A-Za-z][A-Za-z0-9]{0,40});",
    re.IGNORECASE | re.DOTALL,
)
_NAME = re.compile(r"&([A-Za-z][A-Za-z0-9]{0,40});")
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_INTERNAL_SUBSET = re.compile(r"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.IGNORECASE | re.DOTALL)
_DOCTYPE_WITHIN = 4096
"""Characters from the start in which a DOCTYPE is looked for (after an XML declaration, a
byte-order mark and comments); an internal subset is sought only inside one."""


def settle_entities(html: str) -> str:
    """`html` with its DOCTYPE's internal subset removed and unknown named references dropped."""
    doctype = _DOCTYPE.search(html, 0, _DOCTYPE_WITHIN)
    subset = _INTERNAL_SUBSET.match(html, doctype.start()) if doctype else None
    if subset:
        # `<!DOCTYPE html PUBLIC "…" "…" [ … ]>` → `<!DOCTYPE html PUBLIC "…" "…">`
        opening = html.index("[", subset.start())
        html = f"{html[:opening].rstrip()}>{html[subset.end() :]}"
    # Most pages hold only references every parser knows: one quick scan says so.
    if all(_known(name) for name in _NAME.findall(html)):
        return html
    return _REFERENCE.sub(_settle, html)


def _settle(match: re.Match[str]) -> str:
    name = match.group(2)
    if name is None:
        return match.group()  # a script or a style
    if _known(name):
        return match.group()
    characters = html5.get(name + ";")
    if characters is None:
        return ""
    return "".join(f"&#{ord(c)};" for c in characters)


def _known(name: str) -> bool:
    """Known to every HTML parser, in text and in attributes."""
    return name in name2codepoint or name == "apos"
