"""The demo brands answer part of the complaints and questions, with realistic delays, through accounts the
demo config declares."""

from __future__ import annotations

import tomllib
from datetime import timedelta

from core.mention import Mention
from loyalty_monitor.config import parse_config
from loyalty_monitor.demo import demo_config_toml, generate_history
from loyalty_monitor.demo.replies import ACCOUNTS, brand_replies


def test_replies_have_minutes_hours_days_and_never() -> None:
    history = generate_history(seed=7, days=10)
    end = max(e.published_at for e in history if isinstance(e, Mention))
    replies = brand_replies(history, seed=7, end=end)
    parents = {e.external_id: e for e in history if isinstance(e, Mention)}
    by_brand: dict[str, int] = {}
    delays = []
    for r in replies:
        parent = parents[r.parent_external_id or ""]
        brand = r.raw["demo_brand"]
        by_brand[brand] = by_brand.get(brand, 0) + 1
        assert r.author_id == ACCOUNTS[brand][r.channel] and r.channel == parent.channel
        assert r.published_at <= end and r.channel != "news"
        delays.append(r.published_at - parent.published_at)
    assert len(by_brand) >= 3
    assert any(d < timedelta(hours=1) for d in delays)
    assert any(timedelta(hours=1) <= d < timedelta(hours=24) for d in delays)
    assert any(d > timedelta(hours=24) for d in delays)
    answerable = [
        e
        for e in parents.values()
        if any(label == "negative" for label in (e.raw.get("demo_labels") or {}).values())
    ]
    assert len({r.parent_external_id for r in replies}) < len(answerable)  # some are never answered


def test_the_demo_config_declares_every_brands_accounts() -> None:
    config = parse_config(tomllib.loads(demo_config_toml("sqlite:///x.db")))
    assert {brand for brand in config.brand_accounts().values()} == set(ACCOUNTS)
