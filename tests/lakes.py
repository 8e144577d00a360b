"""Lakes for tests: a real PostgreSQL server for catalogs, and the backends the storage contract
runs on (`harness.invariants` checks what every warehouse keeps)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.postgres import PostgresServer, PostgresUnavailable
from storage import Warehouse


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    # Not under pytest's tmp_path: its directories are private to us, and the server runs as
    # the postgres user.
    root = Path(tempfile.mkdtemp(prefix="newsdesk-postgres-"))
    root.chmod(0o755)
    try:
        server = PostgresServer(root)
    except PostgresUnavailable as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(str(exc))
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not be started: {exc.stderr.decode(errors='replace')}")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def lake_url(request, tmp_path) -> str:
    """A new lake on each catalog: SQLite under `tmp_path` (its data files beside it), and a
    database of its own on the session's PostgreSQL (data files at NEWSDESK_LAKE_DATA_PATH)."""
    if request.param == "sqlite":
        return f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    server = request.getfixturevalue("postgres")
    name = f"lake_{tmp_path.name.lower().replace('-', '_')}"
    return f"ducklake:postgres:{server.create_database(name)}"


BACKENDS = ("file", "sqlite-lake", "postgres-lake")
"""The warehouses every storage contract test runs on (see `backend`)."""


class LakeTemplates:
    """New, migrated lakes without the cost of creating each: a lake of each catalog is made
    once per session (`Warehouse.prepare`, a second or more of a test's few) and copied, its
    catalog file or, for PostgreSQL, its database (`createdb --template`), and its data files
    (the migrations' rows are Parquet files, data inlining being off), with the copy's data
    path set in its catalog (`ducklake_metadata`; data files are named relative to it). A test
    of creation itself asks for a fresh one (`Backend.location(fresh=True)`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sqlite: Path | None = None
        self._postgres: dict[int, str] = {}
        """Template databases by server port: each module that imports `postgres` has a
        server of its own."""

    def sqlite(self, catalog: Path) -> None:
        if self._sqlite is None:
            self._sqlite = self.root / "sqlite" / "catalog.sqlite"
            made = Warehouse(f"ducklake:sqlite:{self._sqlite}")
            made.prepare()
            made.close()  # its last connection folds the write-ahead log into the file
        catalog.parent.mkdir(parents=True)
        shutil.copyfile(self._sqlite, catalog)
        shutil.copytree(self._sqlite.parent / "data", catalog.parent / "data")
        with contextlib.closing(sqlite3.connect(catalog)) as con, con:
            con.execute(
                "UPDATE ducklake_metadata SET value = ? WHERE key = 'data_path'",
                [f"{catalog.parent / 'data'}/"],
            )

    def postgres(self, server: PostgresServer, database: str, data_path: str) -> str:
        template = self._postgres.get(server.port)
        if template is None:
            template = f"template_{self.root.name.lower().replace('-', '_')}"
            dsn = server.create_database(template)
            made = Warehouse(f"ducklake:postgres:{dsn}", data_path=f"{self.root / 'data'}/")
            made.prepare()
            made.close()  # createdb --template refuses a database with connections
            self._postgres[server.port] = template
        client = ["-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres"]
        subprocess.run(
            [str(server.bin / "createdb"), *client, "--template", template, database],
            check=True,
        )
        shutil.copytree(self.root / "data", data_path, dirs_exist_ok=True)
        subprocess.run(
            [
                str(server.bin / "psql"),
                *client,
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                database,
                "-c",
                f"UPDATE ducklake_metadata SET value = '{data_path}' WHERE key = 'data_path'",
            ],
            check=True,
        )
        return server.dsn(database)


_templates: list[LakeTemplates] = []
"""The session's, made by the first `backend` (a session fixture would have to be imported
into every module that uses `backend`, as `postgres` is)."""


@dataclass
class Backend:
    """One kind of warehouse, for a test to create new ones of under `root`."""

    name: str
    root: Path
    templates: LakeTemplates
    postgres: PostgresServer | None = None

    def location(self, name: str = "news", *, fresh: bool = False) -> str:
        """A new warehouse's `--db`: a file or a SQLite catalog (its data files beside it) in a
        folder `name`, or a database of its own on the session's PostgreSQL (its data files at
        `data_path`). A lake is a copy of a migrated one (`LakeTemplates`) unless `fresh`; a
        file is made by its first use."""
        if self.name == "file":
            return str(self.root / name / "news.duckdb")
        if self.name == "sqlite-lake":
            catalog = self.root / name / "catalog.sqlite"
            if not fresh:
                self.templates.sqlite(catalog)
            return f"ducklake:sqlite:{catalog}"
        assert self.postgres is not None and self.data_path is not None
        database = f"lake_{self.root.name.lower().replace('-', '_')}_{name}"
        if fresh:
            return f"ducklake:postgres:{self.postgres.create_database(database)}"
        dsn = self.templates.postgres(self.postgres, database, self.data_path)
        return f"ducklake:postgres:{dsn}"

    @property
    def data_path(self) -> str | None:
        """Where a PostgreSQL-catalog lake keeps its Parquet files (one folder for the test's
        lakes: their files' names are unique)."""
        return f"{self.root / 'lake-data'}/" if self.name == "postgres-lake" else None

    def warehouse(self, name: str = "news", *, fresh: bool = False, **options: Any) -> Warehouse:
        return Warehouse(self.location(name, fresh=fresh), data_path=self.data_path, **options)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, tmp_path_factory, monkeypatch) -> Backend:
    """Each backend in turn, as dlt runs its tests over destination configs. The CLI and the
    flows read a PostgreSQL lake's data path from NEWSDESK_LAKE_DATA_PATH, set here. A test
    that needs fewer backends says which: `@on("file", "sqlite-lake")`."""
    server = request.getfixturevalue("postgres") if request.param == "postgres-lake" else None
    if not _templates:
        _templates.append(LakeTemplates(tmp_path_factory.mktemp("lake-templates")))
    chosen = Backend(request.param, tmp_path, _templates[0], server)
    if chosen.data_path is not None:
        monkeypatch.setenv("NEWSDESK_LAKE_DATA_PATH", chosen.data_path)
    return chosen


def on(*names: str) -> pytest.MarkDecorator:
    """Run a test of the contract on these backends only (see `backend`)."""
    assert set(names) <= set(BACKENDS), names
    return pytest.mark.parametrize("backend", names, indirect=True)
