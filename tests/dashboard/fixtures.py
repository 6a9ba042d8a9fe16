"""A small demo-like database the dashboard tests and screenshots share.

Built through the store's public writes (``upsert_mentions`` + ``save_tags``), so it has exactly the shape the
pipeline produces; alerts go straight into their tables until ``alerts`` offers a writer.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from core.mention import Mention
from dashboard.settings import DashboardSettings, DashboardSetup
from storage.schema import Alert, AlertDelivery
from storage.store import BrandLabel, PendingMention, Store, TaggedMention

__all__ = ["BRANDS", "CHANNELS", "EVIL_TEXT", "OWN", "build_db", "setup"]

OWN = "Альфа"
BRANDS = (OWN, "Бета", "Гамма")
CHANNELS = ("vk", "telegram", "youtube", "otzovik")
EVIL_TEXT = "Альфа <script>alert('x')</script> **bold** [link](javascript:alert(1)) <b>жирный</b>"
_PHRASES = {
    "positive": ["{b} быстро вернул деньги, спасибо", "Рекомендую {b}, поддержка ответила за час"],
    "negative": ["{b} третий день не отвечает на жалобу", "Пишу в ЦБ на {b}, деньги списали дважды"],
    "neutral": ["Кто пользуется {b}? Как там с кэшбэком", "{b} обновил приложение"],
}


def build_db(url: str, *, now: datetime | None = None, n: int = 400, seed: int = 7) -> Store:
    """Mentions spread over the 30 days before ``now``, one evil text, two alerts and three sources."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    store = Store.open(url)
    mentions: list[Mention] = []
    plan: list[tuple[str, str]] = []
    for i in range(n):
        brand = rng.choices(BRANDS, weights=(5, 3, 2))[0]
        bias = {"Альфа": (0.25, 0.35, 0.4), "Бета": (0.4, 0.35, 0.25), "Гамма": (0.3, 0.4, 0.3)}[brand]
        label = rng.choices(("negative", "neutral", "positive"), weights=bias)[0]
        channel = rng.choice(CHANNELS)
        text = rng.choice(_PHRASES[label]).format(b=brand) + f" #{i}"
        mentions.append(
            Mention(
                source=channel,
                external_id=f"m{i}",
                channel=channel,
                text=text,
                published_at=now - timedelta(minutes=rng.randint(5, 30 * 24 * 60)),
                url=f"https://example.com/{channel}/{i}",
                author=f"user{i % 37}",
                author_reach=rng.randint(10, 50_000),
                likes=rng.randint(0, 300),
                reposts=rng.randint(0, 40),
                comments=rng.randint(0, 60),
                views=rng.randint(100, 90_000),
            )
        )
        plan.append((brand, label))
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
        )
    )
    plan.append((OWN, "negative"))
    store.upsert_mentions(mentions)
    pending = store.untagged(limit=n + 10)
    by_text = {m.text: p for m, p in zip(mentions, plan, strict=True)}
    tagged = [
        TaggedMention(
            mention=p,
            links=[
                BrandLabel(brand=by_text[p.text][0], label=by_text[p.text][1], score=0.9, model_version="t")
            ],
        )
        for p in pending
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
            "Жалоба на Альфу дошла до СМИ",
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
            "Бета",
            None,
            "low",
            "open",
            "Всплеск у Беты",
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
        dashboard=DashboardSettings(**dashboard),
    )


_ = PendingMention  # re-exported type used by callers building their own tags
