from __future__ import annotations

import logging
from datetime import UTC, datetime

from collectors.rss import RSSSettings
from collectors.runner import AuthGate, collect_once, poll_source
from collectors.telegram import TelegramSettings
from collectors.vk import VKCollector, VKSettings
from tests.collectors.server import FixtureServer, Reply

TOKEN = "vk1.a.runner-secret-987654321"


def _sources(server: FixtureServer):
    fast = {"initial_lookback_h": 1e6, "requests_per_s": 50}
    return {
        "rss": RSSSettings(base_url=server.url, feeds=[{"url": "/feed.rss"}], **fast),
        "vk": VKSettings(base_url=server.url, token_env="VK_RUNNER_TOKEN", **fast),
        "telegram": TelegramSettings(base_url=server.url, channels=["romashka_news"], **fast),
    }


async def test_collect_once_contains_failures_and_never_leaks_tokens(
    server, store, retry, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("VK_RUNNER_TOKEN", TOKEN)
    server.route("/feed.rss", "rss/news.rss")
    server.route("/method/newsfeed.search", "vk/error_auth.json")
    server.route("/s/romashka_news", Reply(500, body="oops"))
    tagged: list[list[int]] = []

    async def on_page(ids: list[int]) -> None:
        tagged.append(ids)

    gate = AuthGate()
    caplog.set_level(logging.DEBUG)
    results = await collect_once(_sources(server), store, ["Ромашка"], on_page, retry=retry, auth_gate=gate)
    assert results["rss"].ok and len(results["rss"].new_ids) == 3
    assert tagged == [results["rss"].new_ids]
    assert results["vk"].auth_failed and not results["telegram"].ok
    health = {h.source: h for h in store.source_health()}
    assert health["rss"].consecutive_failures == 0 and health["rss"].mentions_total == 3
    assert health["vk"].auth_failed and "VK error 5" in (health["vk"].last_error or "")
    assert health["telegram"].consecutive_failures == 1 and "HTTP 500" in (
        health["telegram"].last_error or ""
    )
    assert len(server.hits("/method/newsfeed.search")) == 1  # auth failures are not retried
    everything = " ".join(r.getMessage() for r in caplog.records) + " ".join(
        h.last_error or "" for h in health.values()
    )
    assert TOKEN not in everything

    # Second poll: the bad token is not tried again, the feed stores nothing twice.
    results = await collect_once(_sources(server), store, ["Ромашка"], on_page, retry=retry, auth_gate=gate)
    assert len(server.hits("/method/newsfeed.search")) == 1
    assert results["rss"].new_ids == []
    assert store.counts()["mentions"] == 3
    # A new token reopens the gate.
    monkeypatch.setenv("VK_RUNNER_TOKEN", TOKEN + "-new")
    await collect_once(_sources(server), store, ["Ромашка"], None, retry=retry, auth_gate=gate)
    assert len(server.hits("/method/newsfeed.search")) == 2


async def test_disabled_and_unknown_sources(server, store, retry) -> None:
    sources = _sources(server)
    sources["rss"] = sources["rss"].model_copy(update={"enabled": False})
    del sources["vk"], sources["telegram"]
    assert await collect_once(sources, store, [], None, retry=retry) == {}


async def test_poll_source_resumes_from_stored_cursor(server, store, retry, client, monkeypatch) -> None:
    monkeypatch.setenv("VK_RUNNER_TOKEN", TOKEN)
    server.route("/method/newsfeed.search", "vk/search_p1.json")
    server.route("/method/newsfeed.search", Reply(500), start_from="page2token")
    settings = VKSettings(
        base_url=server.url, token_env="VK_RUNNER_TOKEN", initial_lookback_h=1e6, requests_per_s=50
    )
    vk = VKCollector(settings, client, retry=retry)
    first = await poll_source("vk", vk, store, ["Ромашка"], None)
    assert len(first.new_ids) == 2 and first.errors
    before = len(server.hits("/method/newsfeed.search"))
    server.route("/method/newsfeed.search", "vk/search_p2.json", start_from="page2token")
    second = await poll_source("vk", vk, store, ["Ромашка"], None)
    assert second.ok and len(second.new_ids) == 1
    assert store.counts()["mentions"] == 3
    # the second poll starts where the committed cursor points, not at the newest page
    assert server.hits("/method/newsfeed.search")[before].params["start_from"] == "page2token"


async def test_since_backfills(server, store, retry, monkeypatch) -> None:
    server.route("/feed.rss", "rss/news.rss")
    sources = {"rss": RSSSettings(base_url=server.url, feeds=[{"url": "/feed.rss"}], requests_per_s=50)}
    results = await collect_once(sources, store, [], None, retry=retry)
    assert results["rss"].new_ids == []  # the fixture's entries are older than the default 72 h
    results = await collect_once(
        sources, store, [], None, since=datetime(2024, 9, 2, tzinfo=UTC), retry=retry
    )
    assert len(results["rss"].new_ids) == 2
