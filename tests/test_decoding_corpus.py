"""Charset detection must not change how any real corpus page or feed decodes.

`fixtures/corpus_decodes.json` holds a hash of the decoded text of every corpus page
(`decode_html`) and every corpus feed (titles, summaries, content and authors from
`parse_feed`), written before charset detection existed. A file whose decode changes must be
listed in `FIXED` with the reason its old decode was wrong. Rewrite the hashes after such a
fix with `.venv/bin/python tests/test_decoding_corpus.py --write`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from harness.corpus import CORPUS, needs_corpus
from tasks.encoding import decode_html
from tasks.feeds.parse import parse_feed

EXPECTED = Path(__file__).parent / "fixtures" / "corpus_decodes.json"
FIXED = {
    "feeds/feedparser-big5.xml": "Big5 without any declaration was read as windows-1252 "
    "(mojibake title); now detected as Big5, as feedparser's own test expects",
    "feeds/nnw-phpxml_rss.xml": "a title kept the zero-width no-break space inside it "
    '("Column: \\ufeffWat een wedstrijd"); entry titles are now cleaned as page headlines are',
}
"""Files whose decode changed on purpose, and why the old one was wrong."""


def _digest(*texts: str | None) -> str:
    joined = "\x1f".join(text or "" for text in texts)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _page_digest(path: Path) -> str:
    return _digest(decode_html(None, path.read_bytes()))


def _feed_digest(path: Path) -> str:
    feed = parse_feed(path.name, path.read_bytes(), "https://corpus.invalid/feed.xml")
    texts = [feed.title]
    for entry in feed.entries:
        texts += [entry.title, entry.summary, entry.content, "; ".join(entry.authors)]
    return _digest(*texts)


def _corpus_files() -> dict[str, Path]:
    pages = sorted((CORPUS / "articles").glob("*.html"))
    feeds = sorted(p for p in (CORPUS / "feeds").iterdir() if p.name != "manifest.jsonl")
    return {f"articles/{p.name}": p for p in pages} | {f"feeds/{p.name}": p for p in feeds}


def _digest_of(name: str, path: Path) -> str:
    return _page_digest(path) if name.startswith("articles/") else _feed_digest(path)


@pytest.mark.corpus
@needs_corpus
def test_every_corpus_page_and_feed_decodes_as_before() -> None:
    expected = json.loads(EXPECTED.read_text())
    files = _corpus_files()
    assert set(expected) <= set(files), "corpus files missing: rewrite the hashes"
    changed = sorted(
        name
        for name, path in files.items()
        if name in expected and _digest_of(name, path) != expected[name]
    )
    assert [name for name in changed if name not in FIXED] == []


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    digests = {name: _digest_of(name, path) for name, path in _corpus_files().items()}
    EXPECTED.write_text(json.dumps(digests, indent=0, sort_keys=True) + "\n")
