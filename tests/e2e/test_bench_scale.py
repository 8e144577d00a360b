"""The scale simulation drives the real polling functions: at a reduced size, adaptive polling
must poll far less than every 15 minutes and still catch nearly every new entry."""

from bench.scale import SIMULATED_DAYS, simulate, simulated_feeds


def test_adaptive_polling_saves_polls_and_catches_new_entries() -> None:
    result = simulate(simulated_feeds(600, SIMULATED_DAYS))
    adaptive, every = result["adaptive"], result["every_run"]
    assert adaptive["polls_per_day"] < every["polls_per_day"] / 10
    assert adaptive["caught_share"] > 0.999
    assert adaptive["downloads_per_day"] <= result["published_per_day"]
