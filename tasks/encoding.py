"""Bytes to text: the one place a page's or feed's charset is decided.

A leaf with no network code, so the extraction workers that decode pages import only this, not
the HTTP client.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
)

__all__ = ["decode_html", "detect_legacy_encoding"]

_SCAN_BYTES = 512 * 1024
"""Markup scanned for text to detect from; a page's head and first screens are enough."""
_SAMPLE_BYTES = 4096
"""Text handed to the detector: 1,300 CJK or 2,000 Cyrillic characters. The detector's cost
grows with its input (16 KiB cost 3x as much at the slowest page), and it runs per page in
the extraction workers."""
_MIN_SCRIPT_SHARE = 0.25
"""Share of the sample's letters that must lie outside ASCII when decoded with the detected
encoding. Pages in a non-Latin script are written in it: 69-99% on the legacy pages of the
tests. Latin-script pages misread as CJK, where a curly-quote byte and the letter after it
form a kanji, stayed below 1% (6 of the 282 corpus pages written out in windows-1252, when
the sample was 16 KiB)."""
_MAX_CHAOS = 0.3
"""charset-normalizer's "mess" allowed per chunk (its default is 0.2). Japanese pages full of
English product names and fullwidth signs score 0.2-0.3 in some chunks; the right encoding
scored 0.00-0.15 on the legacy pages of the tests, the runners-up 0.10-0.75."""
_PRESCAN_BYTES = 4096
"""Bytes scanned for `<meta charset>` (w3lib reads as many) and for UTF-16's zero bytes."""
_MIN_UTF16_ZEROS = 0.2
"""Share of UTF-16 code units with a zero byte on one side for bytes to be read as UTF-16.
ASCII markup alone gives well over half on real pages; one zero byte in five is already more
than any 8-bit or UTF-8 page has."""
_X_USER_DEFINED = re.compile(rb"charset\s*=\s*[\"']?\s*x-user-defined", re.IGNORECASE)
_MARKUP = re.compile(
    rb"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<!\[CDATA\[|\]\]>|<[^>]*>", re.IGNORECASE | re.DOTALL
)
# Encodings of scripts other than Latin: the detector's answer is taken only for these. Among
# Latin-script encodings it is unreliable (it calls German and Portuguese windows-1252 text
# windows-1250, which breaks "ã" and "„"), so Latin text keeps the windows-1252 default, as
# browsers do. The names are Python's canonical codec names.
_NON_LATIN = frozenset(
    codecs.lookup(name).name
    for name in (
        "big5", "big5hkscs", "cp950", "gb2312", "gbk", "gb18030",
        "shift_jis", "cp932", "euc_jp", "euc_jis_2004",
        "euc_kr", "cp949", "johab",
        "koi8_r", "koi8_u", "cp1251", "cp866", "iso8859_5", "mac_cyrillic",
        "cp1253", "iso8859_7", "cp1255", "iso8859_8", "cp1256", "iso8859_6", "cp874", "tis_620",
    )
)  # fmt: skip


def decode_html(content_type: str | None, body: bytes) -> str:
    """Decode an HTML body the way a browser would, without mojibake.

    The WHATWG order: byte-order mark, charset of the Content-Type header, `<meta charset>`
    (the prescan), then a guess: UTF-8 when the bytes are mostly valid UTF-8, else the detected
    legacy encoding of a non-Latin script (Big5, GBK, Shift_JIS, EUC-KR, KOI8-R,
    windows-1251...), else windows-1252. As in browsers, a UTF-16 label found by the prescan
    means UTF-8 (bytes that can be prescanned as ASCII are not UTF-16) and `x-user-defined`
    there means windows-1252.

    Two claims are checked before they are trusted, where browsers trust them blindly: a
    UTF-8 claim (header or `<meta>`) over bytes that mostly are not UTF-8 is ignored, and so
    is a header's UTF-16 claim over bytes without a byte-order mark that do not have UTF-16's
    zero bytes; a wrong claim of either kind would cost the whole text.
    """
    if read_bom(body)[0] is not None:
        return html_to_unicode(None, body)[1]
    declared = http_content_type_encoding(content_type)
    if _codec_name(declared).startswith("utf-32"):
        declared = None  # no label in the Encoding Standard: browsers ignore it
    if _is_utf16_name(declared):
        declared = _utf16_order(body)
    if _is_utf8_name(declared) and not _mostly_utf8(body):
        declared = None
    encoding = declared or _prescanned_encoding(body)
    if encoding is None or (_is_utf8_name(encoding) and not _mostly_utf8(body)):
        encoding = _guess_encoding(body)
    return html_to_unicode(f"text/html; charset={encoding}", body)[1]


