from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from collectors.refresh import EngagementRefresher, RefreshPolicy
from collectors.rss import RSSSettings
from collectors.telegram import TelegramSettings
from collectors.vk import VKCollector, VKSettings
from core.mention import Mention
from storage.schema import EngagementSnapshot, MentionRow
from storage.store import Store
from tests.collectors.server import Reply

NOW = datetime(2024, 9, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(store: Store) -> Store:
    """The shared store (SQLite, and PostgreSQL when configured) with four VK mentions of different ages."""
    store.upsert_mentions(
        [
            Mention("vk", "-1_10", "vk", "young", NOW - timedelta(hours=1), likes=1),
            Mention("vk", "-1_11", "vk", "young comment", NOW - timedelta(hours=1)),
            Mention("vk", "-1_10?reply=5", "vk", "a comment", NOW - timedelta(hours=1)),
            Mention("vk", "-1_9", "vk", "old", NOW - timedelta(hours=10), likes=1),
        ]
    )
    return store


def _get_by_id(likes: int) -> Reply:
    item = {"id": 10, "owner_id": -1, "date": 0, "likes": {"count": likes}, "views": {"count": likes * 10}}
    return Reply(body={"response": {"items": [item]}})


async def test_refreshes_young_mentions_on_schedule(server, client, retry, store, monkeypatch) -> None:
    monkeypatch.setenv("VK_REFRESH", "tok-refresh-1")
    clock = [NOW]
    refresher = EngagementRefresher(store, RefreshPolicy(window_h=6, every_min=30), clock=lambda: clock[0])
    settings = VKSettings(base_url=server.url, token_env="VK_REFRESH", requests_per_s=50)
    vk = VKCollector(settings, client, retry=retry)
    server.route("/method/wall.getById", _get_by_id(7))

    assert await refresher.refresh("vk", vk) == 1  # -1_11 vanished; -1_9 is too old; comments are skipped
    [req] = server.hits("/method/wall.getById")
    assert set(req.params["posts"].split(",")) == {"-1_10", "-1_11"}
    with store.engine.connect() as conn:
        row = conn.execute(
            select(MentionRow.likes, MentionRow.views).where(MentionRow.external_id == "-1_10")
        ).one()
        assert tuple(row) == (7, 70)
        assert len(conn.execute(select(EngagementSnapshot)).all()) == 1

    clock[0] = NOW + timedelta(minutes=10)
    assert await refresher.refresh("vk", vk) == 0  # not due yet
    assert len(server.hits("/method/wall.getById")) == 1

    server.route("/method/wall.getById", _get_by_id(9))
    clock[0] = NOW + timedelta(minutes=31)
    assert await refresher.refresh("vk", vk) == 1
    clock[0] = NOW + timedelta(hours=7)
    assert refresher.due("vk", clock[0]) == []


async def test_refresh_sources_contains_failures(server, retry, store, monkeypatch) -> None:
    monkeypatch.setenv("VK_REFRESH", "tok-refresh-1")
    store.upsert_mentions([Mention("telegram", "chan/5", "telegram", "x", NOW - timedelta(hours=1))])
    server.route("/method/wall.getById", _get_by_id(3))
    server.route("/s/chan", Reply(500, body="down"))
    refresher = EngagementRefresher(store, clock=lambda: NOW)
    out = await refresher.refresh_sources(
        {
            "vk": VKSettings(base_url=server.url, token_env="VK_REFRESH", requests_per_s=50),
            "telegram": TelegramSettings(base_url=server.url, requests_per_s=50),
            "rss": RSSSettings(feeds=[]),  # not refreshable: nothing to do
        },
        retry=retry,
    )
    assert out["vk"] == 1 and out["rss"] == 0
    assert isinstance(out["telegram"], str) and "HTTP 500" in out["telegram"]
