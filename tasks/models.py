"""Plain, typed data passed between the pipeline's stages.

Every stage takes and returns these frozen dataclasses; none of them knows about Prefect,
HTTP clients or the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from tasks.text import (
    MAX_AGENCY,
    MAX_AUTHOR,
    MAX_AUTHORS,
    MAX_DATELINE,
    MAX_ERROR,
    MAX_HEADLINE,
    MAX_LANGUAGE,
    MAX_SITE_NAME,
    MAX_SUMMARY,
    MAX_TEXT,
    storable,
    storable_names,
)

FetchOutcome = Literal["ok", "not_modified", "unchanged", "failed"]
"""How a feed poll ended: new body, HTTP 304, same body hash as last time, or an error."""

DatePrecision = Literal["second", "minute", "day"]
DateSource = Literal["page", "feed"]
Extraction = Literal["page", "feed"]
PageType = Literal["article", "index", "video"]
Health = Literal["ok", "low", "silent", "junk", "failing"]
"""A feed judged against its own normal (`tasks.run.health`): as usual; volume far below its
usual; nothing new for several of its own intervals; its pages are not articles; failing."""
NOT_THE_ARTICLE = "page is "
"""How `extraction_error` starts when the page was served in place of the article (a bot
challenge, a consent or sign-in wall, an app shell, an error page: `tasks.page.junk.REASONS`)."""
RetryStatus = Literal["waiting", "healed", "gave_up"]
"""Where an article stored from its feed's text stands in the page retry queue: its page is to
be fetched again, was fetched and replaced the feed's text, or kept failing (or failed for good)."""
"""What kind of page an entry led to: an article, a section front / tag / topic listing, or a
page whose content is a video player with little or no text."""


def _store(obj: object, name: str, limit: int | None = None, *, line: bool = True) -> None:
    """Make the string field `name` of the frozen `obj` storable (`tasks.text.storable`): the
    models apply it where they are built, so no odd string of a page or feed reaches a write."""
    value = getattr(obj, name)
    if value is not None:
        object.__setattr__(obj, name, storable(value, limit, line=line))


def _store_names(obj: object, name: str) -> None:
    names = getattr(obj, name)
    if names:
        object.__setattr__(obj, name, storable_names(names, MAX_AUTHOR, MAX_AUTHORS))


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One `[[feeds]]` table of the feeds file."""

    name: str
    url: str
    tags: tuple[str, ...] = ()
    language: str | None = None
    interval: float | None = None
    """Seconds between polls pinned by the operator (`interval = "30m"`); None: adaptive."""


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the warehouse remembers about a feed between runs."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_polled_at: datetime | None = None
    last_status: str | None = None
    last_http_status: int | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    """The first failed poll of the current run of failures; None while the feed works."""
    next_poll_at: datetime | None = None
    """A failing feed is not polled before this time (backoff); None when it is healthy."""
    poll_interval_seconds: int | None = None
    """How long a healthy feed waits between polls: from how often it publishes and what its
    server says (see `tasks.run.feedstate.poll_interval`), or as pinned in the feeds file."""
    due_at: datetime | None = None
    """When scheduled runs (`due_only`) poll the feed next: the last poll plus the interval,
    with jitter."""

    def __post_init__(self) -> None:
        _store(self, "last_error", MAX_ERROR)


@dataclass(frozen=True, slots=True)
class FetchedFeed:
    """The result of polling one feed URL."""

    feed: FeedSpec
    outcome: FetchOutcome
    http_status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error: str | None = None
    seconds: float = 0.0
    retry_after: float | None = None
    """Seconds the server asked us to wait before polling again (429/503 with Retry-After)."""
    max_age: float | None = None
    """Seconds the response stays fresh (`Cache-Control: max-age`, else `Expires`)."""
    parts: tuple[bytes, ...] = ()
    """The bodies of the sitemaps a sitemap index lists, fetched with it (`body` is the index)."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a parsed feed, normalized but not yet downloaded."""

    feed_name: str
    url: str
    """The entry link, absolute, with tracking parameters and fragment removed."""
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    """Plain text of the entry's summary/description."""
    content: str | None = None
    """Plain text of the entry's full content, when the feed carries it."""
    published_at: datetime | None = None
    """Timezone-aware UTC."""
    authors: tuple[str, ...] = ()
    language: str | None = None
    updated_at: datetime | None = None
    """The entry's own "last updated" date (Atom `updated`, JSON Feed `date_modified`), UTC."""
    published_at_precision: DatePrecision = "second"
    """"day" when the feed wrote a date without a time of day (`published_at` is then midnight
    UTC of that day, not an instant)."""

    def __post_init__(self) -> None:
        _store(self, "url")
        _store(self, "guid")
        _store(self, "language", MAX_LANGUAGE)
        _store(self, "title", MAX_HEADLINE)
        _store(self, "summary", MAX_TEXT, line=False)
        _store(self, "content", MAX_TEXT, line=False)
        _store_names(self, "authors")


