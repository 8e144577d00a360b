"""How the cost of appending a run's batch grows with the size of the warehouse.

    .venv/bin/python -m bench.warehouse_scale [ROWS] [BATCH] [REPEATS]

Times what a run pays to store `batch` new articles, through the real storage API: open the
warehouse read-only and look the batch's entries up with `find_known` (the flow's dedup
check), then open it for writing and `append_batch` the articles, one `feed_entries` sighting
per article, a `FeedState` per feed and the `RunRecord`, in one transaction. Both opens go
through `storage.connect` and both closes are timed too (the flow opens the
warehouse once per stage, and closing folds the write-ahead log into the file).

Two warehouses are measured:

* empty: freshly created and migrated (untimed) before each repeat, so every repeat writes
  into a warehouse holding nothing;
* filled: pre-filled with `rows` synthetic articles and one sighting each, then checkpointed
  and closed, so the timed opens find it as the next run would.

The pre-fill is one `INSERT … SELECT FROM range(rows)` per table (not `append_batch`): 20
feeds, 50 sites, URLs like `https://site7.example/news/2026/03/14/123457.html`, titles,
texts of about 400 characters drawn from a fixed set of sentences, publication times 30 s
apart from 2026-01-01, `article_id` and `content_hash` computed exactly as the pipeline does
(SHA-256 of the URL and of the text), the lookup keys by the writer's own SQL
(`storage.migrations.lookup_key`), and one `ingest_runs` row per `batch` articles. Its
wall time, including the CHECKPOINT, is `fill_seconds`.

The timed batches are built by the same formulas in Python, for article numbers never used
before (so every append inserts `batch` new articles), spread over the 20 feeds like a run's
entries; building them is not timed. One untimed append into a scratch warehouse first pays
the one-time costs (lazy imports, DuckDB's first query plans) so they land on neither case.
The repeats alternate empty and filled; each case reports its median. Story sketches are not
written (a run writes one per new article into `story_sketches`, not measured here).

Reported: `empty_ms`, `filled_ms` (median wall time of one lookup-and-append), `ratio`
(filled / empty), `fill_seconds`, `rows`, `batch`. The warehouses live in a temporary
directory, or in `workdir` when given, where they are kept for inspection.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import connect
from storage.migrations import GUID_KEY_TEXT, lookup_key
from storage.reads import find_known
from storage.writer import append_batch
from tasks.models import Article, FeedEntry, FeedState, RunRecord
from tasks.page.extract import content_hash
from tasks.run.settle import sighting_of
from tasks.urls import article_id

FEEDS = 20
SITES = 50
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SPACING_SECONDS = 30
"""Publication times are this far apart: a million articles span about a year."""
FETCH_DELAY = timedelta(minutes=10)
"""first_seen_at is this long after publication."""

_VOCABULARY = (
    "council budget minister vote rail strike harbour storm energy prices school teachers "
    "hospital waiting lists court ruling river flood police inquiry market shares bank rates "
    "housing rents farmers drought museum opening festival football final league coach "
    "election campaign mayor plan bridge repairs airport delays wildfire season research "
    "university grant climate summit talks border trade tariff factory jobs union pay deal"
)
_WORDS = tuple(_VOCABULARY.split())


def _sentences(count: int) -> tuple[str, ...]:
    # A fixed, varied vocabulary: the text compresses like prose, not like one repeated string.
    result = []
    for n in range(count):
        words = [_WORDS[(n * 7 + k * k * 3 + k) % len(_WORDS)] for k in range(14)]
        result.append(" ".join(words).capitalize() + ".")
    return tuple(result)


SENTENCES = _sentences(97)

# Every column is a function of the article number `i`; `make_entry`, `_text` and `make_article`
# below build the same values in Python. Parameters are named ($first, $count, ...) and bound.
_NUMBERED = """
    WITH numbered AS (
        SELECT i,
               TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i * $spacing) AS published_at,
               'feed-' || lpad(CAST(i % $feeds AS VARCHAR), 2, '0') AS feed_name,
               i % $sites AS site,
               'prefill-' || (i // $batch) AS run_id
        FROM range($first::BIGINT, $first::BIGINT + $count::BIGINT) AS r(i)
    ), described AS (
        SELECT *,
               'https://site' || site || '.example/news/'
                   || strftime(timezone('UTC', published_at), '%Y/%m/%d') || '/' || i || '.html'
                   AS url,
               'Site ' || site || ' report ' || i || ': '
                   || list_extract($sentences, 1 + CAST(i % 97 AS INTEGER)) AS title,
               'Report ' || i || ' from site ' || site || '. '
                   || list_extract($sentences, 1 + CAST(i % 97 AS INTEGER)) || ' '
                   || list_extract($sentences, 1 + CAST((i // 97) % 97 AS INTEGER)) || ' '
                   || list_extract($sentences, 1 + CAST((i // 9409) % 97 AS INTEGER)) || ' '
                   || list_extract($sentences, 1 + CAST((i * 31) % 97 AS INTEGER)) AS text,
               published_at + to_seconds($delay) AS first_seen_at
        FROM numbered
    )
"""

_FILL_ARTICLES = (
    "INSERT INTO articles BY NAME"
    + _NUMBERED
    + """
    SELECT substr(sha256(url), 1, 32) AS article_id, url, url AS canonical_url, feed_name,
           'Site ' || site AS site_name, title, text,
           split_part(text, '. ', 2) || '.' AS summary,
           ['Author ' || (i % 500)] AS authors,
           published_at, 'page' AS published_at_source, 'second' AS published_at_precision,
           'en' AS language, len(string_split(text, ' ')) AS word_count,
           sha256(text) AS content_hash, 'page' AS extraction, 200 AS http_status,
           first_seen_at, run_id, 'article' AS page_type, 0 AS published_at_offset_minutes,
           1 AS version,
    """
    # The lookup keys as the writer computes them, of the columns named just above.
    + f"""
           {lookup_key("article_id")} AS article_id_key, {lookup_key("url")} AS url_key,
           {lookup_key("canonical_url")} AS canonical_url_key
    FROM described
    """
)

# entry_hash is `tasks.run.plan.entry_fingerprint`: title, summary and (no) content joined
# by U+001F.
_FILL_SIGHTINGS = (
    "INSERT INTO feed_entries BY NAME"
    + _NUMBERED
    + """
    SELECT feed_name, url AS entry_url, substr(sha256(url), 1, 32) AS article_id,
           url AS guid, title AS entry_title, published_at AS entry_published_at,
           substr(sha256(title || chr(31) || split_part(text, '. ', 2) || '.' || chr(31)), 1, 32)
               AS entry_hash,
           first_seen_at AS seen_at, run_id,
    """
    + f"""
           {lookup_key("entry_url")} AS entry_url_key, {lookup_key(GUID_KEY_TEXT)} AS guid_key
    FROM described
    """
)

_FILL_RUNS = """
    INSERT INTO ingest_runs BY NAME
    SELECT 'prefill-' || r AS run_id,
           TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds((r + 1) * $batch * $spacing)
               AS finished_at,
           finished_at - INTERVAL 1 MINUTE AS started_at,
           finished_at AS written_at,
           $feeds AS feeds_total, $feeds AS feeds_ok, 0 AS feeds_unchanged, 0 AS feeds_failed,
           $batch AS entries_seen, $batch AS articles_new, 0 AS articles_fallback,
           0 AS articles_failed, 60.0 AS duration_seconds
    FROM range(($rows + $batch - 1) // $batch) AS t(r)
"""

_FILL_FEEDS = """
    INSERT INTO feeds BY NAME
    SELECT 'feed-' || lpad(CAST(n AS VARCHAR), 2, '0') AS name,
           'https://site' || n || '.example/feed.xml' AS url,
           '"etag-' || n || '"' AS etag, 'ok' AS last_status, 200 AS last_http_status,
           $polled AS last_polled_at, $polled AS last_success_at
    FROM range($feeds) AS t(n)
"""


def prefill(path: Path, rows: int, batch: int) -> float:
    """Create the warehouse at `path` holding `rows` synthetic articles; return the seconds."""
    shape = {"feeds": FEEDS, "batch": batch, "spacing": SPACING_SECONDS}
    numbered = {
        **shape,
        "sites": SITES,
        "first": 0,
        "count": rows,
        "sentences": list(SENTENCES),
        "delay": int(FETCH_DELAY.total_seconds()),
    }
    started = time.perf_counter()
    with connect(path) as con:
        con.execute(_FILL_ARTICLES, numbered)
        con.execute(_FILL_SIGHTINGS, numbered)
        con.execute(_FILL_RUNS, {**shape, "rows": rows})
        con.execute(_FILL_FEEDS, {"feeds": FEEDS, "polled": _published(rows) + FETCH_DELAY})
        con.execute("CHECKPOINT")
    return time.perf_counter() - started


def _published(i: int) -> datetime:
    return EPOCH + timedelta(seconds=i * SPACING_SECONDS)


def _feed_name(i: int) -> str:
    return f"feed-{i % FEEDS:02d}"


def make_entry(i: int) -> FeedEntry:
    """The feed entry of article number `i`."""
    published = _published(i)
    site = i % SITES
    url = f"https://site{site}.example/news/{published:%Y/%m/%d}/{i}.html"
    text = _text(i)
    return FeedEntry(
        feed_name=_feed_name(i),
        url=url,
        guid=url,
        title=f"Site {site} report {i}: {SENTENCES[i % 97]}",
        summary=text.split(". ")[1] + ".",
        published_at=published,
    )


def _text(i: int) -> str:
    picks = (i % 97, (i // 97) % 97, (i // 9409) % 97, (i * 31) % 97)
    return f"Report {i} from site {i % SITES}. " + " ".join(SENTENCES[p] for p in picks)


def make_article(entry: FeedEntry, i: int) -> Article:
    """Article number `i`, as read from the page of `entry`."""
    text = _text(i)
    return Article(
        article_id=article_id(entry.url),
        url=entry.url,
        canonical_url=entry.url,
        feed_name=entry.feed_name,
        title=entry.title,
        text=text,
        summary=entry.summary,
        authors=(f"Author {i % 500}",),
        published_at=entry.published_at,
        published_at_source="page",
        published_at_precision="second",
        language="en",
        word_count=len(text.split()),
        content_hash=content_hash(text),
        extraction="page",
        site_name=f"Site {i % SITES}",
        http_status=200,
        page_type="article",
        published_at_offset_minutes=0,
    )


class PrebuiltBatch:
    """One run's worth of new articles, built before the clock starts."""

    def __init__(self, first: int, size: int, run_id: str) -> None:
        numbers = range(first, first + size)
        self.entries = [make_entry(i) for i in numbers]
        self.articles = [make_article(e, i) for e, i in zip(self.entries, numbers, strict=True)]
        self.sightings = [
            sighting_of(e, a.article_id) for e, a in zip(self.entries, self.articles, strict=True)
        ]
        finished = _published(first + size) + FETCH_DELAY
        self.feed_states = [
            FeedState(
                name=f"feed-{n:02d}",
                url=f"https://site{n}.example/feed.xml",
                etag=f'"etag-{n}-{run_id}"',
                body_hash=f"{run_id}-{n}",
                last_polled_at=finished,
                last_status="ok",
                last_http_status=200,
                last_success_at=finished,
            )
            for n in range(min(FEEDS, size))
        ]
        self.run = RunRecord(
            run_id=run_id,
            started_at=finished - timedelta(minutes=1),
            finished_at=finished,
            feeds_total=len(self.feed_states),
            feeds_ok=len(self.feed_states),
            feeds_unchanged=0,
            feeds_failed=0,
            entries_seen=size,
            articles_new=0,
            articles_fallback=0,
            articles_failed=0,
            duration_seconds=60.0,
        )


def append_once(path: Path, batch: PrebuiltBatch) -> float:
    """Look the batch up and append it as a run does; return the milliseconds taken."""
    started = time.perf_counter()
    with connect(path, read_only=True) as con:
        known = find_known(
            con,
            [(e.feed_name, e.url) for e in batch.entries],
            [(e.feed_name, e.guid) for e in batch.entries if e.guid],
        )
    with connect(path) as con:
        result = append_batch(
            con,
            articles=batch.articles,
            sightings=batch.sightings,
            feed_states=batch.feed_states,
            run=batch.run,
        )
    elapsed = (time.perf_counter() - started) * 1000
    # Guards on what was measured: fresh articles, all of them inserted.
    if known.article_ids or known.sightings or len(result.new_ids) != len(batch.articles):
        raise RuntimeError(f"{path}: the batch was not all new ({len(result.new_ids)} inserted)")
    return elapsed


def _created(path: Path) -> Path:
    """An empty warehouse at `path`, created and migrated (as a run's first stage leaves it)."""
    with connect(path):
        pass
    return path


def run(
    rows: int = 1_000_000, batch: int = 1000, repeats: int = 3, workdir: Path | None = None
) -> dict[str, float]:
    """Median time to look up and append `batch` new articles into an empty warehouse and
    into one holding `rows` articles; see the module docstring."""
    with ExitStack() as stack:
        if workdir is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="warehouse-")))
        else:
            root = Path(workdir)
            root.mkdir(parents=True, exist_ok=True)
        # Only our own files, left over from an earlier run in the same `workdir`.
        for name in ("filled", "warmup", *(f"empty-{r}" for r in range(repeats))):
            for suffix in (".duckdb", ".duckdb.wal"):
                (root / f"{name}{suffix}").unlink(missing_ok=True)

        filled = root / "filled.duckdb"
        fill_seconds = prefill(filled, rows, batch)
        # Article numbers past the pre-filled ones: every append brings only new articles.
        numbers = iter(range(rows, rows + (2 * repeats + 1) * batch, batch))
        append_once(_created(root / "warmup.duckdb"), PrebuiltBatch(next(numbers), batch, "warmup"))
        empty_ms, filled_ms = [], []
        for r in range(repeats):
            empty = _created(root / f"empty-{r}.duckdb")
            empty_ms.append(append_once(empty, PrebuiltBatch(next(numbers), batch, f"empty-{r}")))
            filled_ms.append(
                append_once(filled, PrebuiltBatch(next(numbers), batch, f"filled-{r}"))
            )

    empty_median = statistics.median(empty_ms)
    filled_median = statistics.median(filled_ms)
    return {
        "empty_ms": empty_median,
        "filled_ms": filled_median,
        "ratio": filled_median / empty_median,
        "fill_seconds": fill_seconds,
        "rows": float(rows),
        "batch": float(batch),
    }


def main() -> None:
    args = [int(a.replace("_", "")) for a in sys.argv[1:4]]
    defaults = (1_000_000, 1000, 3)
    rows, batch, repeats = (*args, *defaults[len(args) :])
    result = run(rows, batch, repeats)
    print(f"{'measure':<14}{'value':>12}")
    for key, unit, value in (
        ("rows", "", f"{result['rows']:,.0f}"),
        ("batch", "", f"{result['batch']:,.0f}"),
        ("fill_seconds", "s", f"{result['fill_seconds']:.1f}"),
        ("empty_ms", "ms", f"{result['empty_ms']:.1f}"),
        ("filled_ms", "ms", f"{result['filled_ms']:.1f}"),
        ("ratio", "×", f"{result['ratio']:.2f}"),
    ):
        print(f"{key:<14}{value:>12} {unit}")


if __name__ == "__main__":
    main()
