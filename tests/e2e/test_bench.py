"""The throughput benchmark's own parts: its web behaves like real feed servers, and the whole
harness runs end to end on a few corpus pages (a check of the harness, not a measurement: the
figures come from `make bench`, see docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.server import BenchServer
from bench.site import HOSTS
from harness.corpus import CORPUS, needs_corpus

ROOT = Path(__file__).resolve().parents[2]


def _tiny_corpus(root: Path, pages: int) -> Path:
    articles = root / "articles"
    articles.mkdir(parents=True)
    rows = []
    for n in range(pages):
        page_id = f"page-{n}"
        (articles / f"{page_id}.html").write_text(
            f'<html><head><link rel="canonical" href="https://example.com/{n}">'
            f"<title>Story {n}</title></head><body><p>Body {n}.</p></body></html>"
        )
        rows.append(json.dumps({"id": page_id, "title": f"Story {n}", "body": f"Body {n}."}))
    (articles / "ground_truth.jsonl").write_text("\n".join(rows) + "\n")
    return root


def test_the_benchmark_web_answers_like_real_feed_servers(tmp_path):
    corpus = _tiny_corpus(tmp_path, pages=6)
    with BenchServer(corpus, hosts=HOSTS[:2]) as site:
        host = HOSTS[0]
        base = f"http://{host}:{site.ports[host]}"
        with httpx.Client() as client:
            page = client.get(f"{base}/news/page-0.html")
            # The copy on this host names itself as canonical, ahead of the page's own link.
            assert page.text.index(f'href="{base}/news/page-0.html"') < page.text.index(
                "https://example.com/0"
            )
            assert client.get(f"{base}/robots.txt").status_code == 200
            assert client.get(f"{base}/nothing").status_code == 404

            with_validators = client.get(f"{base}/feeds/0000.rss.xml")
            etag = with_validators.headers["etag"]
            again = client.get(f"{base}/feeds/0000.rss.xml", headers={"If-None-Match": etag})
            assert (with_validators.status_code, again.status_code) == (200, 304)

            # Half the feeds send no validators: the same body again, which only a body hash
            # can tell is unchanged.
            other = f"http://{HOSTS[1]}:{site.ports[HOSTS[1]]}/feeds/0002.rss.xml"
            plain = client.get(other)
            assert "etag" not in plain.headers and "last-modified" not in plain.headers
            assert client.get(other).content == plain.content
            assert b"<item>" in plain.content

        answers = site.stats()["answers"]
        assert answers["feed 304"] == 1 and answers["page 200"] == 1
        site.reset()
        assert site.stats()["answers"] == {}


@needs_corpus
@pytest.mark.load
def test_the_benchmark_runs_end_to_end_on_a_few_pages(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--corpus",
            str(CORPUS),
            "--pages",
            "8",
            "--scale-rows",
            "20000",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cold ingest" in done.stdout
    figures = json.loads(out.read_text())
    feeds = len(HOSTS) * 2  # 8 pages per host, 4 entries per feed
    assert figures["cold"]["articles"] == 8 * len(HOSTS)
    assert figures["cold"]["feeds"] == feeds
    # The re-poll found every feed unchanged (304 or same body) and parsed none of them.
    assert figures["idle"]["unchanged"] == feeds
    assert figures["idle"]["entries_parsed"] == 0
    assert figures["idle"]["answers"]["feed 304"] == feeds // 2
    assert figures["warehouse"]["rows"] == 20000
    assert figures["feed_parsing"]["entries"] > 0
    # The file and the lake stored the same articles from the same feeds.
    assert figures["lake_ingest"]["cold"]["articles"] > 0
    assert figures["lake_scale"]["migrated"]["articles"] == 20000
