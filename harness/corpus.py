"""The shared corpus (`../shared/corpus`): where it lives, its scorer, the marker for its tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

CORPUS = Path(__file__).parents[2] / "shared" / "corpus"
"""`../shared/corpus` from the repository root: HTML pages in `articles/`, feeds in `feeds/`."""

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="../shared/corpus is absent: corpus-wide tests need it"
)


def load_scorer(corpus: Path = CORPUS) -> ModuleType:
    """The shared body scorer, `extract_f1.py` in the `tools/` beside the corpus."""
    spec = importlib.util.spec_from_file_location(
        "extract_f1", corpus.parent / "tools" / "extract_f1.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
