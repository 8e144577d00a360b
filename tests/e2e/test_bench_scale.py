"""The scale simulation drives the real polling functions: at a reduced size, adaptive polling
must poll far less than every 15 minutes and still catch nearly every new entry. And the fleet
benchmark's history is one its runs recognise."""

import time
from pathlib import Path

from bench.fleet import T0, Clock, FleetHost, feed_url, host_of, prefill
from bench.scale import DAY, SIMULATED_DAYS, simulate, simulated_feeds
from bench.site import Page
from storage.lake import LakeWarehouse
from tasks.feeds.parse import parse_feed
from tasks.run.plan import entry_fingerprint


def test_adaptive_polling_saves_polls_and_catches_new_entries() -> None:
    result = simulate(simulated_feeds(600, SIMULATED_DAYS))
    adaptive, every = result["adaptive"], result["every_run"]
    assert adaptive["polls_per_day"] < every["polls_per_day"] / 10
    assert adaptive["caught_share"] > 0.999
    assert adaptive["downloads_per_day"] <= result["published_per_day"]


def test_the_fleet_history_is_what_a_run_would_find_known(tmp_path: Path) -> None:
    # The fleet benchmark pre-fills the lake with what its feeds listed a period ago; a run
    # must then find those entries known and unedited, or it would download the whole history.
    feeds = simulated_feeds(40, days=T0 / DAY + 1)
    clock = Clock(wall0=time.time())
    hosts = ("127.0.1.1", "127.0.1.2")
    ports = dict.fromkeys(hosts, 8000)
    page = Page("p", tmp_path / "p.html", "A title & more", "Its summary.")
    site = {h: FleetHost(h, hosts, ports, feeds, [(page, b"<html></html>")], clock) for h in hosts}
    lake = LakeWarehouse(f"ducklake:sqlite:{tmp_path / 'catalog.sqlite'}")
    stored = prefill(lake, site, feeds, clock, period=900)

    entries = [
        e
        for i, sim in enumerate(feeds)
        for e in parse_feed(
            sim.spec.name, site[host_of(i, hosts)]._feed(i).body, feed_url(i, hosts, ports)
        ).entries
    ]
    known = lake.find_known([(e.feed_name, e.url) for e in entries])
    old = [e for e in entries if e.published_at <= clock.wall(clock.sim_now() - 900)]
    assert stored == len(old) > 50
    assert all(known.fingerprints[(e.feed_name, e.url)] == entry_fingerprint(e) for e in old)
    assert len(known.article_ids) == len(old)
