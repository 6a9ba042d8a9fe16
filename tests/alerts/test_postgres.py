"""The engine, lifecycle and outbox on PostgreSQL (CI sets LOYALTY_TEST_POSTGRES_URL)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from alerts.export import alert_rows, delivery_summary
from alerts.lifecycle import acknowledge, mute
from alerts.outbox import OutboxDispatcher
from storage.store import Store
from tests.alerts.fakes import FakeMessenger
from tests.alerts.stream import START, Harness, calm_stream, config
from tests.alerts.test_engine import escalation_script

pytestmark = pytest.mark.postgres


async def test_escalation_and_delivery_on_postgres(pg_store: Store, telegram: FakeMessenger) -> None:
    cfg = config(
        destinations=[{"type": "telegram", "token_env": "TG", "chat_id": "-1", "base_url": telegram.url}]
    )
    events, counters = calm_stream(8)
    h = Harness(pg_store, cfg)
    h.replay(events, counters)
    assert h.alerts() == []
    t0 = START + timedelta(days=8, hours=9, minutes=5)
    script, growth = escalation_script(t0)
    h.replay(script, growth, step=timedelta(minutes=15))
    rules = {a[0] for a in h.alerts()}
    assert {"escalation_terms", "engagement_growth"} <= rules
    telegram.rate_limit(1)
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(pg_store, cfg, client, env={"TG": "1:secret"})
        await d.run_once(t0 + timedelta(hours=4))
        sent = await d.run_once(t0 + timedelta(hours=4, seconds=2))
        assert sent >= 2
        assert await d.run_once(t0 + timedelta(hours=5)) == 0
    rows = alert_rows(pg_store, now=t0 + timedelta(hours=5))
    assert all(r["delivered"] for r in rows)
    acknowledge(pg_store, rows[0]["id"], t0 + timedelta(hours=5))
    mute(pg_store, rows[1]["id"], t0 + timedelta(days=1), t0 + timedelta(hours=5))
    assert "acknowledged" in delivery_summary(pg_store, t0 + timedelta(hours=5))
