"""Hostile and broken feed bytes: XML attacks, random and mutated bodies, and every corpus feed
through fetch → parse → normalize over a real local server."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.corpus import CORPUS, needs_corpus
from harness.httpserver import LocalServer, Reply
from newsdesk.demo import SAMPLE_DIR
from tasks.feeds.parse import parse_feed
from tasks.fetch.collect import fetch_feeds
from tasks.fetch.config import FetchConfig
from tasks.models import FeedSpec, ParsedFeed
from tasks.urls import normalize_url

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FUZZ = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=False,
)


def assert_well_formed(feed: ParsedFeed) -> None:
    """What every later stage relies on, whatever the bytes were."""
    assert isinstance(feed, ParsedFeed)
    if not feed.usable:
        assert feed.problem and feed.problem.startswith("not a feed")
    for entry in feed.entries:
        assert entry.url.startswith(("http://", "https://"))
        assert normalize_url(entry.url) == entry.url
        for value in (entry.title, feed.title):
            assert value is None or ("\n" not in value and not CONTROL.search(value))
        for value in (entry.summary, entry.content, *entry.authors):
            assert value is None or not CONTROL.search(value.replace("\n", ""))
        assert entry.published_at is None or entry.published_at.utcoffset().total_seconds() == 0


# ---------------------------------------------------------------- XML attacks

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>Laughs &lol9;</title><link>https://news.example/laughs</link>
<description>&lol9;</description></item></channel></rss>"""

# One 40 kB entity used 40,000 times: 1.6 GB if expanded ("quadratic blowup"). Unlike the
# nested laughs, feedparser keeps this entity, so only expat's amplification limit stops it.
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + b"A" * 40_000
    + b'">]><rss version="2.0"><channel><title>q</title><item><title>'
    + b"&a;" * 40_000
    + b"</title><link>https://news.example/quadratic</link></item></channel></rss>"
)


def external_entity_feed(system_id: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{system_id}">]>'
        '<rss version="2.0"><channel><title>t &xxe;</title><item><title>Story &xxe;</title>'
        "<link>https://news.example/xxe</link><description>&xxe;</description></item>"
        "</channel></rss>"
    ).encode()


