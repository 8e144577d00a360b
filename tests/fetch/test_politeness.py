"""Politeness and the article-link guard against real servers on 127.0.0.0/8: Retry-After,
per-host spacing, robots.txt, and address pinning (DNS rebinding, private redirect hops)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from harness.httpserver import LocalServer, Reply, Seen, redirect
from tasks.fetch.config import DEFAULT_USER_AGENT, FetchConfig
from tasks.fetch.http import (
    HostLimiter,
    PublicOnlyBackend,
    fetch_feed,
    fetch_page,
    make_client,
    retry_after_seconds,
)
from tasks.fetch.robots import RobotsRules
from tasks.models import FeedSpec, FetchedFeed, Page

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
HTML = b"<html><head><title>t</title></head><body><p>Hello</p></body></html>"
HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8"}


def settings(**overrides: object) -> FetchConfig:
    values: dict[str, object] = {
        "allow_private_network": True,
        "connect_timeout": 2,
        "read_timeout": 2,
        "total_timeout": 5,
        "per_host_delay": 0,
        "respect_robots_txt": True,
        "retry_after_max": 2,
    }
    values.update(overrides)
    return FetchConfig(**values)  # type: ignore[arg-type]


def poll(config: FetchConfig, url: str) -> FetchedFeed:
    async def run() -> FetchedFeed:
        async with make_client(config) as client:
            limiter = HostLimiter(config.per_host_concurrency, delay=config.per_host_delay)
            return await fetch_feed(client, limiter, FeedSpec(name="f", url=url), None, config)

    return asyncio.run(run())


def download_all(config: FetchConfig, urls: list[str], backend=None) -> list[Page]:
    """Fetch pages concurrently the way a run does, sharing one limiter and robots cache."""

    async def run() -> list[Page]:
        public_only = not config.allow_private_network
        async with make_client(config, public_only=public_only, network_backend=backend) as client:
            limiter = HostLimiter(config.per_host_concurrency, delay=config.per_host_delay)
            robots = RobotsRules(client, config) if config.respect_robots_txt else None
            return list(
                await asyncio.gather(
                    *(fetch_page(client, limiter, url, config, robots) for url in urls)
                )
            )

    return asyncio.run(run())


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def stamped(reply: Reply, times: list[float]):
    def route(seen: Seen) -> Reply:
        times.append(time.monotonic())
        return reply

    return route


# ---------------------------------------------------------------- Retry-After


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300
    assert retry_after_seconds(format_datetime(now - timedelta(minutes=5), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_a_429_with_a_short_retry_after_is_retried_once_after_the_wait(
    server: LocalServer,
) -> None:
    times: list[float] = []
    answers = iter([Reply(status=429, headers={"Retry-After": "1"}), Reply(body=RSS)])
    server.routes["/feed.xml"] = lambda seen: (times.append(time.monotonic()), next(answers))[1]
    fetched = poll(settings(), server.url("/feed.xml"))

    assert fetched.outcome == "ok"
    assert fetched.body == RSS
    assert len(times) == 2
    assert times[1] - times[0] >= 0.95


def test_a_retry_after_beyond_the_cap_fails_at_once_and_is_remembered(
    server: LocalServer,
) -> None:
    server.routes["/feed.xml"] = Reply(status=503, headers={"Retry-After": "3600"})
    started = time.monotonic()
    fetched = poll(settings(retry_after_max=2), server.url("/feed.xml"))

    assert fetched.outcome == "failed"
    assert fetched.error == "HTTP 503 (Retry-After 3600 s)"
    assert fetched.retry_after == 3600
    assert len(server.requests) == 1
    assert time.monotonic() - started < 1.9  # no wait: neither the hour asked for nor the 2 s cap


def test_a_429_without_retry_after_is_not_retried(server: LocalServer) -> None:
    server.routes["/feed.xml"] = Reply(status=429)
    fetched = poll(settings(), server.url("/feed.xml"))

    assert (fetched.outcome, fetched.error, fetched.retry_after) == ("failed", "HTTP 429", None)
    assert len(server.requests) == 1


def test_a_429_pauses_every_request_to_that_host(server: LocalServer) -> None:
    times: dict[str, list[float]] = {"/a": [], "/b": []}
    answers = iter([Reply(status=429, headers={"Retry-After": "1"})])

    def first_refuses(seen: Seen) -> Reply:
        times["/a"].append(time.monotonic())
        return next(answers, Reply(headers=HTML_HEADERS, body=HTML))

    server.routes["/a"] = first_refuses
    server.routes["/b"] = stamped(Reply(headers=HTML_HEADERS, body=HTML), times["/b"])

    async def run() -> list[Page]:
        config = settings(respect_robots_txt=False, per_host_concurrency=1)
        async with make_client(config) as client:
            limiter = HostLimiter(1)
            first = asyncio.create_task(fetch_page(client, limiter, server.url("/a"), config))
            await asyncio.sleep(0.3)  # /a has been refused and its host paused by now
            second = await fetch_page(client, limiter, server.url("/b"), config)
            return [await first, second]

    pages = asyncio.run(run())
    assert [p.error for p in pages] == [None, None]
    assert times["/b"][0] - times["/a"][0] >= 0.95


# ---------------------------------------------------------------- spacing


def test_slots_for_one_host_start_at_least_the_delay_apart() -> None:
    async def run() -> list[float]:
        limiter = HostLimiter(per_host=4, delay=0.2)
        starts: list[float] = []

        async def one() -> None:
            async with limiter.slot("http://news.example/x"):
                starts.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(4)))
        return starts

    starts = sorted(asyncio.run(run()))
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.199


def test_spacing_holds_across_the_event_loops_of_a_runs_batches() -> None:
    # Each batch of a run downloads in an event loop (and a limiter) of its own; the spacing
    # they share must keep the first request of a batch `delay` after the last of the one before.
    spacing: dict[str, float] = {}

    async def one_batch() -> float:
        limiter = HostLimiter(per_host=2, delay=0.3, not_before=spacing)
        async with limiter.slot("http://news.example/x"):
            return time.monotonic()

    first = asyncio.run(one_batch())
    second = asyncio.run(one_batch())
    assert second - first >= 0.299


def test_a_server_sees_requests_spaced_by_the_delay(server: LocalServer) -> None:
    times: list[float] = []
    for index in range(4):
        server.routes[f"/{index}"] = stamped(Reply(headers=HTML_HEADERS, body=HTML), times)
    config = settings(per_host_delay=0.25, per_host_concurrency=4, respect_robots_txt=False)

    started = time.monotonic()
    pages = download_all(config, [server.url(f"/{i}") for i in range(4)])

    assert [p.error for p in pages] == [None] * 4
    # Measured at the server, where thread scheduling adds jitter: the span, not each gap.
    assert max(times) - started >= 3 * 0.25


def test_spacing_is_per_host(server: LocalServer) -> None:
    with LocalServer(host="127.0.0.2") as other:
        for s in (server, other):
            s.routes["/page"] = Reply(headers=HTML_HEADERS, body=HTML)
        config = settings(per_host_delay=2, respect_robots_txt=False)
        started = time.monotonic()
        pages = download_all(config, [server.url("/page"), other.url("/page")])
    assert [p.error for p in pages] == [None, None]
    assert time.monotonic() - started < 1.9  # spaced per host, the two would take 2 s


# ---------------------------------------------------------------- robots.txt

ROBOTS = b"""User-agent: *
Disallow: /private/

