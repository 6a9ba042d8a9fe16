"""``volume_spike`` in the engine: quiet on calm weeks, a burst of mentions of any sentiment alerts at the end
of its hour, and the rule is off unless a team turns it on."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from alerts.settings import AlertsSettings
from storage.store import Store
from tests.alerts.stream import START, Event, Harness, calm_stream, config, mention

DAYS = 10
BURST_AT = START + timedelta(days=9, hours=11, minutes=5)  # a Wednesday, 14:05 in Moscow


def burst(t0: datetime, n: int = 150) -> list[Event]:
    """``n`` neutral mentions of our brand in 45 minutes, each from its own author in its own words: the
    brand in the news, not a complaint storm (no negative_spike)."""
    return [
        Event(
            mention(
                f"news{i}",
                t0 + timedelta(seconds=18 * i),
                f"Альфа открыла отделение номер {i} на улице {i * 7} в городе {i % 13} {'!' * (i % 4)}",
                author=f"reader{i}",
                channel=("vk", "telegram", "news")[i % 3],
            ),
            "Альфа",
            "neutral",
        )
        for i in range(n)
    ]


def test_volume_spike_is_off_by_default() -> None:
    assert AlertsSettings().volume_spike.enabled is False
    assert config().alerts.volume_spike.by_channel is False


def test_calm_days_stay_quiet_and_a_burst_alerts_at_the_end_of_its_hour(store: Store) -> None:
    events, counters = calm_stream(DAYS)
    h = Harness(store, config(volume_spike={"enabled": True}))
    h.replay([*events, *burst(BURST_AT)], counters)
    alerts = h.alerts()
    assert alerts == [("volume_spike", "Альфа", None, alerts[0][3])], alerts
    assert alerts[0][3] == "critical"  # 150 in the hour against a few: far past critical_p_value
    from sqlalchemy import select

    from storage.schema import Alert

    with store.engine.connect() as conn:
        opened, details = conn.execute(select(Alert.opened_at, Alert.details)).one()
    hour_end = BURST_AT.replace(minute=0) + timedelta(hours=1)
    assert opened.replace(tzinfo=hour_end.tzinfo) == hour_end, opened  # decided on the ended hour
    numbers = details["numbers"]
    assert numbers["count"] >= 150 and numbers["ratio"] > 3 and numbers["p_value"] < 1e-7, numbers
    assert details["top"], "the alert shows the mentions behind it"


@pytest.mark.slow
def test_by_channel_names_the_channel_that_explains_the_burst(store: Store) -> None:
    events, counters = calm_stream(DAYS)
    loud = [Event(replace(e.mention, channel="vk", source="vk"), e.brand, e.label) for e in burst(BURST_AT)]
    h = Harness(store, config(volume_spike={"enabled": True, "by_channel": True}))
    h.replay([*events, *loud], counters)
    assert [(r, b, c) for r, b, c, _ in h.alerts()] == [("volume_spike", "Альфа", "vk")], h.alerts()
