"""Kill -9 trials on a lake: `newsdesk ingest` processes on a SQLite-catalog and on a
PostgreSQL-catalog lake over overlapping feeds, SIGKILLed at random moments, alone and beside
a writer that is not killed.

The feeds grow between trials, so every run has new articles to be killed in the middle of:
start-up, polling, claiming, the lake commit, marking its claims stored. After every trial the
lake must open and hold no duplicate; a final clean run must then store every article the feeds
list, once, and leave no claim unsettled.

Selected with `-m crash`, like the trials on the file. The seed is printed so a failure can be
replayed with NEWSDESK_KILL9_SEED.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from httpserver import LocalServer
from kills import kill_group
from lakes import OverlapSite, check_lake, lake_url, postgres, start_ingest  # noqa: F401
from sites import write_feeds_file

from storage import Warehouse
from storage.claims import sighting_key
from storage.lake import CATALOG_ALIAS, LakeWarehouse, _claim_store
from tasks.urls import article_id, normalize_url

pytestmark = pytest.mark.crash

KILLS = 10
"""Trials whose kill landed while the run was alive."""
MAX_TRIALS = 20
FEEDS = 6
START_STORIES = 24
NEW_PER_TRIAL = 8


def test_kill_9_on_a_lake_converges_with_nothing_lost_doubled_or_left_claimed(
    tmp_path,
    prefect_api,
    lake_url,  # noqa: F811
) -> None:
    seed = int(os.environ.get("NEWSDESK_KILL9_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"lake kill -9 trials: seed {seed}")
    db = lake_url
    env = {
        "PREFECT_API_URL": prefect_api,
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        "NEWSDESK_MAX_ARTICLES_PER_FEED": "0",
    }
    if db.startswith("ducklake:postgres:"):  # a SQLite catalog keeps its files beside it
        env["NEWSDESK_LAKE_DATA_PATH"] = f"{tmp_path / 'lake-data'}/"
    landed: list[float] = []
    modes: Counter[str] = Counter()
    with LocalServer() as server:
        site = OverlapSite(server, FEEDS, START_STORIES)
        urls = site.feed_urls()
        names = list(urls)

        def feeds_file(name: str, feeds: list[int]) -> Path:
            return write_feeds_file(
                tmp_path / f"{name}.toml", {names[f]: urls[names[f]] for f in feeds}
            )

        everything = feeds_file("all", list(range(FEEDS)))
        # The killed writer and the one beside it share feeds 2 and 3, and every story is
        # listed by two neighbouring feeds: they race for the same articles and sightings.
        killed_feeds = feeds_file("killed", [0, 1, 2, 3])
        beside_feeds = feeds_file("beside", [2, 3, 4, 5])

        # One undisturbed run first, to learn how long a run lasts on this machine.
        started = time.monotonic()
        first = start_ingest(everything, db, env)
        assert first.wait(timeout=300) == 0, _stderr(first)
        duration = time.monotonic() - started
        check_lake(db)

        for trial in range(1, MAX_TRIALS + 1):
            if len(landed) >= KILLS:
                break
            site.stories += NEW_PER_TRIAL
            beside = trial % 2 == 0
            proc = start_ingest(killed_feeds if beside else everything, db, env)
            survivor = start_ingest(beside_feeds, db, env) if beside else None
            moment = rng.uniform(0.2, duration * 1.1)
            time.sleep(moment)
            alive = proc.poll() is None
            kill_group(proc)
            if survivor is not None:
                assert survivor.wait(timeout=300) == 0, _stderr(survivor)
            _check_no_duplicates(db)
            if alive:
                landed.append(round(moment, 2))
                modes["beside a writer" if beside else "alone"] += 1

        assert len(landed) >= KILLS, f"only {len(landed)} kills landed in a live run"
        final = start_ingest(everything, db, env)
        assert final.wait(timeout=300) == 0, _stderr(final)
        counts = check_lake(db)
        _, rows = Warehouse(db).query("SELECT url FROM articles")
        assert {url for (url,) in rows} == site.listed()
        assert counts["sightings"] == site.sightings()
        assert counts["feeds"] == FEEDS
        claims = _check_claims(db)
    print(
        f"lake kill -9 trials: {len(landed)} kills in live runs (run lasts {duration:.1f} s), "
        f"at {sorted(landed)} s; {dict(modes)}; final: {counts}; claims {claims}"
    )


def _check_no_duplicates(db: str) -> None:
    """What must hold after any kill, while claims of the dead run may still be unsettled."""
    wh = Warehouse(db)
    for sql in (
        "SELECT count(*) - count(DISTINCT article_id) FROM articles",
        "SELECT count(*) - count(DISTINCT url) FROM articles",
        "SELECT count(*) FROM (SELECT feed_name, entry_url FROM feed_entries "
        "GROUP BY ALL HAVING count(*) > 1)",
    ):
        _, rows = wh.query(sql)
        assert rows == [(0,)], sql


def _claim_rows(db: str) -> list[tuple[str, bool]]:
    """(kind, stored) of every claim, wherever the lake keeps them."""
    lake = Warehouse(db)
    assert isinstance(lake, LakeWarehouse)
    if lake.spec.catalog == "sqlite":
        with sqlite3.connect(lake.spec.target) as con:
            return con.execute("SELECT kind, stored FROM newsdesk_claims").fetchall()
    with lake.connect(read_only=True) as con:
        _claim_store(con, lake.spec)  # attaches the catalog database
        return con.execute(
            f"SELECT kind, stored FROM {CATALOG_ALIAS}.public.newsdesk_claims"
        ).fetchall()


def _check_claims(db: str) -> dict[str, int]:
    """No orphan claim: every claim left is settled as stored, and what it claims is stored."""
    rows = _claim_rows(db)
    assert [kind for kind, stored in rows if not stored] == []
    kinds = dict(Counter(kind for kind, _ in rows))
    _, rows = Warehouse(db).query(
        "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM feed_entries)"
    )
    articles, sightings = rows[0]
    # A claim is taken for every article and sighting a run adds, and released when it was not.
    assert kinds.get("article", 0) == articles
    assert kinds.get("sighting", 0) == sightings
    return kinds


def _stderr(proc) -> str:
    return proc.stderr.read().decode(errors="replace") if proc.stderr else ""


HOLD_CLAIMS = """
import sys
from storage.claims import ARTICLE, SIGHTING, SqliteClaims
claims = SqliteClaims(sys.argv[1])
claims.claim(ARTICLE, [sys.argv[2]], "held-by-a-run-that-dies")
claims.claim(SIGHTING, sys.argv[3:], "held-by-a-run-that-dies")
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("with_sightings", [False, True], ids=["article", "article-and-sightings"])
def test_an_article_left_to_a_run_that_dies_is_stored_by_the_next_run(
    tmp_path, prefect_api, with_sightings
) -> None:
    # The window the random trials hit only now and then, made certain: a run claims an
    # article (and maybe its sightings), another run leaves it to that run and records its
    # polls of the feeds, then the holder dies before its lake commit. The feeds do not
    # change: the next run must still store the article, once, with both its sightings.
    catalog = tmp_path / "lake" / "catalog.sqlite"
    db = f"ducklake:sqlite:{catalog}"
    env = {
        "PREFECT_API_URL": prefect_api,
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        "NEWSDESK_MAX_ARTICLES_PER_FEED": "0",
    }
    with LocalServer() as server:
        site = OverlapSite(server, 3, 6)
        feeds = write_feeds_file(tmp_path / "feeds.toml", site.feed_urls())
        Warehouse(db).prepare()
        url = normalize_url(site.link(4)) or ""
        sightings = [
            sighting_key(f"feed-{feed}", url) for feed in range(3) if 4 in site.listing(feed)
        ]
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_CLAIMS, str(catalog), article_id(url)]
            + (sightings if with_sightings else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        beside = start_ingest(feeds, db, env)
        assert beside.wait(timeout=300) == 0, _stderr(beside)
        _, rows = Warehouse(db).query("SELECT count(*) FROM articles")
        assert rows == [(site.stories - 1,)]
        kill_group_of(holder)
        after = start_ingest(feeds, db, env)
        assert after.wait(timeout=300) == 0, _stderr(after)
        counts = check_lake(db)
        _, rows = Warehouse(db).query("SELECT url FROM articles")
        assert {u for (u,) in rows} == site.listed()
        assert counts["sightings"] == site.sightings()
        _check_claims(db)


def kill_group_of(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=30)
