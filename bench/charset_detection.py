"""What charset detection costs the extraction workers, per page.

    .venv/bin/python -m bench.charset_detection [CORPUS_DIR]

`decode_html` runs once per page in the extraction workers; the detector (charset-normalizer)
runs only for bytes that declare no charset (or claim UTF-8 falsely) and are not UTF-8.
Measured, each call the best of 3 with the garbage collector paused, on three sets:

* `as served`: the corpus pages as they are (every one is UTF-8 or declares its charset, so
  the detector never runs): the everyday cost;
* `legacy script`: the Korean, Russian and Japanese corpus pages written out in EUC-KR, CP949,
  KOI8-R, windows-1251 and Shift_JIS (CP932) with their declarations removed: the detector
  runs and answers; next to it the old path, decoding the same bytes as windows-1252;
* `latin, undeclared`: every other UTF-8 corpus page written out in windows-1252 without
  declaration: the detector runs and declines, the worst case for the pages it leaves alone.

Printed: pages, median and maximum ms per page, and total ms, for each set.
"""

from __future__ import annotations

import gc
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness.corpus import CORPUS
from tasks.encoding import decode_html

TRIES = 3
LEGACY_SCRIPT = {
    "aeb-0ec95c7261d122f3.html": "euc_kr",
    "aeb-9da36ae4714bfccc.html": "cp949",
    "aeb-3c6d3381ef52ca26.html": "koi8_r",
    "aeb-ff0f958ade714ebf.html": "koi8_r",
    "aeb-c4a3637c6696f238.html": "cp1251",
    "aeb-c82b3d1d540bbbd6.html": "cp1251",
    "aeb-85439e26c41c7590.html": "cp932",
    "aeb-f105de6e63ca91ea.html": "cp932",
}
_DECLARATION = re.compile(rb"""(?i)(<meta[^>]*?)charset=["']?[-\w]+["']?""")


def best_ms(call: Callable[[], object]) -> float:
    best = float("inf")
    gc.disable()
    try:
        for _ in range(TRIES):
            started = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - started)
    finally:
        gc.enable()
    return best * 1000


def undeclared(utf8_page: bytes, encoding: str) -> bytes:
    text = _DECLARATION.sub(rb"\1", utf8_page).decode("utf-8")
    return text.encode(encoding, "xmlcharrefreplace")


def page_sets(corpus: Path) -> dict[str, list[bytes]]:
    sets: dict[str, list[bytes]] = {"as served": [], "legacy script": [], "latin, undeclared": []}
    for path in sorted((corpus / "articles").glob("*.html")):
        body = path.read_bytes()
        sets["as served"].append(body)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if path.name in LEGACY_SCRIPT:
            sets["legacy script"].append(undeclared(body, LEGACY_SCRIPT[path.name]))
        else:
            sets["latin, undeclared"].append(undeclared(body, "cp1252"))
    return sets


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    if not (corpus / "articles").is_dir():
        sys.exit(f"corpus not found at {corpus}: pass its path (../shared/corpus)")
    print(f"{'set':<34}{'pages':>6}{'median ms':>11}{'max ms':>9}{'total ms':>10}")
    for name, bodies in page_sets(corpus).items():
        rows = {name: [best_ms(lambda b=b: decode_html("text/html", b)) for b in bodies]}
        if name == "legacy script":
            rows["legacy script, as windows-1252"] = [
                best_ms(lambda b=b: b.decode("cp1252", "replace")) for b in bodies
            ]
        for label, times in rows.items():
            print(
                f"{label:<34}{len(times):>6}{statistics.median(times):>11.3f}"
                f"{max(times):>9.2f}{sum(times):>10.1f}"
            )


if __name__ == "__main__":
    main()
