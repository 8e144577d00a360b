"""The rows the warehouse stores, derived from the dataclasses they come from.

A column is spelled in its model (`tasks.models`), its migration and the README; the Arrow
schemas and row builders here follow the dataclass fields, so adding a field to `Article` and a
column to `articles` is all a new column takes.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa

from storage.migrations import GUID_KEY_TEXT
from storage.migrations import lookup_key as _key
from tasks.models import (
    Article,
    Batch,
    FeedState,
    FeedStatus,
    PageRetry,
    RejectedArticle,
    RunRecord,
    Sighting,
)

TIMESTAMP = pa.timestamp("us", tz="UTC")

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int32(),
    float: pa.float64(),
    bool: pa.bool_(),
    bytes: pa.binary(),
    datetime: TIMESTAMP,
}


def arrow_type(hint: Any) -> pa.DataType:
    """The Arrow type of a dataclass field's annotation (`X | None` is a nullable `X`)."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return _SCALARS[type(typing.get_args(hint)[0])]
    if origin in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return arrow_type(inner)
    if origin is tuple:
        return pa.list_(arrow_type(typing.get_args(hint)[0]))
    return _SCALARS[hint]


def arrow_schema(
    model: type, *, skip: Sequence[str] = (), extra: Sequence[tuple[str, pa.DataType]] = ()
) -> pa.Schema:
    """One column per field of the dataclass `model` (but `skip`), then `extra`."""
    hints = typing.get_type_hints(model)
    columns = [(f.name, arrow_type(hints[f.name])) for f in fields(model) if f.name not in skip]
    return pa.schema([*columns, *extra])


# Every `Article` field is an `articles` column but the sketch, which goes to story_sketches,
# and `retryable`, which the retry queue (`page_retries`) records.
_NOT_COLUMNS = ("sketch", "retryable")
_ARTICLE_FIELDS = tuple(f.name for f in fields(Article) if f.name not in _NOT_COLUMNS)
ARTICLE_SCHEMA = arrow_schema(
    Article,
    skip=_NOT_COLUMNS,
    extra=(
        ("first_seen_at", TIMESTAMP),
        ("run_id", pa.string()),
        ("version", pa.int32()),
        ("updated_at", TIMESTAMP),
    ),
)
SIGHTING_SCHEMA = arrow_schema(Sighting, extra=(("seen_at", TIMESTAMP), ("run_id", pa.string())))
FEED_STATE_SCHEMA = arrow_schema(FeedState)
RETRY_SCHEMA = arrow_schema(PageRetry)
FEED_STATUS_SCHEMA = arrow_schema(FeedStatus)
RUN_SCHEMA = arrow_schema(RunRecord)
SKETCH_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("story_id", pa.string()),
        ("sketched_at", TIMESTAMP),
        ("minhash", pa.binary()),
    ]
)

ARTICLE_COLUMNS = ", ".join(ARTICLE_SCHEMA.names)
SIGHTING_COLUMNS = ", ".join(SIGHTING_SCHEMA.names)
FEED_COLUMNS = ", ".join(FEED_STATE_SCHEMA.names)
RETRY_COLUMNS = ", ".join(RETRY_SCHEMA.names)
FEED_STATUS_COLUMNS = ", ".join(FEED_STATUS_SCHEMA.names)
# The lookup keys (migration 6) are computed by the statements that insert the rows, so staged
# rows (and the spool) never hold them: `SELECT {ARTICLE_KEYS} FROM <staged rows>`.
_ARTICLE_KEYED = ("article_id", "url", "canonical_url")
ARTICLE_KEYS = ", ".join(f"{_key(column)} AS {column}_key" for column in _ARTICLE_KEYED)
ARTICLE_KEY_COLUMNS = ", ".join(f"{column}_key" for column in _ARTICLE_KEYED)
SIGHTING_KEYS = f"{_key('entry_url')} AS entry_url_key, {_key(GUID_KEY_TEXT)} AS guid_key"
SIGHTING_KEY_COLUMNS = "entry_url_key, guid_key"
# Columns an edit replaces; the key, the URLs and the first sighting stay as they were.
CONTENT_COLUMNS = (
    "site_name, title, text, summary, authors, language, word_count, content_hash, "
    "extraction, extraction_error, http_status, page_type, wire_agency, dateline, text_partial"
)
# Columns `article_versions` keeps of a replaced version.
VERSIONED_COLUMNS = (
    "url, canonical_url, feed_name, site_name, title, text, summary, authors, published_at, "
    "published_at_source, published_at_precision, language, word_count, content_hash, "
    "extraction, extraction_error, http_status"
)


