"""A hook for showing progress: the CLI installs a reporter, everything else just calls `report`.

The default reporter does nothing, so stages stay silent under Prefect workers and in tests.
"""

from __future__ import annotations

from collections.abc import Callable

Reporter = Callable[[str, int, int | None], None]
"""(stage, units just completed, new total or None)"""

_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def report(stage: str, advance: int = 0, total: int | None = None) -> None:
    if _reporter is not None:
        _reporter(stage, advance, total)
