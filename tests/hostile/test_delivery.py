"""Row 14: one slow messenger never delays another destination."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from alerts.lifecycle import Candidate, raise_alert
from alerts.outbox import OutboxDispatcher
from alerts.settings import AlertsSettings, DestinationSettings
from storage.store import Store
from tests.collectors.server import FixtureServer, Reply

SLOW_S = 1.5


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with FixtureServer() as s:
        yield s


def cand(i: int) -> Candidate:
    return Candidate(
        rule="repeat_complainer",
        brand="Сбербанк",
        channel="vk",
        key=f"k{i}",
        severity="critical",
        facts={"author": f"Жалоба {i}", "complaints": 2, "days": 7.0},
        numbers={"kinds": 2},
        mention_ids=[],
    )


async def test_slow_telegram_does_not_hold_up_the_webhook(store: Store, server: FixtureServer) -> None:
    server.route(
        "/botTOKEN1:abc/sendMessage", Reply(body={"ok": True, "result": {"message_id": 1}}, delay=SLOW_S)
    )
    server.route("/hook", Reply(body="ok"))
    settings = AlertsSettings(
        destinations=[
            DestinationSettings(type="telegram", token_env="T", chat_id="-1", base_url=server.url),
            DestinationSettings(type="webhook", url_env="W"),
        ]
    )
    env = {"T": "TOKEN1:abc", "W": f"{server.url}/hook"}
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        for i in range(3):
            raise_alert(conn, cand(i), settings, now)
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=10) as client:
        dispatcher = OutboxDispatcher(store, settings, client, env=env, poll_interval=0.05)
        start = time.monotonic()
        task = asyncio.create_task(dispatcher.run_forever(stop))
        deadline = start + 3 * SLOW_S + 10
        while len(server.hits("/hook")) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        webhook_done = time.monotonic() - start
        # a fourth alert while Telegram is still busy: the webhook gets it at once too
        with store.engine.begin() as conn:
            raise_alert(conn, cand(9), settings, datetime.now(UTC))
        dispatcher.wake()
        t4 = time.monotonic()
        while len(server.hits("/hook")) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        fourth = time.monotonic() - t4
        telegram_busy = len(server.hits("/botTOKEN1:abc/sendMessage")) < 4
        stop.set()
        await asyncio.wait_for(task, 3 * SLOW_S + 10)
    assert len(server.hits("/hook")) == 4
    assert webhook_done < SLOW_S, f"webhooks waited {webhook_done:.2f} s behind Telegram"
    assert telegram_busy and fourth < SLOW_S, f"the fourth webhook took {fourth:.2f} s"
