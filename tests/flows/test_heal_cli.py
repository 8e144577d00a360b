"""The retry queue through the real CLI on a lake of each catalog: a page that answers 503 is
stored from its feed's text and queued by one `newsdesk ingest`, and healed from its page by
the next, once the page answers (the file's healing, through the flow: test_junk_pages)."""

from __future__ import annotations

import threading

from lakes import Backend, backend, on, postgres  # noqa: F401

from harness.cli import newsdesk
from harness.httpserver import LocalServer, Reply, Seen
from harness.invariants import check_warehouse
from harness.pages import HTML, article_page
from harness.sites import conditional, headline_feed, write_feeds_file
from storage import Warehouse


@on("sqlite-lake", "postgres-lake")
def test_a_page_that_answered_503_heals_on_a_later_run(
    backend: Backend,  # noqa: F811
    tmp_path,
    prefect_api,
) -> None:
    db = backend.location(fresh=True)  # made by the first run
    env = {
        "PREFECT_API_URL": prefect_api,
        "NEWSDESK_ALLOW_PRIVATE_NETWORK": "1",
        # Due again at once: the next run fetches the page again.
        "NEWSDESK_RETRY_SCHEDULE": "0s",
    }
    recovered = threading.Event()
    flaky_page = article_page("Page headline flaky", 1)

    def flaky(seen: Seen) -> Reply:
        if recovered.is_set():
            return Reply(headers=HTML, body=flaky_page)
        return Reply(status=503, headers=HTML, body=b"<html><body>Try later</body></html>")

    with LocalServer() as server:
        server.routes["/flaky"] = flaky
        server.routes["/steady"] = Reply(headers=HTML, body=article_page("Page headline steady", 2))
        server.routes["/feed.xml"] = conditional(
            headline_feed(server, ["/flaky", "/steady"]), "application/rss+xml"
        )
        feeds_file = write_feeds_file(tmp_path / "feeds.toml", {"site": server.url("/feed.xml")})
        wh = Warehouse(db)

        def article(path: str) -> tuple:
            [row] = wh.query(
                "SELECT extraction, extraction_error, title, text FROM articles "
                f"WHERE url = '{server.url(path)}'"
            )[1]
            return row

        first = newsdesk("ingest", "--feeds", str(feeds_file), "--db", db, env=env)
        assert first.returncode == 0, first.stderr
        assert article("/flaky") == (
            "feed",
            "HTTP 503",
            "Feed headline flaky",
            "About flaky from the feed.",
        )
        assert article("/steady")[:3] == ("page", None, "Page headline steady")
        assert wh.query("SELECT url, status, attempts, last_error FROM page_retries")[1] == [
            (server.url("/flaky"), "waiting", 1, "HTTP 503")
        ]

        recovered.set()
        second = newsdesk("ingest", "--feeds", str(feeds_file), "--db", db, env=env)
        assert second.returncode == 0, second.stderr

        extraction, error, title, text = article("/flaky")
        assert (extraction, error, title) == ("page", None, "Page headline flaky")
        assert text.split("\n")[0] in flaky_page.decode()  # the page's first paragraph
        assert wh.query("SELECT status, healed_at IS NOT NULL FROM page_retries")[1] == [
            ("healed", True)
        ]
        assert wh.query(
            "SELECT pages_retried, articles_healed, articles_new FROM ingest_runs "
            "ORDER BY started_at"
        )[1] == [(0, 0, 2), (1, 1, 0)]
        assert server.paths().count("/flaky") == 2
    counts = check_warehouse(db)
    assert (counts["articles"], counts["versions"], counts["runs"]) == (2, 0, 2)
