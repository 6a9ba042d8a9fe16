"""A calm stream for the alert rules (the one synthetic generator's), and a harness that replays it.

The harness stores, tags (labels come with the events) and runs the engine exactly as the pipeline does,
hour by hour on the stream's clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.engine import AlertEngine
from alerts.lifecycle import AlertChange
from core.mention import Mention
from core.synthetic import CHANNELS, generate, plain_brand
from loyalty_monitor.config import Config
from storage.store import BrandLabel, Store, TaggedMention

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday

CALM_CHANNELS = tuple(c for c in CHANNELS if c.name in ("vk", "telegram", "news"))
"""The synthetic world's VK, Telegram and news: three channels, about 190 mentions a weekday."""


@dataclass
class Event:
    """A mention and the label it is tagged with; ``labels`` for several brands (or none) instead."""

    mention: Mention
    brand: str
    label: str
    labels: dict[str, str] | None = None

    def links(self) -> dict[str, str]:
        return {self.brand: self.label} if self.labels is None else self.labels


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


def calm_stream(
    days: int, start: datetime = START, seed: int = 7, brands: tuple[str, ...] = ("Альфа", "Бета")
) -> tuple[list[Event], list[Counters]]:
    """``days`` of ordinary traffic from the one synthetic generator: ~25 % negative, Zipf-like authors who
    write about a brand at most twice a week, varied texts, copies, modest engagement growth."""
    world = tuple(plain_brand(b, own=i == 0, mix=(0.4, 0.35, 0.25)) for i, b in enumerate(brands))
    generated = generate(
        start=start,
        end=start + timedelta(days=days),
        seed=f"calm:{seed}",
        brands=world,
        channels=CALM_CHANNELS,
        source="calm",
        id_prefix="c",
    )
    events: list[Event] = []
    counters: list[Counters] = []
    for e in generated:
        if isinstance(e, Mention):
            labels = {str(k): str(v) for k, v in e.raw["demo_labels"].items()}
            first = next(iter(labels), "")
            events.append(Event(e, first, labels.get(first, "neutral"), labels))
        else:
            counters.append(Counters(e.source, e.external_id, e.at, e.reposts, e.comments, e.views))
    return events, counters


@dataclass
class Harness:
    store: Store
    config: Config
    engine: AlertEngine = field(init=False)
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
                links = [BrandLabel(b, label, 0.9, "test@1") for b, label in e.links().items()]
                tagged.append(TaggedMention(p, links))
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
