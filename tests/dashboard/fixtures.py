"""The dashboard tests' and screenshots' database: the demo's own synthetic stream, tagged as it intends.

Thirty days of the demo history (:func:`loyalty_monitor.demo.generate_history`, the one synthetic stream
generator) ending now, labelled with the sentiment each mention was written with (``raw["demo_labels"]``)
instead of running the model, plus one hostile text, two alerts and three sources. Built through the store's
public writes (``upsert_mentions`` + ``save_tags``), so it has exactly the shape the pipeline produces;
alerts go straight into their tables until ``alerts`` offers a writer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.mention import Mention
from dashboard.settings import DashboardSettings, DashboardSetup
from loyalty_monitor.demo import BRANDS as DEMO_BRANDS
from loyalty_monitor.demo import CHANNELS as DEMO_CHANNELS
from loyalty_monitor.demo import OWN_BRAND, generate_history
from loyalty_monitor.demo.stream import default_end
from storage.schema import Alert, AlertDelivery
from storage.store import BrandLabel, Store, TaggedMention

__all__ = ["BRANDS", "CHANNELS", "EVIL_TEXT", "OWN", "build_db", "setup"]

OWN = OWN_BRAND.name
BRANDS = tuple(b.name for b in DEMO_BRANDS)
CHANNELS = tuple(c.name for c in DEMO_CHANNELS)
EVIL_TEXT = f"{OWN} <script>alert('x')</script> **bold** [link](javascript:alert(1)) <b>жирный</b>"


def build_db(url: str, *, now: datetime | None = None, days: int = 30, seed: int = 7) -> Store:
    """``days`` of the demo stream before ``now``, one evil text, two alerts and three sources."""
    now = now or datetime.now(UTC)
    store = Store.open(url)
    # The same stream on every run (generated up to its fixed end), moved to end two minutes before ``now``:
    # the evil text (a minute before) is the newest mention.
    shift = now - timedelta(minutes=2) - default_end()
    history = generate_history(seed=seed, days=days)
    mentions = [replace(e, published_at=e.published_at + shift) for e in history if isinstance(e, Mention)]
    mentions.append(
        Mention(
            source="vk",
            external_id="evil",
            channel="vk",
            text=EVIL_TEXT,
            published_at=now - timedelta(minutes=1),
            url="javascript:alert(1)",
            author="<img src=x onerror=alert(1)>",
            author_reach=5,
            raw={"demo_labels": {OWN: "negative"}},
        )
    )
    for start in range(0, len(mentions), 2000):
        store.upsert_mentions(mentions[start : start + 2000])
    labels: dict[str, dict[str, str]] = {m.text: m.raw.get("demo_labels") or {} for m in mentions}
    tagged = [
        TaggedMention(
            mention=p,
            links=[
                BrandLabel(brand=brand, label=label, score=0.9, model_version="t")
                for brand, label in labels[p.text].items()
            ],
        )
        for p in store.untagged(limit=len(mentions) + 10)
    ]
    store.save_tags(tagged)
    store.record_success("vk", mentions=120)
    store.record_success("telegram", mentions=80)
    store.record_failure("otzovik", "HTTP 503 <b>Service Unavailable</b>")
    _alerts(store, now)
    return store


def _alerts(store: Store, now: datetime) -> None:
    rows = [
        (
            "resonance",
            OWN,
            "vk",
            "high",
            "open",
            f"Жалоба на {OWN} дошла до СМИ",
            now - timedelta(days=2),
            None,
        ),
        (
            "spike",
            OWN,
            "telegram",
            "medium",
            "acknowledged",
            "Всплеск негатива",
            now - timedelta(days=9),
            None,
        ),
        (
            "spike",
            BRANDS[1],
            None,
            "low",
            "open",
            f"Всплеск: {BRANDS[1]}",
            now - timedelta(days=5),
            now + timedelta(hours=4),
        ),
    ]
    with store.engine.begin() as conn:
        for i, (rule, brand, channel, severity, state, title, at, muted) in enumerate(rows, start=1):
            conn.execute(
                Alert.__table__.insert(),
                {
                    "id": i,
                    "dedup_key": f"k{i}",
                    "rule": rule,
                    "brand": brand,
                    "channel": channel,
                    "severity": severity,
                    "state": state,
                    "title": title,
                    "details": {},
                    "mention_ids": {"ids": []},
                    "version": 1,
                    "opened_at": at,
                    "updated_at": at,
                    "triggered_at": at,
                    "acknowledged_at": at + timedelta(minutes=5) if state == "acknowledged" else None,
                    "muted_until": muted,
                },
            )
            for dest, dstate in (("telegram", "sent"), ("slack", "failed" if i == 1 else "sent")):
                conn.execute(
                    AlertDelivery.__table__.insert(),
                    {
                        "alert_id": i,
                        "alert_version": 1,
                        "destination": dest,
                        "idempotency_key": f"{i}:{dest}",
                        "state": dstate,
                        "attempts": 1,
                        "next_attempt_at": at,
                        "created_at": at,
                        "sent_at": at if dstate == "sent" else None,
                    },
                )


def setup(url: str, **dashboard: Any) -> DashboardSetup:
    """What ``loyalty-monitor dashboard`` would hand the page for the fixture database and brands, with
    optional ``[dashboard]`` settings."""
    return DashboardSetup(
        db_url=url,
        timezone="Europe/Moscow",
        language="ru",
        brands=BRANDS,
        own_brands=(OWN,),
        # As the config hands them over: every brand's name and aliases ("Поляр" -> "Поляра" is no theme).
        brand_terms=tuple(dict.fromkeys(n for b in DEMO_BRANDS for n in (b.name, *b.aliases))),
        dashboard=DashboardSettings(**dashboard),
    )
