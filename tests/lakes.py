"""Lakes for tests: a real PostgreSQL server for catalogs, the backends the storage contract runs
on, and a site whose feeds overlap (the invariants every warehouse keeps are `invariants`')."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from harness.httpserver import LocalServer, Reply, Seen
from harness.postgres import PostgresServer, PostgresUnavailable
from storage import Warehouse
from tasks.urls import normalize_url

NEWSDESK = str(Path(sys.executable).parent / "newsdesk")
WORDS = [
    "river",
    "council",
    "budget",
    "school",
    "harbour",
    "festival",
    "railway",
    "museum",
    "library",
    "bridge",
]
T0 = datetime(2026, 6, 1, tzinfo=UTC)


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
            Warehouse(f"ducklake:sqlite:{self._sqlite}").prepare()
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


class OverlapSite:
    """`feeds` Atom feeds; story n is listed by feeds n % feeds and (n + 1) % feeds, so every
    story arrives through two feeds and every feed shares stories with two others."""

    def __init__(self, server: LocalServer, feeds: int, stories: int) -> None:
        self.server = server
        self.feeds = feeds
        self.stories = stories
        for feed in range(feeds):
            server.routes[f"/feed-{feed}.xml"] = self._feed_route(feed)
        server.routes["/robots.txt"] = Reply(status=404)

    def link(self, n: int) -> str:
        return self.server.url(f"/story-{n}.html")

    def listing(self, feed: int) -> list[int]:
        return [n for n in range(self.stories) if feed in (n % self.feeds, (n + 1) % self.feeds)]

    def listed(self) -> set[str]:
        return {normalize_url(self.link(n)) or "" for n in range(self.stories)}

    def sightings(self) -> int:
        return sum(len(self.listing(f)) for f in range(self.feeds))

    def feed_urls(self) -> dict[str, str]:
        return {f"feed-{f}": self.server.url(f"/feed-{f}.xml") for f in range(self.feeds)}

    def _feed_route(self, feed: int):
        def route(seen: Seen) -> Reply:
            entries = []
            for n in self.listing(feed):
                self.server.routes[f"/story-{n}.html"] = _page(n)
                updated = T0 + timedelta(hours=n)
                entries.append(
                    f"<entry><title>Story {n}</title><link href='{escape(self.link(n))}'/>"
                    f"<id>urn:s:{n}</id><updated>{updated:%Y-%m-%dT%H:%M:%SZ}</updated>"
                    f"<summary>Summary {n}</summary></entry>"
                )
            body = (
                '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>feed {feed}</title><id>urn:f:{feed}</id>"
                f"<updated>2026-06-01T00:00:00Z</updated>{''.join(entries)}</feed>"
            ).encode()
            return Reply(headers={"Content-Type": "application/atom+xml"}, body=body)

        return route


def _page(n: int):
    rng = random.Random(n)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + f" {n}.</p>" for _ in range(5)
    )
    body = (
        f"<html><head><title>Story {n}</title></head><body><article>"
        f"<h1>Story {n}</h1>{paragraphs}</article></body></html>"
    ).encode()

    def route(seen: Seen) -> Reply:
        time.sleep(0.02)  # a page takes a moment, so concurrent runs overlap
        return Reply(headers={"Content-Type": "text/html"}, body=body)

    return route


def start_ingest(feeds_file: Path, db: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [NEWSDESK, "ingest", "--feeds", str(feeds_file), "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        start_new_session=True,
    )
