"""What the network edge needs to know: the fetch part of the operator's settings."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_USER_AGENT = (
    "newsdesk/0.1 (RSS/Atom news ingestion; obeys robots.txt, Retry-After, ETag and Last-Modified)"
)


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """Timeouts, size caps, concurrency and politeness for every request of a run.

    Built from the `NEWSDESK_*` settings at the edge (`Settings.fetch_config()`); the defaults
    are the settings' defaults, so a script or test can build one by hand.
    """

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_response_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    feed_concurrency: int = 16
    article_concurrency: int = 32
    per_host_concurrency: int = 2
    per_host_delay: float = 0.5
    respect_robots_txt: bool = True
    retry_after_max: float = 30.0
    allow_private_network: bool = False
    max_sitemaps: int = 10