User-agent: newsdesk
Disallow: /no-newsdesk/
"""


def test_robots_txt_is_fetched_once_per_site_and_obeyed(server: LocalServer) -> None:
    server.routes["/robots.txt"] = Reply(
        headers={"Content-Type": "text/plain"}, body=b"User-agent: *\nDisallow: /private/\n"
    )
    for path in ("/news/1", "/news/2", "/private/3"):
        server.routes[path] = Reply(headers=HTML_HEADERS, body=HTML)
    paths = ["/news/1", "/news/2", "/private/3"]

    pages = download_all(settings(), [server.url(p) for p in paths])

    assert [p.error for p in pages] == [None, None, "disallowed by robots.txt"]
    assert sorted(server.paths()) == ["/news/1", "/news/2", "/robots.txt"]
    assert server.requests[0].headers["user-agent"] == DEFAULT_USER_AGENT


def test_a_group_naming_newsdesk_replaces_the_star_group(server: LocalServer) -> None:
    # RFC 9309 2.2.1: the most specific group applies, and only that one.
    server.routes["/robots.txt"] = Reply(body=ROBOTS)
    for path in ("/private/1", "/no-newsdesk/2"):
        server.routes[path] = Reply(headers=HTML_HEADERS, body=HTML)

    pages = download_all(settings(), [server.url("/private/1"), server.url("/no-newsdesk/2")])

    assert [p.error for p in pages] == [None, "disallowed by robots.txt"]


def test_robots_txt_is_ignored_when_switched_off(server: LocalServer) -> None:
    server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nDisallow: /\n")
    server.routes["/news/1"] = Reply(headers=HTML_HEADERS, body=HTML)

    [page] = download_all(settings(respect_robots_txt=False), [server.url("/news/1")])

    assert page.error is None
    assert server.paths() == ["/news/1"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=404), None),
        (Reply(status=403), None),
        (Reply(status=503), "robots.txt unreachable (HTTP 503): page not fetched"),
        (Reply(status=429), "robots.txt unreachable (HTTP 429): page not fetched"),
    ],
    ids=["404-allows", "403-allows", "503-disallows", "429-disallows"],
)
def test_robots_txt_status_decides_as_rfc_9309_says(
    server: LocalServer, reply: Reply, error: str | None
) -> None:
    server.routes["/robots.txt"] = reply
    server.routes["/news/1"] = Reply(headers=HTML_HEADERS, body=HTML)

    [page] = download_all(settings(), [server.url("/news/1")])

    assert page.error == error
    assert ("/news/1" in server.paths()) is (error is None)


def test_a_redirect_is_checked_against_the_robots_txt_of_its_target(
    server: LocalServer,
) -> None:
    with LocalServer(host="127.0.0.2") as other:
        other.routes["/robots.txt"] = Reply(body=b"User-agent: *\nDisallow: /\n")
        other.routes["/story"] = Reply(headers=HTML_HEADERS, body=HTML)
        server.routes["/go"] = redirect(other.url("/story"))

        [page] = download_all(settings(), [server.url("/go")])

        assert page.error == "disallowed by robots.txt"
        assert other.paths() == ["/robots.txt"]


# ---------------------------------------------------------------- private addresses


def test_a_link_to_loopback_is_refused_and_the_canary_sees_nothing(server: LocalServer) -> None:
    server.routes["/story"] = Reply(headers=HTML_HEADERS, body=HTML)

    [page] = download_all(settings(allow_private_network=False), [server.url("/story")])

    assert page.error == (
        "refused: 127.0.0.1 resolves to a private address "
        "(set NEWSDESK_ALLOW_PRIVATE_NETWORK=1 to allow)"
    )
    assert server.requests == []  # not even robots.txt


class LoopbackAsPublic:
    """Test DNS: answers from a script, and calls 127.0.0.2 "public" so a test can reach it
    while 127.0.0.1 plays the private network."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.lookups = 0

    async def resolve(self, host: str, port: int) -> list[str]:
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [answer]

    @staticmethod
    def allowed(ip) -> bool:
        return str(ip) != "127.0.0.1"