def _prescanned_encoding(body: bytes) -> str | None:
    """The encoding `<meta charset>` declares, with the prescan's own rules for two labels."""
    meta = html_body_declared_encoding(body)
    if _is_utf16_name(meta):
        return "utf-8"
    if meta is None and _X_USER_DEFINED.search(body, 0, _PRESCAN_BYTES):
        # w3lib knows no codec by that name and answers None; browsers read windows-1252.
        return "cp1252"
    if _codec_name(meta).startswith("utf-32"):
        return None  # as in the header
    return meta


def _utf16_order(body: bytes) -> str | None:
    """`utf-16-le` or `utf-16-be` when the bytes look like UTF-16, else None.

    HTML in UTF-16 is mostly ASCII markup, each character with a zero byte (the second of a
    pair in little endian, the first in big endian); text in any other encoding has next to
    none. The Encoding Standard reads the bare `utf-16` label as little endian.
    """
    sample = body[:_PRESCAN_BYTES]
    pairs = len(sample) // 2
    if not pairs:
        return None
    high = sample[1::2].count(0)
    low = sample[0::2].count(0)
    if max(high, low) < _MIN_UTF16_ZEROS * pairs:
        return None
    return "utf-16-le" if high >= low else "utf-16-be"


def detect_legacy_encoding(body: bytes) -> str | None:
    """The non-Latin legacy encoding of bytes that declare none, or None if there is no sign of one.

    Only the text between tags goes to the detector (markup is ASCII in every encoding we
    accept, and `<`/`>` never occur inside their multi-byte characters), at most
    `_SAMPLE_BYTES` of it. Callers run this only for bytes that are not UTF-8.
    """
    text = _text_sample(body)
    if text.isascii():
        return None
    match = charset_normalizer.from_bytes(text, threshold=_MAX_CHAOS).best()
    if match is None or codecs.lookup(match.encoding).name not in _NON_LATIN:
        return None
    letters = [char for char in str(match) if char.isalpha()]
    foreign = sum(not char.isascii() for char in letters)
    if not foreign or foreign < _MIN_SCRIPT_SHARE * len(letters):
        return None
    return codecs.lookup(match.encoding).name


def _text_sample(body: bytes) -> bytes:
    """The first `_SAMPLE_BYTES` of text between tags, runs of whitespace made one space."""
    chunks: list[bytes] = []
    size = start = 0
    for markup in _MARKUP.finditer(body, 0, _SCAN_BYTES):
        chunk = b" ".join(body[start : markup.start()].split())
        start = markup.end()
        if chunk:
            chunks.append(chunk)
            size += len(chunk) + 1
            if size >= _SAMPLE_BYTES:
                break
    else:
        chunks.append(b" ".join(body[start:_SCAN_BYTES].split()))
    sample = b" ".join(chunks)
    if len(sample) <= _SAMPLE_BYTES:
        return sample
    # Cut after a byte below 0x40: it is never the second byte of a multi-byte character in
    # these encodings, and half a character at the end makes the detector rule the right
    # encoding out.
    cut = max(sample.rfind(bytes([byte]), 0, _SAMPLE_BYTES) for byte in b" .,:;0123456789")
    return sample[: cut + 1] if cut > _SAMPLE_BYTES // 2 else sample[: 2 * _SAMPLE_BYTES]


def _guess_encoding(body: bytes) -> str:
    """UTF-8 when most non-ASCII bytes form valid UTF-8, else a detected non-Latin legacy
    encoding, else windows-1252 (the web's default)."""
    if _mostly_utf8(body):
        return "utf-8"
    return detect_legacy_encoding(body) or "cp1252"


def _mostly_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
        invalid = text.count("\ufffd")
        non_ascii = len(text) - len(text.encode("ascii", "ignore"))
        return non_ascii - invalid > invalid
    return True


def _codec_name(name: str | None) -> str:
    """Python's canonical name of a codec, or "" for None and unknown names."""
    if not name:
        return ""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def _is_utf16_name(name: str | None) -> bool:
    return _codec_name(name).startswith("utf-16")


def _is_utf8_name(name: str | None) -> bool:
    if not name:
        return False
    try:
        return codecs.lookup(name).name == "utf-8"
    except LookupError:
        return False
