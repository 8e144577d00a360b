"""Settings from the environment as operators write them."""

from __future__ import annotations

import pytest

from newsdesk.settings import Settings


@pytest.mark.parametrize(
    "name", ["NEWSDESK_ALLOW_PRIVATE_NETWORK", "NEWSDESK_WORKERS", "NEWSDESK_INGEST_CRON"]
)
def test_an_empty_value_means_the_default(monkeypatch, name):
    # Compose files (`- NEWSDESK_X=`) and systemd units (`Environment=NEWSDESK_X=`) write these.
    field = name.removeprefix("NEWSDESK_").lower()
    monkeypatch.delenv(name, raising=False)
    default = getattr(Settings(), field)
    monkeypatch.setenv(name, "")
    assert getattr(Settings(), field) == default


def test_a_set_value_still_wins(monkeypatch):
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_NETWORK", "1")
    monkeypatch.setenv("NEWSDESK_WORKERS", "3")
    settings = Settings()
    assert settings.allow_private_network is True
    assert settings.workers == 3


def test_a_bad_value_is_still_rejected(monkeypatch):
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_NETWORK", "perhaps")
    with pytest.raises(ValueError, match="allow_private_network"):
        Settings()