def test_dns_rebinding_cannot_redirect_the_connection_to_a_private_address() -> None:
    # rebind.test answers "public" (127.0.0.2) to the check and private (127.0.0.1) ever after.
    # The connection must go to the address that was checked.
    with LocalServer() as canary, LocalServer(host="127.0.0.2", port=canary.port) as public:
        for s in (canary, public):
            s.routes["/story"] = Reply(headers=HTML_HEADERS, body=HTML)
        dns = LoopbackAsPublic(["127.0.0.2", "127.0.0.1"])
        backend = PublicOnlyBackend(resolve=dns.resolve, allowed=dns.allowed)
        config = settings(allow_private_network=False, respect_robots_txt=False)

        [page] = download_all(config, [f"http://rebind.test:{canary.port}/story"], backend)

        assert page.error is None
        assert public.paths() == ["/story"]
        assert public.requests[0].headers["host"] == f"rebind.test:{canary.port}"
        assert canary.requests == []
        assert dns.lookups == 1


def test_a_redirect_hop_to_a_private_address_is_refused_before_connecting() -> None:
    with LocalServer() as canary, LocalServer(host="127.0.0.2") as public:
        canary.routes["/admin"] = Reply(headers=HTML_HEADERS, body=HTML)
        public.routes["/story"] = redirect(canary.url("/admin"))
        dns = LoopbackAsPublic(["127.0.0.2"])
        config = settings(allow_private_network=False, respect_robots_txt=False)

        async def resolve(host: str, port: int) -> list[str]:
            return [host]  # IP literals only in this test

        backend = PublicOnlyBackend(resolve=resolve, allowed=dns.allowed)
        [page] = download_all(config, [public.url("/story")], backend)

        assert page.error is not None and page.error.startswith("refused: 127.0.0.1")
        assert public.paths() == ["/story"]
        assert canary.requests == []