def parse_in_fresh_process(body: bytes, tmp_path: Path) -> dict:
    """Parse in a child process and report its peak memory, so the figure is this parse's."""
    source = tmp_path / "feed.xml"
    source.write_bytes(body)
    script = textwrap.dedent(
        f"""
        import json, re, time
        from tasks.feeds.parse import parse_feed
        def peak_mib():  # VmHWM, not ru_maxrss: that one survives exec from the parent
            status = open("/proc/self/status").read()
            return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024
        before = peak_mib()
        started = time.perf_counter()
        feed = parse_feed("attack", open({str(source)!r}, "rb").read(), "https://news.example/")
        print(json.dumps({{
            "seconds": time.perf_counter() - started,
            "peak_mib": peak_mib() - before,
            "usable": feed.usable,
            "titles": [e.title for e in feed.entries],
            "text": " ".join(str(v) for e in feed.entries for v in (e.title, e.summary)),
        }}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("body", [LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic-blowup"])
def test_entity_expansion_neither_blows_up_memory_nor_hangs(body: bytes, tmp_path: Path) -> None:
    parsed = parse_in_fresh_process(body, tmp_path)

    assert parsed["seconds"] < 10
    assert parsed["peak_mib"] < 100  # the expansion would be gigabytes
    assert "lol" * 100 not in parsed["text"]
    assert "A" * 100_000 not in parsed["text"]


def test_billion_laughs_feed_still_yields_its_entry() -> None:
    feed = parse_feed("laughs", LAUGHS, "https://news.example/")

    assert [e.url for e in feed.entries] == ["https://news.example/laughs"]
    assert feed.problem and "undefined entity" in feed.problem


def test_external_entities_never_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-SECRET-9d41")

    feed = parse_feed("xxe", external_entity_feed(secret.as_uri()), "https://news.example/")

    text = json.dumps([[e.title, e.summary, e.content] for e in feed.entries])
    assert "CANARY-SECRET" not in text + str(feed.title)
    assert [e.url for e in feed.entries] == ["https://news.example/xxe"]


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{canary}/entity">]>',
        '<!DOCTYPE rss SYSTEM "{canary}/external.dtd">',
        '<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{canary}/parameter.dtd"> %remote;]>',
    ],
    ids=["external-entity", "external-dtd", "parameter-entity"],
)
def test_external_entities_and_dtds_are_never_fetched(doctype: str) -> None:
    with LocalServer({"/": Reply(body=b"LEAKED")}) as canary:
        body = (
            '<?xml version="1.0"?>'
            + doctype.format(canary=canary.url("").rstrip("/"))
            + '<rss version="2.0"><channel><title>t</title><item><title>Story &xxe;</title>'
            "<link>https://news.example/a</link></item></channel></rss>"
        ).encode()
        feed = parse_feed("xxe", body, "https://news.example/")
        assert canary.requests == []
    assert [e.url for e in feed.entries] == ["https://news.example/a"]
    assert "LEAKED" not in str(feed.entries[0].title)


# ---------------------------------------------------------------- crashes found by fuzzing


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 100_000, "application/json"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 50_000, None),
        # A character reference to a lone surrogate crashed feedparser's lenient parser.
        (
            b'<rss version="2.0"><channel><item><title>a &#xD800; b</title>'
            b"<link>https://news.example/a</link></item></channel><",
            None,
        ),
        (b'<?xml version="1.0" encoding="utf-\xe4\x80"?><rss><channel>', None),
    ],
    ids=["nested-json", "nested-json-items", "surrogate-charref", "non-ascii-encoding-name"],
)
def test_bodies_that_crashed_the_parser_now_fail_alone(body: bytes, content_type: str) -> None:
    assert_well_formed(parse_feed("f", body, "https://news.example/feed", content_type))


def test_a_surrogate_character_reference_keeps_the_entry() -> None:
    body = (
        b'<rss version="2.0"><channel><item><title>a &#xD800; b &#1114112;</title>'
        b"<link>https://news.example/a</link></item></channel><"
    )
    feed = parse_feed("f", body, "https://news.example/feed")

    assert [e.title for e in feed.entries] == ["a \ufffd b \ufffd"]


# ---------------------------------------------------------------- property-based


def _seed_feeds() -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted((SAMPLE_DIR / "feeds").glob("*.xml"))]
    if CORPUS.is_dir():
        small = sorted(p for p in (CORPUS / "feeds").iterdir() if p.stat().st_size < 40_000)
        seeds += [p.read_bytes() for p in small if p.suffix in (".xml", ".json")]
    return seeds


SEEDS = _seed_feeds()
SNIPPETS = [
    b"<",
    b"&",
    b"]]>",
    b"<![CDATA[",
    b"\x00",
    b"\xff\xfe",
    b"&#xD800;",
    b"&#0;",
    b"&#1114112;",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"<item><link>javascript:alert(1)</link></item>",
    b"<title><script>x</script>\x07\x1b</title>",
    b"<width></width>",
    b'{"items": [',
    b"[" * 3000,
]

mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=32)),
    st.tuples(st.just("snippet"), st.floats(0, 1), st.sampled_from(SNIPPETS)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 400)),
    st.tuples(st.just("repeat"), st.floats(0, 1), st.integers(2, 40)),
)


def mutate(body: bytes, steps: list[tuple]) -> bytes:
    for step in steps:
        at = int(step[1] * len(body))
        if step[0] == "truncate":
            body = body[:at]
        elif step[0] in ("insert", "snippet"):
            body = body[:at] + step[2] + body[at:]
        elif step[0] == "delete":
            body = body[:at] + body[at + step[2] :]
        else:
            body = body[:at] + body[at : at + 120] * step[2] + body[at + 120 :]
    return body


CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/rss+xml",
        "application/json",
        "text/html; charset=utf-16",
        "text/xml; charset=nope",
    ]
)


@FUZZ
@given(body=st.binary(max_size=2048), content_type=CONTENT_TYPES)
def test_random_bytes_never_crash_the_parser(body: bytes, content_type: str | None) -> None:
    assert_well_formed(parse_feed("f", body, "https://news.example/feed", content_type))


@FUZZ
@given(
    seed=st.integers(0, len(SEEDS) - 1),
    steps=st.lists(mutation, min_size=1, max_size=4),
    content_type=CONTENT_TYPES,
)
def test_mutated_real_feeds_never_crash_the_parser(
    seed: int, steps: list[tuple], content_type: str | None
) -> None:
    body = mutate(SEEDS[seed], steps)
    assert_well_formed(parse_feed("f", body, "https://news.example/feed", content_type))


@FUZZ
@given(
    items=st.lists(
        st.fixed_dictionaries(
            {
                "title": st.text(max_size=80),
                "link": st.one_of(st.text(max_size=60), st.just("https://news.example/a?utm_x=1")),
                "description": st.text(max_size=200),
                "guid": st.text(max_size=40),
                "pubDate": st.text(max_size=40),
                "author": st.text(max_size=40),
            }
        ),
        max_size=5,
    ),
    escape_text=st.booleans(),
)
def test_feeds_with_arbitrary_field_text_parse_cleanly(
    items: list[dict], escape_text: bool
) -> None:
    from xml.sax.saxutils import escape

    def field(value: str) -> str:
        return escape(value) if escape_text else value

    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        + "".join(
            "<item>" + "".join(f"<{k}>{field(v)}</{k}>" for k, v in item.items()) + "</item>"
            for item in items
        )
        + "</channel></rss>"
    ).encode("utf-8", "surrogatepass")
    assert_well_formed(parse_feed("f", body, "https://news.example/feed"))


# ---------------------------------------------------------------- the whole corpus, fetched


def _corpus_feed_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in (CORPUS / "feeds").iterdir() if p.name != "manifest.jsonl")


@needs_corpus
@pytest.mark.corpus
def test_every_corpus_feed_goes_through_fetch_parse_normalize(tmp_path: Path) -> None:
    files = _corpus_feed_files()
    assert len(files) == 146
    config = FetchConfig(allow_private_network=True, per_host_concurrency=8, per_host_delay=0)
    with LocalServer() as server:
        for path in files:
            kind = "application/feed+json" if path.suffix == ".json" else "application/xml"
            server.routes[f"/{path.name}"] = Reply(
                headers={"Content-Type": kind}, body=path.read_bytes()
            )
        specs = [FeedSpec(name=p.name, url=server.url(f"/{p.name}")) for p in files]
        fetched = asyncio.run(fetch_feeds(specs, {}, config))

    assert [f.outcome for f in fetched] == ["ok"] * len(files)
    usable = 0
    for result in fetched:
        assert result.body is not None
        feed = parse_feed(
            result.feed.name, result.body, result.final_url or "", result.content_type
        )
        assert_well_formed(feed)
        usable += feed.usable
    # The handful that are not usable are the corpus's deliberately broken files.
    assert usable >= 140


# ---------------------------------------------------------------- display text


MARKUP = re.compile(r"<[A-Za-z/!][^>]*>")


@FUZZ
@given(
    value=st.one_of(
        st.text(max_size=60),
        st.lists(
            st.sampled_from(["<", ">", "/", "b", "i", "!", "&amp;", " ", "\x07", "\x00", "<b>"]),
            max_size=20,
        ).map("".join),
    )
)
def test_titles_authors_and_site_names_never_carry_markup_or_controls(value: str) -> None:
    from tasks.page.extract import clean_headline, split_authors

    for cleaned in (clean_headline(value), *split_authors([value])):
        if cleaned is not None:
            assert not MARKUP.search(cleaned), cleaned
            assert not CONTROL.search(cleaned), cleaned
            assert "\n" not in cleaned
