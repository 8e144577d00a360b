"""What a feed's judgement reads and writes, on every backend (`lakes.backend`): its history as
the health rule reckons it (`tasks.run.health.history_of`, the same in Python), and its
`feed_status` rows, appended once, the latest shown in `feed_health` and the changes listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lakes import Backend, backend, postgres  # noqa: F401

from storage import Warehouse
from tasks.models import Article, Batch, FeedState, FeedStatus, RunRecord, Sighting
from tasks.run.health import JUNK_PAGES, JUNK_WINDOW, HealthPolicy, history_of, history_since

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
POLICY = HealthPolicy()
CHALLENGE = "page is a bot challenge (HTTP 403)"


def article(n: int, error: str | None = None) -> Article:
    return Article(
        article_id=f"id{n}",
        url=f"https://news.example/{n}",
        canonical_url=f"https://news.example/{n}",
        feed_name="f",
        title=f"Title {n}",
        text=f"Text of article {n}",
        summary=None,
        authors=(),
        published_at=None,
        published_at_source=None,
        published_at_precision=None,
        language="en",
        word_count=4,
        content_hash=f"h{n}",
        extraction="feed" if error else "page",
        extraction_error=error,
    )


def write_run(
    db: Warehouse,
    run_id: str,
    seen_at: datetime,
    entries: dict[int, datetime | None],
    errors: dict[int, str] | None = None,
) -> None:
    errors = errors or {}
    run = RunRecord(run_id, seen_at, seen_at, 1, 1, 0, 0, len(entries), 0, 0, 0, 1.0)
    db.write(
        Batch(
            tuple(article(n, errors.get(n)) for n in entries),
            tuple(
                Sighting("f", f"https://news.example/{n}", f"id{n}", None, None, published)
                for n, published in entries.items()
            ),
            (),
            run,
        )
    )


def test_a_feeds_history_reads_as_the_health_rule_reckons_it(backend: Backend):  # noqa: F811
    db = backend.warehouse()
    early, late = NOW - timedelta(days=30), NOW - timedelta(hours=2)
    # The first run finds a body reaching back 80 days (before the window, too), one undated
    # entry and one dated in the future; the second, entries of the last days.
    first = {n: early - timedelta(days=2 * n, hours=n) for n in range(40)}
    first |= {40: None, 41: NOW + timedelta(days=3)}
    second = {100 + n: late - timedelta(hours=7 * n) for n in range(25)}
    second[125] = None
    write_run(db, "r1", early, first)
    errors = {100 + n: CHALLENGE for n in range(0, 25, 2)} | {101: "HTTP 404"}
    write_run(db, "r2", late, second, errors)

    histories, statuses = db.feed_judgement_inputs(
        ["f", "nobody"],
        since=history_since(NOW, POLICY),
        pages_since=NOW - JUNK_WINDOW,
        pages=JUNK_PAGES,
    )

    assert statuses == {}
    assert set(histories) == {"f"}
    instants = [min(p or early, early) for p in first.values()]
    instants += [min(p or late, late) for p in second.values()]
    # The latest 20 pages by when they were seen (all at once here), then by URL.
    latest = sorted(f"https://news.example/{n}" for n in second)[:JUNK_PAGES]
    walls = sum(errors.get(int(url.rsplit("/", 1)[1]), "").startswith("page is") for url in latest)
    expected = history_of(
        "f", instants, NOW, POLICY, pages=len(latest), not_articles=[(CHALLENGE, walls)]
    )
    got = histories["f"]
    assert got.days == expected.days
    assert (got.first_at, got.last_at) == (expected.first_at, expected.last_at)
    assert got.longest_gap == expected.longest_gap
    assert (got.pages, got.not_articles) == (expected.pages, expected.not_articles)


def status(kind: str, at: datetime, alerted: bool = True) -> FeedStatus:
    return FeedStatus(
        feed_name="f",
        status=kind,  # type: ignore[arg-type]
        reason=f"because {kind}",
        since=at - timedelta(hours=1),
        expected=70.0,
        seen=3,
        alerted_status=kind if alerted else None,  # type: ignore[arg-type]
        alerted_at=at if alerted else None,
        assessed_at=at,
        run_id=f"run-{at:%H%M}",
    )


def test_status_rows_are_appended_once_and_the_latest_shows_in_feed_health(
    backend: Backend,  # noqa: F811
):
    db = backend.warehouse()
    polled = datetime.now(UTC) - timedelta(minutes=5)
    state = FeedState("f", "https://news.example/feed", last_polled_at=polled, last_status="ok")
    db.write(Batch((), (), (state,), RunRecord("r0", polled, polled, 1, 1, 0, 0, 0, 0, 0, 0, 1.0)))
    first, then = polled - timedelta(days=2), polled
    assert db.record_feed_status([status("ok", first, alerted=False)]) == 1
    assert db.record_feed_status([status("silent", then)]) == 1
    assert db.record_feed_status([status("silent", then)]) == 0  # a replay adds nothing

    _, latest = db.feed_judgement_inputs(
        ["f"], since=history_since(NOW, POLICY), pages_since=NOW, pages=JUNK_PAGES
    )
    assert latest == {"f": status("silent", then)}
    columns, rows = db.feed_health()
    row = dict(zip(columns, rows[0], strict=True))
    assert (row["status"], row["reason"], row["since"]) == (
        "silent",
        "because silent",
        then - timedelta(hours=1),
    )
    assert (row["usual_per_week"], row["last_week"], row["alerted"]) == (70.0, 3, "silent")

    # The first judgement of a feed that works is no change; the silence is, and was alerted.
    columns, rows = db.status_changes(first - timedelta(hours=1))
    changes = [dict(zip(columns, r, strict=True)) for r in rows]
    assert [(c["feed"], c["previous"], c["status"], c["alerted"]) for c in changes] == [
        ("f", "ok", "silent", True)
    ]
    assert db.status_changes(then + timedelta(seconds=1))[1] == []
