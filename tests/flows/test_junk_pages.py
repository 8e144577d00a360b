"""Pages served in place of the article, through the real `ingest` flow: a local site whose
article links answer with a bot challenge, a consent wall, a sign-in wall, a JavaScript shell
or an error page (two languages each, fixtures from `tests/page/fixtures/junk`), a challenge
served with 403, and paywalled teasers. Two runs: the second fetches again what can heal, and
by then those pages serve the article.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from flows.ingest import ingest
from harness.cli import newsdesk
from harness.httpserver import LocalServer, Reply, then
from harness.pages import HTML, article_page
from harness.sites import conditional, headline_feed, write_feeds_file
from tasks.models import RunReport

pytestmark = pytest.mark.usefixtures("prefect_api")

FIXTURES = Path(__file__).parents[1] / "page" / "fixtures" / "junk"
LIMITS = {
    "NEWSDESK_CONNECT_TIMEOUT": "2",
    "NEWSDESK_READ_TIMEOUT": "2",
    "NEWSDESK_TOTAL_TIMEOUT": "5",
    "NEWSDESK_PER_HOST_CONCURRENCY": "8",
    "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
    "NEWSDESK_RETRY_SCHEDULE": "0s,0s",
}
# path -> (fixture, status, reason, queued)
JUNK = {
    "/challenge-en": ("challenge-cloudflare-en.html", 200, "page is a bot challenge", True),
    "/challenge-de": ("challenge-cloudflare-de.html", 200, "page is a bot challenge", True),
    "/challenge-403": (
        "challenge-cloudflare-fr.html",
        403,
        "page is a bot challenge (HTTP 403)",
        True,
    ),
    "/consent-en": ("consent-yahoo-en.html", 200, "page is a consent wall", True),
    "/consent-de": ("consent-google-de.html", 200, "page is a consent wall", True),
    "/consent-fr": ("consent-didomi-fr.html", 200, "page is a consent wall", True),
    "/signin-en": ("signin-en.html", 200, "page is a sign-in wall", False),
    "/signin-es": ("signin-es.html", 200, "page is a sign-in wall", False),
    "/shell-en": ("appshell-en.html", 200, "page is a JavaScript app shell", False),
    "/shell-fr": ("appshell-fr.html", 200, "page is a JavaScript app shell", False),
    "/error-de": ("error-de.html", 200, "page is an error page served with 200", False),
    "/error-es": ("error-es.html", 200, "page is an error page served with 200", False),
}
TEASERS = {"/teaser-en": "paywall-en.html", "/teaser-fr": "paywall-fr.html"}


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def article(db: Path, server: LocalServer, path: str) -> tuple:
    [row] = rows(
        db,
        "SELECT extraction, extraction_error, title, text, text_partial FROM articles "
        "WHERE url = ?",
        [server.url(path)],
    )
    return row


@dataclass
class Runs:
    db: Path
    server: LocalServer
    second: RunReport
    before: dict[str, tuple]
    """Each page's row after the first run."""
    queue_before: list[tuple]
    """The retry queue after the first run."""

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return rows(self.db, sql, params)

    def article(self, path: str) -> tuple:
        return article(self.db, self.server, path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Iterator[Runs]:
    tmp = tmp_path_factory.mktemp("junk-pages")
    with pytest.MonkeyPatch.context() as patch, LocalServer() as server:
        for name, value in LIMITS.items():
            patch.setenv(name, value)
        for seed, (path, (name, status, _, queued)) in enumerate(JUNK.items()):
            wall = Reply(status=status, headers=HTML, body=(FIXTURES / name).read_bytes())
            story = Reply(headers=HTML, body=article_page(f"Page headline {path[1:]}", seed))
            server.routes[path] = then(wall, story) if queued else wall
        for path, name in TEASERS.items():
            server.routes[path] = Reply(headers=HTML, body=(FIXTURES / name).read_bytes())
        body = headline_feed(server, [*JUNK, *TEASERS])
        server.routes["/feed.xml"] = conditional(body, "application/rss+xml")
        feeds_file = write_feeds_file(tmp / "feeds.toml", {"site": server.url("/feed.xml")})
        db = tmp / "news.duckdb"

        def run() -> RunReport:
            return ingest(feeds_file=str(feeds_file), db=str(db), max_articles_per_feed=0)

        run()
        before = {path: article(db, server, path) for path in [*JUNK, *TEASERS]}
        queue = rows(db, "SELECT url, status, last_error FROM page_retries ORDER BY url")
        yield Runs(db, server, run(), before, queue)


@pytest.mark.parametrize("path", list(JUNK))
def test_a_junk_page_is_stored_from_the_feed_s_text_with_its_reason_and_headline(runs, path):
    _, _, reason, _ = JUNK[path]
    assert runs.before[path] == (
        "feed",
        reason,
        f"Feed headline {path[1:]}",
        f"About {path[1:]} from the feed.",
        False,
    )


def test_challenges_and_consent_walls_are_queued_and_the_rest_given_up(runs):
    queued = {path for path, (*_, q) in JUNK.items() if q}
    assert runs.queue_before == sorted(
        (runs.server.url(path), "waiting", JUNK[path][2]) for path in queued
    )
    paths = runs.server.paths()
    for path, (*_, q) in JUNK.items():
        assert paths.count(path) == (2 if q else 1), path


def test_a_queued_page_that_serves_the_article_later_is_stored_from_its_page(runs):
    healed = [path for path, (*_, q) in JUNK.items() if q]
    assert runs.second.articles_healed == len(healed)
    for path in healed:
        extraction, error, title, text, partial = runs.article(path)
        assert (extraction, error, title, partial) == (
            "page",
            None,
            f"Page headline {path[1:]}",
            False,
        )
        assert len(text.split()) >= 200
    assert runs.rows(
        "SELECT count(*) FROM page_retries WHERE status = 'healed' AND healed_at IS NOT NULL"
    ) == [(len(healed),)]


def test_a_page_given_up_keeps_the_feed_s_text(runs):
    for path, (_, _, reason, queued) in JUNK.items():
        if not queued:
            assert runs.article(path)[:2] == ("feed", reason)


@pytest.mark.parametrize("path", list(TEASERS))
def test_a_paywalled_teaser_is_stored_from_its_page_marked_partial(runs, path):
    extraction, error, title, text, partial = runs.article(path)
    assert (extraction, error, partial) == ("page", None, True)
    assert title != f"Feed headline {path[1:]}"
    assert text and "abonnés" not in text and "Subscribe" not in text
    [(shown,)] = runs.rows(
        "SELECT text_partial FROM latest_articles WHERE url = ?", [runs.server.url(path)]
    )
    assert shown is True


def test_newsdesk_search_says_which_hits_are_teasers(runs):
    found = newsdesk("search", "--db", str(runs.db), "--format", "json", "harbour bridge")
    assert found.returncode == 0, found.stderr
    hits = {hit["url"]: hit for hit in map(json.loads, found.stdout.splitlines())}
    assert hits[runs.server.url("/teaser-en")]["text_partial"] is True
    assert hits[runs.server.url("/challenge-en")]["text_partial"] is False
    table = newsdesk("search", "--db", str(runs.db), "harbour bridge", env={"COLUMNS": "200"})
    assert "(teaser) Harbour bridge reopens" in table.stdout
