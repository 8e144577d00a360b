"""Fuzzing the page reader, the feed parser and the write path (hypothesis, seeded and bounded).

What is fuzzed:
- `test_page_fuzz`: real pages (the shared corpus's, and the demo sample's, which are always
  here) mutated — bytes flipped, truncated, nested 100,000 deep, giant attributes and scripts,
  an entity of an internal DTD subset repeated, hostile Unicode in the title, the meta tags,
  JSON-LD, the byline and the body — through `extract_article` in an extraction worker with
  the run's time limit (`NEWSDESK_EXTRACT_TIMEOUT`'s default), then staged into Arrow.
- `test_feed_fuzz`: real feeds (RSS, Atom, JSON Feed, sitemaps) mutated the same way through
  `parse_feed` in a parsing worker with the parse time limit.
- `test_write_fuzz`: hostile strings (lone surrogates, controls, bidi and zero-width runs,
  entities, long runs) in every text field of a feed entry and an article, written by
  `Warehouse.write` to a DuckDB file and to a DuckLake on a SQLite catalog, then read back.

The bounds every stored value keeps are in `bounds.py`: a headline of at most 300 characters
with a letter in it, at most 30 authors of at most 100 characters, no lone surrogates, no
controls but newline and tab in text and none in one-line fields, no bidi overrides or
zero-width characters in headlines, names, site names and datelines, a date between 1990 and
two days from now, no literal entity references.

Examples are few and derandomized so `make test` stays under 3 minutes and repeatable, and
nothing is shrunk (a page takes a worker round trip). To fuzz longer, with random seeds and
shrinking, scale the example counts:

    NEWSDESK_FUZZ_SCALE=20 .venv/bin/pytest tests/fuzz
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "fuzz",
    derandomize=True,
    database=None,  # nothing written into the repository
    # A worker past its time limit is the pool's to stop; this only catches a stall outside it.
    deadline=timedelta(seconds=150),
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    print_blob=True,
)
settings.register_profile(
    "fuzz-long",
    parent=settings.get_profile("fuzz"),
    derandomize=False,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
)
