"""`newsdesk shell`: the DuckDB CLI on the warehouse, read-only, extensions loaded, views ready.

The CLI is the `duckdb-cli` package's binary, pinned to the release of the `duckdb` module, so
the extensions of the `duckdb-extension-*` packages load into it as they load into the runs
(installed into the same directory inside the environment, never downloaded). A lake is
attached read-only as `lake` and made the default database: its views are there, and a DuckLake
reader never holds up a writer. A DuckDB file is opened with `-readonly`, which still keeps a
run from writing the file for as long as the session is open: the session says so, and
`--snapshot` opens a copy instead.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage import Warehouse

CLI_PACKAGE = "duckdb-cli"
OWN_OPTIONS = {"--db": True, "--snapshot": False, "-h": False, "--help": False}
"""`newsdesk shell`'s own options, and whether each takes a value; every other argument is the
DuckDB CLI's."""


class ShellError(RuntimeError):
    """The shell cannot be opened: no warehouse there, or no CLI matching this DuckDB."""


@dataclass(frozen=True)
class Shell:
    """The DuckDB CLI command line for one warehouse."""

    binary: Path
    database: str
    """What the CLI opens: the warehouse file, or `:memory:` with the lake attached."""
    init: str
    """Statements run before the first prompt or `-c` (one `-cmd`)."""
    lake: bool

    def argv(self, extra: Sequence[str] = ()) -> list[str]:
        # The database first: a bare SQL argument among `extra` is then taken as SQL.
        readonly = [] if self.lake else ["-readonly"]
        return [str(self.binary), self.database, *readonly, "-cmd", self.init, *extra]


def split_arguments(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(newsdesk's own options, the DuckDB CLI's arguments) of `newsdesk shell ARGS`: ours come
    first; the CLI's start at the first other argument, or after `--`."""
    own: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if arg == "--":
            i += 1
            break
        if name not in OWN_OPTIONS:
            break
        takes_value = OWN_OPTIONS[name] and "=" not in arg
        own += argv[i : i + 2] if takes_value else [arg]
        i += 2 if takes_value else 1
    return own, list(argv[i:])


def cli_binary() -> Path:
    """The DuckDB CLI binary of this environment's `duckdb-cli` package (never one on PATH),
    checked to be the release of the `duckdb` module whose extensions it will load."""
    wanted = importlib.metadata.version("duckdb")
    missing = (
        f"the DuckDB CLI is not installed: it comes with the package {CLI_PACKAGE}=={wanted} "
        "(run `make setup`)"
    )
    spec = importlib.util.find_spec("duckdb_cli")
    if spec is None or spec.origin is None:
        raise ShellError(missing)
    binary = Path(spec.origin).parent / ("duckdb.exe" if sys.platform == "win32" else "duckdb")
    if not binary.is_file():
        raise ShellError(missing)
    found = importlib.metadata.version(CLI_PACKAGE)
    release = re.match(r"\d+(\.\d+)*", found)
    if release is None or release.group() != wanted:
        raise ShellError(
            f"{CLI_PACKAGE} {found} is installed, but the extensions are DuckDB {wanted}'s: "
            f"install {CLI_PACKAGE}=={wanted} (run `make setup`)"
        )
    return binary


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _extensions(names: Sequence[str]) -> list[str]:
    """Statements that install `names` from their packages into the environment's extension
    directory when they are not there yet (a no-op otherwise) and load them; known extensions
    are never downloaded."""
    from storage.extensions import EXTENSION_DIRECTORY, extension_file

    statements = [
        f"SET extension_directory = {_literal(EXTENSION_DIRECTORY)}",
        "SET autoinstall_known_extensions = false",
    ]
    for name in names:
        statements += [f"INSTALL {_literal(extension_file(name))}", f"LOAD {name}"]
    return statements


def build(location: str, *, data_path: str | None = None) -> Shell:
    """The shell for the warehouse at `location` (a file, or a `ducklake:` URL); raises
    ShellError when there is none yet, or no CLI to open it with."""
    from storage.connection import WarehouseError
    from storage.lake import ALIAS, LakeSpec, is_lake

    binary = cli_binary()
    if not is_lake(location):
        if not Path(location).is_file():
            raise ShellError(f"{location}: no warehouse here yet (run `newsdesk ingest` first)")
        # fts: `fts_main_articles.match_bm25` works as in a run's connection.
        return Shell(binary, str(location), ";\n".join([*_extensions(["fts"]), ""]), lake=False)
    try:
        spec = LakeSpec.parse(location, data_path)
    except WarehouseError as exc:
        raise ShellError(str(exc)) from None
    if spec.catalog_path is not None and not spec.catalog_path.is_file():
        raise ShellError(f"{spec.url}: no lake here yet (run `newsdesk ingest` first)")
    names = ["ducklake", spec.catalog]
    if spec.data_path and "://" in spec.data_path:
        names.append("httpfs")
    statements = [
        *_extensions(names),
        f"ATTACH {_literal(spec.url)} AS {ALIAS} (READ_ONLY)",
        f"USE {ALIAS}",
        "",
    ]
    return Shell(binary, ":memory:", ";\n".join(statements), lake=True)


def exec_shell(shell: Shell, extra: Sequence[str]) -> None:
    """Replace this process by the CLI: its exit code, signals and terminal are the user's."""
    argv = shell.argv(extra)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


@contextlib.contextmanager
def snapshot_copy(warehouse: Warehouse) -> Iterator[Path]:
    """A consistent copy of `warehouse` in a temporary directory, removed on leaving."""
    with tempfile.TemporaryDirectory(prefix="newsdesk-shell-") as tmp:
        copy = Path(tmp) / "snapshot.duckdb"
        warehouse.snapshot(copy)
        yield copy


def run_shell(shell: Shell, extra: Sequence[str]) -> int:
    """Run the CLI as a child and return its exit code, for when something must happen after
    it (removing a copy). A Ctrl-C is the CLI's to handle (it cancels a query), not ours."""
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        return subprocess.call(shell.argv(extra))
    finally:
        signal.signal(signal.SIGINT, previous)
