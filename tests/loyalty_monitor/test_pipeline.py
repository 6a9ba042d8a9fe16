"""The pipeline end to end on SQLite and PostgreSQL, with the fake model: store -> match -> tag -> hooks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.mention import Mention
from loyalty_monitor.config import BrandSettings
from loyalty_monitor.pipeline import Pipeline
from loyalty_monitor.tagging import Tagger
from storage.schema import MentionBrand
from storage.store import Store
from tests.fakes import FakeSentimentModel

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
BRANDS = [
    BrandSettings(name="Сбербанк", aliases=["Сбер", "SberBank"], own=True),
    BrandSettings(name="Тинькофф", aliases=["Tinkoff"]),
]


def mentions(n: int, start: int = 0) -> list[Mention]:
    texts = [
        "Сбер опять списал комиссию, ужас",
        "Ушёл из Сбербанка в Тинькофф, доволен",
        "Tinkoff: отлично работает приложение {i}",
        "Погода сегодня {i}",
    ]
    return [
        Mention("vk", str(i), "vk", texts[i % 4].format(i=i), T0 + timedelta(minutes=i))
        for i in range(start, n)
    ]


def links(store: Store) -> list[tuple[int, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(MentionBrand.mention_id, MentionBrand.brand, MentionBrand.label).order_by(
                MentionBrand.mention_id, MentionBrand.brand
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_stream_is_tagged_per_brand_and_hooks_see_new_ids(store: Store) -> None:
    seen: list[int] = []

    def hook(ids: Sequence[int], now: datetime) -> None:
        seen.extend(ids)

    model = FakeSentimentModel()
    pipeline = Pipeline(
        store, Tagger(BRANDS, model), queue_size=2, batch_size=3, flush_interval_s=0.01, after_tag=[hook]
    )
    await pipeline.start()
    for page in range(3):
        ids = store.save_page("vk", "q", mentions(4 * (page + 1), 4 * page), f"c{page}")
        await pipeline.submit(ids)
    await pipeline.stop()
    got = links(store)
    assert (1, "Сбербанк", "negative") in got
    assert (2, "Сбербанк", "negative") in got and (2, "Тинькофф", "positive") in got
    assert (3, "Тинькофф", "positive") in got
    assert all(mid % 4 != 0 for mid, _, _ in got)  # the weather posts name no brand
    assert len(got) == 12
    assert sorted(seen) == sorted({mid for mid, _, _ in got})
    assert store.untagged() == []
    # the target and its aliases reached the model
    assert any(i.target == "Сбербанк" and "Сбер" in i.aliases for call in model.calls for i in call)


async def test_restart_tags_what_was_stored_but_not_tagged(store: Store) -> None:
    store.save_page("vk", "q", mentions(8), "c1")  # stored, then the process "died" before tagging
    pipeline = Pipeline(store, Tagger(BRANDS, FakeSentimentModel()), batch_size=3)
    await pipeline.start()
    await pipeline.stop()
    assert store.untagged() == []
    assert len(links(store)) == 8
    # a second run finds nothing to do and duplicates nothing
    again = Pipeline(store, Tagger(BRANDS, FakeSentimentModel()))
    await again.start()
    await again.stop()
    assert len(links(store)) == 8


async def test_a_failing_hook_does_not_stop_ingestion(sqlite_store: Store) -> None:
    def broken(ids: Sequence[int], now: datetime) -> None:
        raise RuntimeError("messenger config broken")

    pipeline = Pipeline(
        sqlite_store, Tagger(BRANDS, FakeSentimentModel()), after_tag=[broken], flush_interval_s=0.01
    )
    await pipeline.start()
    await pipeline.submit(sqlite_store.save_page("vk", None, mentions(4)))
    await pipeline.submit(sqlite_store.save_page("vk", None, mentions(8, 4)))
    await pipeline.stop()
    assert len(links(sqlite_store)) == 8
    assert any("messenger config broken" in e for e in pipeline.stats.errors)


async def test_bounded_queue_applies_back_pressure(sqlite_store: Store) -> None:
    pipeline = Pipeline(sqlite_store, Tagger(BRANDS, FakeSentimentModel()), queue_size=1)
    # no worker started: the second submit must wait for room
    await pipeline.submit([1])
    blocked = asyncio.create_task(pipeline.submit([2]))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    pipeline.queue.get_nowait()
    pipeline.queue.task_done()
    await asyncio.wait_for(blocked, 1)