@dataclass(frozen=True, slots=True)
class EntryFingerprint:
    """What a feed said about an entry when we last recorded it: tells an edit from a repeat."""

    updated_at: datetime | None
    content_hash: str | None
    """Hash of the entry's title, summary and content; None for sightings recorded before
    fingerprints existed."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """Entries read from one feed body, and what was wrong with it."""

    feed_name: str
    entries: tuple[FeedEntry, ...] = ()
    problem: str | None = None
    """Set when the feed is malformed (feedparser's bozo) but still usable, or unusable."""
    usable: bool = True
    title: str | None = None
    language: str | None = None
    update_hint: float | None = None
    """Seconds between updates the feed itself announces (RSS `ttl`, `sy:updatePeriod` and
    `sy:updateFrequency`)."""

    def __post_init__(self) -> None:
        _store(self, "title", MAX_HEADLINE)  # names a discovered feed (`newsdesk feeds add`)
        _store(self, "language", MAX_LANGUAGE)
        _store(self, "problem", MAX_ERROR)


@dataclass(frozen=True, slots=True)
class Page:
    """A downloaded article page."""

    url: str
    """The URL that was requested."""
    final_url: str | None = None
    """Where redirects ended."""
    http_status: int | None = None
    error: str | None = None
    body: bytes | None = None
    """The undecoded HTML: bytes cross to a worker process for the price of a copy, and the
    decode runs there. For a 403, 429 or 503, the error page's first bytes, for extraction to
    tell a bot challenge (which can heal) from a refusal."""
    content_type: str | None = None
    """The response's Content-Type, for decoding `body`."""
    retryable: bool = False
    """The failure can heal (a 5xx, a 429, a timeout, a lost connection, an unreachable
    robots.txt): the page is worth fetching again later. False for a success and for failures
    that a later request would only repeat (404, 410, not HTML, disallowed, refused)."""


@dataclass(frozen=True, slots=True)
class Article:
    """One article ready for the warehouse."""

    article_id: str
    url: str
    canonical_url: str
    feed_name: str
    title: str | None
    text: str
    summary: str | None
    authors: tuple[str, ...]
    published_at: datetime | None
    published_at_source: DateSource | None
    published_at_precision: DatePrecision | None
    language: str | None
    word_count: int
    content_hash: str
    extraction: Extraction
    extraction_error: str | None = None
    site_name: str | None = None
    http_status: int | None = None
    page_type: PageType | None = None
    """None when the page could not be read (the row then holds the feed's text)."""
    wire_agency: str | None = None
    dateline: str | None = None
    published_at_offset_minutes: int | None = None
    """The UTC offset written with the page's time, when `published_at` came from the page."""
    story_id: str | None = None
    """Assigned after extraction, by comparing the text with recent articles."""
    text_partial: bool = False
    """`text` is the teaser of a paywalled article, not all of it: the page declares its
    content not free (`isAccessibleForFree`) and serves only part of it, or the text ends in a
    subscribe prompt."""
    sketch: bytes | None = None
    """The text's MinHash (`tasks.run.stories`), computed in the extraction worker so that
    clustering in the flow only compares; None when the text is too short. Not a column."""
    retryable: bool = False
    """The page failed in a way that can heal (`Page.retryable`, or a bot challenge or consent
    wall in place of the article, see `tasks.page.junk`): the row holds the feed's text for
    now, and the retry queue (`page_retries`) fetches the page again later. Not a column."""

    def __post_init__(self) -> None:
        for name in ("url", "canonical_url", "feed_name"):
            _store(self, name)
        _store(self, "language", MAX_LANGUAGE)
        _store(self, "title", MAX_HEADLINE)
        if self.title is not None and not any(c.isalnum() for c in self.title):
            object.__setattr__(self, "title", None)  # "…" or "– | –" says nothing
        _store(self, "summary", MAX_SUMMARY)
        _store(self, "site_name", MAX_SITE_NAME)
        _store(self, "wire_agency", MAX_AGENCY)
        _store(self, "dateline", MAX_DATELINE)
        _store(self, "extraction_error", MAX_ERROR)
        _store_names(self, "authors")
        text = storable(self.text, MAX_TEXT, line=False) or ""
        if text is not self.text:
            object.__setattr__(self, "text", text)


@dataclass(frozen=True, slots=True)
class StorySketch:
    """What the warehouse keeps per article to compare later articles with it."""

    article_id: str
    story_id: str
    minhash: bytes
    """MinHash values of the text's shingles, little-endian uint32 (see `tasks.run.stories`)."""


@dataclass(frozen=True, slots=True)
class FeedReport:
    """One feed's line in a run summary."""

    name: str
    status: str
    """ok, not_modified, unchanged, failed, or backoff (not polled: resting after failures)."""
    http_status: int | None
    entries: int
    new_articles: int
    fallback_articles: int
    """New articles stored from the feed's own text because the page failed."""
    failed_articles: int
    """New entries with neither page text nor a title: not stored, retried later."""
    seconds: float
    error: str | None = None
    capped: bool = False
    """More new entries than the per-feed limit: the rest come on the next run."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A feed whose status changed in a run, and whether that run alerted about it (a change
    inside the cool-down of the feed's last alert is recorded, not announced)."""

    previous: Health | None
    current: FeedStatus
    alerted: bool

    @property
    def feed(self) -> str:
        return self.current.feed_name


@dataclass(frozen=True, slots=True)
class RunReport:
    """What an ingest run did, for the CLI, logs and artifacts."""

    run_id: str
    db: str
    started_at: datetime
    finished_at: datetime
    feeds: tuple[FeedReport, ...]
    articles_new: int
    articles_fallback: int
    articles_failed: int
    entries_seen: int
    dry_run: bool = False
    """Nothing was written; `articles_new` counts what would have been stored."""
    articles_updated: int = 0
    """Stored articles whose text or title changed; the previous version is kept."""
    spooled_to: str | None = None
    """Set when the warehouse stayed locked: the batch waits there for the next run."""
    lock_error: str | None = None
    merged_runs: tuple[str, ...] = ()
    """Earlier runs whose spooled batches this run wrote to the warehouse."""
    pages_retried: int = 0
    """Pages of stored articles fetched again from the retry queue."""
    articles_healed: int = 0
    """Of those, articles whose feed text the page's text replaced."""
    retries_given_up: int = 0
    """Articles whose page failed once more than the retry schedule allows, or for good."""
    rejected: tuple[RejectedArticle, ...] = ()
    """Articles that could not be stored; their feed's next run tries them again."""
    changes: tuple[StatusChange, ...] = ()
    """Feeds whose status changed in this run (`tasks.run.health`)."""

    @property
    def feeds_failed(self) -> int:
        return sum(f.status == "failed" for f in self.feeds)

    @property
    def feeds_backoff(self) -> int:
        return sum(f.status == "backoff" for f in self.feeds)

    @property
    def all_failed(self) -> bool:
        """Every feed polled failed (feeds resting after failures were not polled)."""
        polled = len(self.feeds) - self.feeds_backoff
        return polled > 0 and self.feeds_failed == polled

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class Sighting:
    """An article seen in a feed: one row of `feed_entries`."""

    feed_name: str
    entry_url: str
    article_id: str
    guid: str | None
    entry_title: str | None
    entry_published_at: datetime | None
    entry_updated_at: datetime | None = None
    entry_hash: str | None = None
    """With `entry_updated_at`, the entry's fingerprint: a later sighting that differs from it
    is an edit (see `tasks.run.plan`)."""

    def __post_init__(self) -> None:
        _store(self, "entry_url")
        _store(self, "guid")
        _store(self, "entry_title", MAX_HEADLINE)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of `ingest_runs`."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    feeds_total: int
    feeds_ok: int
    feeds_unchanged: int
    feeds_failed: int
    entries_seen: int
    articles_new: int
    articles_fallback: int
    articles_failed: int
    duration_seconds: float
    feeds_backoff: int = 0
    articles_updated: int = 0
    pages_retried: int = 0
    """Pages of stored articles fetched again from the retry queue."""
    articles_healed: int = 0
    """Stored articles whose feed text was replaced by their page's (filled in by the write)."""


@dataclass(frozen=True, slots=True)
class PageRetry:
    """One row of `page_retries`: an article stored from its feed's text because its page
    failed in a way that can heal, and when to fetch the page again."""

    article_id: str
    feed_name: str
    url: str
    """The entry link that failed: what is fetched again."""
    attempts: int
    """Fetches of the page that failed, the first one included."""
    last_error: str
    first_failed_at: datetime
    last_attempt_at: datetime
    next_attempt_at: datetime | None
    """Not fetched again before this instant; None once healed or given up."""
    status: RetryStatus = "waiting"
    gave_up_at: datetime | None = None
    healed_at: datetime | None = None

    def __post_init__(self) -> None:
        _store(self, "url")
        _store(self, "last_error", MAX_ERROR)


@dataclass(frozen=True, slots=True)
class Batch:
    """What one run writes in one transaction: the whole run, or one of its batches of pages
    (`NEWSDESK_BATCH_SIZE`)."""

    articles: tuple[Article, ...]
    sightings: tuple[Sighting, ...]
    feed_states: tuple[FeedState, ...]
    run: RunRecord
    sketches: tuple[StorySketch, ...] = ()
    """Story sketches of the batch's articles, offered to later runs' clustering."""
    retries: tuple[PageRetry, ...] = ()
    """The retry queue's rows this run added (first failures) or moved (after a refetch)."""
    last: bool = True
    """The run's last batch: only it records the run in `ingest_runs` (and carries the feed
    states); an earlier one's `run` gives its articles their run and time only."""


@dataclass(frozen=True, slots=True)
class FeedHistory:
    """What the warehouse holds of one feed's output, to judge it against its own normal
    (`tasks.run.health`). An entry's instant is its publication date, or when it was first
    seen if that is earlier (the date is in the future) or it has none."""

    name: str
    days: tuple[tuple[date, int], ...] = ()
    """Entries per UTC day since the start of the history window, oldest first; days without
    any are left out."""
    first_at: datetime | None = None
    """The feed's earliest entry: its history counts from the next UTC day on."""
    last_at: datetime | None = None
    """Its newest entry."""
    longest_gap: float | None = None
    """Seconds between the two consecutive entries furthest apart in the history window."""
    pages: int = 0
    """Articles of its latest entries (at most 20, seen in the last 14 days) …"""
    not_articles: tuple[tuple[str, int], ...] = ()
    """… and of those, the pages served in place of the article, by `extraction_error`."""


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A feed's health as a run judged it: one row of `feed_status`, written when the status
    or the alert sent for it changes."""

    feed_name: str
    status: Health
    reason: str
    since: datetime
    """When the status began (the first failure, the last entry of a silent feed, else the
    run that found it)."""
    expected: float | None
    """Entries the feed usually brings in 7 days (the median of its earlier weeks)."""
    seen: int | None
    """Entries it brought in the last 7 complete days."""
    alerted_status: Health | None
    """The status the latest alert announced (None: never alerted, taken as `ok`)."""
    alerted_at: datetime | None
    assessed_at: datetime
    run_id: str


@dataclass(frozen=True, slots=True)
class StoredState:
    """What a run reads from the warehouse before it fetches anything."""

    feeds: dict[str, FeedState]
    """Every feed's stored state, by name."""
    recent: list[StorySketch]
    """Story sketches of the articles stored in the story window."""
    waiting: list[tuple[FeedEntry, PageRetry]]
    """Pages of articles stored from their feed's text that are due for another fetch."""


@dataclass(frozen=True, slots=True)
class KnownUrls:
    """What the warehouse already holds for a set of entry URLs."""

    article_ids: dict[str, str]
    """Entry or article URL -> article_id, for URLs already stored."""
    sightings: frozenset[tuple[str, str]]
    """(feed_name, entry_url) pairs already recorded."""
    fingerprints: dict[tuple[str, str], EntryFingerprint] = field(default_factory=dict)
    """(feed_name, entry_url) -> what that feed said about the entry when it was recorded."""
    guids: dict[tuple[str, str], str] = field(default_factory=dict)
    """(feed_name, guid) -> article_id, for guids of the candidates already recorded."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch write changed."""

    new_ids: set[str]
    """Articles inserted."""
    updated_ids: set[str]
    """Articles whose text or title changed; their previous version is in article_versions."""
    healed_ids: set[str] = field(default_factory=set)
    """Articles stored from the feed's text whose page's text replaced it, in place."""


@dataclass(frozen=True, slots=True)
class RejectedArticle:
    """An article the write step could not store: the batch went on without it. Its entry is
    not recorded as seen, so a later run of its feed tries it again."""

    feed_name: str
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What became of a run's batch."""

    result: BatchResult
    spooled_to: Path | None = None
    """Set when the warehouse stayed locked and the batch went to the spool instead."""
    lock_error: str | None = None
    merged: tuple[RunRecord, ...] = ()
    """Spooled batches of earlier runs merged before this one."""
    index_error: str | None = None
    """Why the search index could not take in the batch (the batch is stored; the next run
    or the maintenance flow adds what is missing)."""
    rejected: tuple[RejectedArticle, ...] = ()
    """Articles of the batch that could not be stored (the rest of it was)."""