def article_row(article: Article, run_id: str, seen_at: datetime) -> dict[str, object]:
    """The one place an `Article` becomes a warehouse row: its fields, first seen now."""
    row: dict[str, object] = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    row.update(first_seen_at=seen_at, run_id=run_id, version=1, updated_at=None)
    return row


def conform_articles(table: pa.Table) -> pa.Table:
    """Staged articles with every column of `ARTICLE_SCHEMA`: a batch spooled by an earlier
    version lacks the columns added since, which stay NULL."""
    for field in ARTICLE_SCHEMA:
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(len(table), field.type))
    return table


def stage_batch(
    articles: Sequence[Article], sightings: Sequence[Sighting], run: RunRecord
) -> tuple[pa.Table, pa.Table]:
    """A batch's articles and sightings as the rows they become (also what the spool keeps)."""
    seen_at = run.finished_at
    staged_articles = pa.Table.from_pylist(
        [article_row(a, run.run_id, seen_at) for a in articles], schema=ARTICLE_SCHEMA
    )
    staged_sightings = pa.Table.from_pylist(
        [{**asdict(s), "seen_at": seen_at, "run_id": run.run_id} for s in sightings],
        schema=SIGHTING_SCHEMA,
    )
    return staged_articles, staged_sightings


def feed_state_table(states: Sequence[FeedState]) -> pa.Table:
    return pa.Table.from_pylist([asdict(s) for s in states], schema=FEED_STATE_SCHEMA)


def retry_table(retries: Sequence[PageRetry]) -> pa.Table:
    return pa.Table.from_pylist([asdict(r) for r in retries], schema=RETRY_SCHEMA)


def feed_status_table(rows: Sequence[FeedStatus]) -> pa.Table:
    return pa.Table.from_pylist([asdict(r) for r in rows], schema=FEED_STATUS_SCHEMA)


def run_table(run: RunRecord) -> pa.Table:
    return pa.Table.from_pylist([asdict(run)], schema=RUN_SCHEMA)


# What converting a value Arrow cannot hold raises: an unencodable string, a number out of range,
# a value of the wrong type.
_UNSTAGEABLE = (pa.ArrowException, UnicodeError, ValueError, TypeError, OverflowError)


def writable(batch: Batch) -> tuple[Batch, tuple[RejectedArticle, ...]]:
    """`batch` without the articles (and their sightings, sketches and queue rows) whose rows
    cannot be built, and those articles with the reason.

    The models make every string storable where they are built (`tasks.text.storable`), so
    this finds nothing unless a value slipped past them; if one does, it costs its article
    only, never the batch. The whole batch is tried first; one row at a time only if it fails.
    """
    try:
        stage_batch(batch.articles, batch.sightings, batch.run)
        return batch, ()
    except _UNSTAGEABLE:
        pass
    reasons: dict[str, str] = {}
    for article in batch.articles:
        try:
            stage_batch([article], [], batch.run)
        except _UNSTAGEABLE as exc:
            reasons.setdefault(article.article_id, _reason(exc))
    sightings = []
    for sighting in batch.sightings:
        try:
            stage_batch([], [sighting], batch.run)
        except _UNSTAGEABLE as exc:
            reasons.setdefault(sighting.article_id, _reason(exc))
        else:
            sightings.append(sighting)
    rejected = tuple(
        RejectedArticle(a.feed_name, a.url, reasons[a.article_id])
        for a in batch.articles
        if a.article_id in reasons
    )
    fallback = sum(a.extraction == "feed" for a in batch.articles if a.article_id in reasons)
    run = replace(
        batch.run,
        articles_failed=batch.run.articles_failed + len(rejected),
        articles_fallback=batch.run.articles_fallback - fallback,
    )
    kept = replace(
        batch,
        articles=tuple(a for a in batch.articles if a.article_id not in reasons),
        sightings=tuple(s for s in sightings if s.article_id not in reasons),
        sketches=tuple(s for s in batch.sketches if s.article_id not in reasons),
        retries=tuple(r for r in batch.retries if r.article_id not in reasons),
        run=run,
    )
    return kept, rejected


def _reason(exc: BaseException) -> str:
    return f"not storable: {type(exc).__name__}: {exc}"[:500]
