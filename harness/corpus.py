"""Where the shared corpus lives (`../shared/corpus`), and the marker for tests that need it."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).parents[2] / "shared" / "corpus"
"""`../shared/corpus` from the repository root: HTML pages in `articles/`, feeds in `feeds/`."""

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="../shared/corpus is absent: corpus-wide tests need it"
)
