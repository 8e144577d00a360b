"""DuckDB extensions from PyPI packages, loaded without a network.

DuckDB downloads extensions from its own repository on first use, which a machine without
internet cannot reach. Each `duckdb-extension-NAME` package on PyPI carries the signed binary
for one DuckDB release (the release `duckdb` is pinned to); `load_extension` installs it from
the package into a directory inside this environment (never `~/.duckdb`, which other projects
share) and loads it.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import duckdb

EXTENSION_DIRECTORY = Path(sys.prefix) / "share" / "duckdb" / "extensions"
"""Where installed extensions live: inside the virtualenv, so `make clean` removes them and
every checkout has its own."""


class ExtensionMissing(RuntimeError):
    """The package carrying an extension for this DuckDB release is not installed."""


def extension_file(name: str) -> Path:
    """The `.duckdb_extension` file shipped by the `duckdb-extension-NAME` package for the
    installed DuckDB release."""
    package = f"duckdb_extension_{name}"
    wanted = f"v{duckdb.__version__}"
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise ExtensionMissing(
            f"DuckDB extension {name!r} needs the package duckdb-extension-{name}=="
            f"{duckdb.__version__} (run `make setup`)"
        ) from None
    candidate = Path(str(root)) / "extensions" / wanted / f"{name}.duckdb_extension"
    if not candidate.is_file():
        found = sorted(p.name for p in (Path(str(root)) / "extensions").glob("v*"))
        raise ExtensionMissing(
            f"duckdb-extension-{name} carries {', '.join(found) or 'no release'}, "
            f"not DuckDB {wanted}: install duckdb-extension-{name}=={duckdb.__version__}"
        )
    return candidate


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load extension `name` into `con`, installing it from its PyPI package on first use."""
    EXTENSION_DIRECTORY.mkdir(parents=True, exist_ok=True)
    # Settings take no bound parameters; the path is ours, quoted as a literal.
    directory = str(EXTENSION_DIRECTORY).replace("'", "''")
    con.execute(f"SET extension_directory = '{directory}'")
    # Without a network, an autoload attempt would only fail slowly; everything we need is
    # installed from the packages.
    con.execute("SET autoinstall_known_extensions = false")
    installed = con.execute(
        "SELECT installed, loaded FROM duckdb_extensions() WHERE extension_name = ?", [name]
    ).fetchone()
    if installed and installed[1]:
        return
    if not (installed and installed[0]):
        path = str(extension_file(name)).replace("'", "''")
        con.execute(f"INSTALL '{path}'")
    con.execute(f"LOAD {name}")
