"""A team's adapted model takes over through models/CURRENT; labels already stored keep their version."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from core.mention import Mention
from loyalty_monitor.config import parse_config
from loyalty_monitor.service import build_pipeline, load_sentiment
from sentiment import set_current
from sentiment.registry import E5_DIR, FAST_DIR
from storage.schema import MentionBrand
from storage.store import Store


async def test_pipeline_switches_to_the_current_version(tmp_path: Path, sqlite_store: Store) -> None:
    models = tmp_path / "models"
    config = parse_config(
        {
            "sentiment": {"model": "default", "model_dir": str(models)},
            "brands": [{"name": "Сбербанк", "aliases": ["Сбер"], "own": True}],
        }
    )
    t0 = datetime(2026, 11, 1, tzinfo=UTC)

    async def tag(ext: str) -> None:
        pipeline = build_pipeline(config, sqlite_store, load_sentiment(config))
        await pipeline.start()
        await pipeline.submit(sqlite_store.upsert_mentions([Mention("vk", ext, "vk", "Сбер молодцы", t0)]))
        await pipeline.stop()

    await tag("1")
    # an adapted version, as `sentiment train --data` leaves it: a model directory and CURRENT naming it
    adapted = models / "default-adapted-1"
    shutil.copytree(FAST_DIR, adapted)
    meta = json.loads((adapted / "meta.json").read_text(encoding="utf-8"))
    meta["version"] = "default-adapted-1"
    (adapted / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    set_current(models, "default-adapted-1")
    await tag("2")

    with sqlite_store.engine.connect() as conn:
        versions = conn.execute(
            select(MentionBrand.mention_id, MentionBrand.model_version).order_by(MentionBrand.mention_id)
        ).all()
    shipped = json.loads((E5_DIR / "meta.json").read_text(encoding="utf-8"))["version"]
    assert [tuple(v) for v in versions] == [
        (1, f"loyalty-monitor/e5@{shipped}"),  # the shipped default
        (2, "loyalty-monitor/fast@default-adapted-1"),
    ]
