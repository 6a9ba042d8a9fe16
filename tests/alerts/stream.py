"""A synthetic mention stream with a daily and weekly rhythm, and a harness that replays it hour by hour.

The harness stores, tags (labels come with the events) and runs the engine exactly as the pipeline does,
on the stream's clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.engine import AlertEngine
from alerts.lifecycle import AlertChange
from core.mention import Mention
from loyalty_monitor.config import Config
from storage.store import BrandLabel, Store, TaggedMention

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday

_WORDS = [
    "приложение",
    "карта",
    "перевод",
    "кэшбэк",
    "офис",
    "оператор",
    "чат",
    "поддержка",
    "кредит",
    "вклад",
    "ипотека",
    "счёт",
    "платёж",
    "терминал",
    "банкомат",
    "лимит",
    "комиссия",
    "отделение",
    "менеджер",
    "очередь",
    "звонок",
    "смс",
    "код",
    "вход",
    "пароль",
    "обновление",
    "интерфейс",
    "доставка",
    "курьер",
    "заявка",
    "анкета",
    "документ",
    "выписка",
    "процент",
    "ставка",
    "условия",
    "тариф",
    "бонус",
    "акция",
    "подписка",
    "уведомление",
    "сервис",
    "качество",
    "скорость",
    "ответ",
    "решение",
    "вопрос",
    "проблема",
    "ошибка",
    "сбой",
    "задержка",
]
_NEG = ["плохо", "медленно", "неудобно", "странно", "долго", "непонятно", "раздражает", "разочарован"]
_POS = ["отлично", "быстро", "удобно", "спасибо", "нравится", "рекомендую", "понятно", "приятно"]


@dataclass
class Event:
    mention: Mention
    brand: str
    label: str


@dataclass
class Counters:
    source: str
    external_id: str
    at: datetime
    reposts: int
    comments: int
    views: int


def config(**alerts: object) -> Config:
    return Config.model_validate(
        {
            "brands": [
                {"name": "Альфа", "aliases": ["альфа"], "own": True, "people": ["Пётр Сидоров"]},
                {"name": "Бета", "aliases": ["бета"]},
            ],
            "alerts": alerts,
        }
    )


def _rate(at: datetime) -> float:
    """Mentions per hour: quiet nights, busy evenings, calmer weekends."""
    hour = at.hour + 3  # Moscow
    local = hour % 24
    daily = 0.25 + 0.75 * math.sin(math.pi * (local - 7) / 17) if local >= 7 else 0.15
    weekly = 0.7 if at.weekday() >= 5 else 1.0
    return 14.0 * daily * weekly


def calm_stream(
    days: int, start: datetime = START, seed: int = 7, brands: tuple[str, ...] = ("Альфа", "Бета")
) -> tuple[list[Event], list[Counters]]:
    """``days`` of ordinary traffic: ~25 % negative, random authors, varied texts, modest engagement."""
    rnd = random.Random(seed)
    events: list[Event] = []
    counters: list[Counters] = []
    n = 0
    for h in range(days * 24):
        hour = start + timedelta(hours=h)
        k = _poisson(rnd, _rate(hour))
        for _ in range(k):
            n += 1
            brand = rnd.choice(brands)
            label = rnd.choices(["positive", "negative", "neutral"], [0.4, 0.25, 0.35])[0]
            mood = rnd.choice(_NEG if label == "negative" else _POS if label == "positive" else ["обычно"])
            words = rnd.sample(_WORDS, 7)
            text = f"{brand.lower()} {' '.join(words[:4])} {mood} {' '.join(words[4:])} #{n}"
            channel = rnd.choice(["vk", "telegram", "news"])
            at = hour + timedelta(seconds=rnd.randrange(3600))
            reach = int(rnd.lognormvariate(6, 1.5))
            m = Mention(
                source=channel,
                external_id=f"c{n}",
                channel=channel,
                text=text,
                published_at=at,
                url=f"https://example.org/{channel}/{n}",
                author=f"user{rnd.randrange(50_000)}",
                author_reach=reach,
                reposts=rnd.randrange(3),
                comments=rnd.randrange(5),
                views=rnd.randrange(300),
            )
            events.append(Event(m, brand, label))
            if rnd.random() < 0.3:
                later = at + timedelta(hours=rnd.uniform(1, 6))
                counters.append(
                    Counters(
                        channel,
                        m.external_id,
                        later,
                        (m.reposts or 0) + rnd.randrange(4),
                        (m.comments or 0) + rnd.randrange(8),
                        (m.views or 0) + rnd.randrange(800),
                    )
                )
    return events, counters


def _poisson(rnd: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class Harness:
    store: Store
    config: Config
    engine: AlertEngine = field(init=False)
    labels: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    changes: list[AlertChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = AlertEngine(
            self.store, self.config.alerts, self.config.alert_brands(), clock=lambda: START
        )

    def replay(
        self, events: Iterable[Event], counters: Iterable[Counters] = (), step: timedelta = timedelta(hours=1)
    ) -> None:
        items: list[tuple[datetime, int, object]] = [(e.mention.published_at, 0, e) for e in events]
        items += [(c.at, 1, c) for c in counters]
        items.sort(key=lambda x: (x[0], x[1]))
        if not items:
            return
        slice_end = items[0][0].replace(minute=0, second=0, microsecond=0) + step
        batch: list[object] = []
        for at, _, item in items:
            while at >= slice_end:
                self.feed(batch, slice_end)
                batch = []
                slice_end += step
            batch.append(item)
        self.feed(batch, slice_end)

    def feed(self, batch: list[object], now: datetime) -> None:
        events = [b for b in batch if isinstance(b, Event)]
        for e in events:
            self.labels[(e.mention.source, e.mention.external_id)] = (e.brand, e.label)
        ids = self.store.upsert_mentions([e.mention for e in events]) if events else []
        for c in (b for b in batch if isinstance(b, Counters)):
            self.store.update_engagement(
                c.source,
                c.external_id,
                {"reposts": c.reposts, "comments": c.comments, "views": c.views},
                c.at,
            )
        tagged_ids: list[int] = []
        if ids:
            pending = self.store.pending_by_ids(ids)
            by_id = {e.mention.external_id: e for e in events}
            keyed = self._external_ids(ids)
            tagged = []
            for p in pending:
                e = by_id[keyed[p.id]]
                tagged.append(TaggedMention(p, [BrandLabel(e.brand, e.label, 0.9, "test@1")]))
            self.store.save_tags(tagged)
            tagged_ids = [t.mention.id for t in tagged]
        self.changes += self.engine.evaluate(tagged_ids, now)
        self.changes += self.engine.evaluate_periodic(now)

    def _external_ids(self, ids: list[int]) -> dict[int, str]:
        from sqlalchemy import select

        from storage.schema import MentionRow

        with self.store.engine.connect() as conn:
            return dict(
                conn.execute(
                    select(MentionRow.id, MentionRow.external_id).where(MentionRow.id.in_(ids))
                ).all()
            )  # type: ignore[arg-type]

    def alerts(self) -> list[tuple[str, str, str | None, str]]:
        from sqlalchemy import select

        from storage.schema import Alert

        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(Alert.rule, Alert.brand, Alert.channel, Alert.severity).order_by(Alert.id)
            ).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]


def mention(
    n: str,
    at: datetime,
    text: str,
    *,
    author: str = "irina",
    channel: str = "vk",
    reach: int = 3000,
    **kw: int,
) -> Mention:
    return Mention(
        source=channel,
        external_id=n,
        channel=channel,
        text=text,
        published_at=at,
        url=f"https://{channel}.example/{n}",
        author=author,
        author_reach=reach,
        **kw,  # type: ignore[arg-type]
    )
