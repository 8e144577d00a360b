"""Bytes to text: the one place a page's charset is decided.

A leaf with no network code, so the extraction workers that decode pages import only this, not
the HTTP client.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import html_to_unicode, http_content_type_encoding


def decode_html(content_type: str | None, body: bytes) -> str:
    """Decode an HTML body the way a browser would, without mojibake.

    Order: byte-order mark, charset of the Content-Type header, `<meta charset>`, then a guess
    (UTF-8 when the bytes are mostly valid UTF-8, else windows-1252). Browsers trust a header that
    says UTF-8 even when the bytes are Latin-1; we do not, because UTF-8 is the one charset
    whose claim can be checked. A header saying UTF-8 over bytes that mostly are not is ignored
    in favour of `<meta charset>` and the guess.
    """
    declared = http_content_type_encoding(content_type)
    if declared and codecs.lookup(declared).name == "utf-8" and _guess_encoding(body) != "utf-8":
        content_type = None
    _, text = html_to_unicode(content_type, body, auto_detect_fun=_guess_encoding)
    return text


def _guess_encoding(body: bytes) -> str:
    """UTF-8 when most non-ASCII bytes form valid UTF-8, else windows-1252 (the web's default)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
        invalid = text.count("\ufffd")
        valid = sum(1 for char in text if char > "\x7f") - invalid
        return "utf-8" if valid > invalid else "cp1252"
    return "utf-8"
