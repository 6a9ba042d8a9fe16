"""Shared fixtures: a migrated store on SQLite, and on PostgreSQL when LOYALTY_TEST_POSTGRES_URL is set;
labelled rows written straight into it; a tiny random fast sentiment model."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from storage.schema import MentionBrand, MentionRow
from storage.store import Store

if TYPE_CHECKING:
    from sentiment.fast import FastSentimentModel

PG_URL = os.environ.get("LOYALTY_TEST_POSTGRES_URL")


def _pg_store() -> Iterator[Store]:
    """A fresh schema per test in the test server's database, dropped afterwards."""
    if not PG_URL:
        pytest.skip("LOYALTY_TEST_POSTGRES_URL is not set (make test starts a server)")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    store = Store.open(url)
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'test.db'}")
    yield store
    store.close()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    yield from _pg_store()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    """The same test on both databases: ``sqlite_store`` or ``pg_store`` (a folder may override either)."""
    store: Store = request.getfixturevalue("sqlite_store" if request.param == "sqlite" else "pg_store")
    return store


AddMentions = Callable[..., None]
"""``add(store, [(published_at, text, label), ...], brand=..., channel=...)``: see :func:`add_mentions`."""


def _add_mentions(
    store: Store, rows: Sequence[tuple[datetime, str, str]], brand: str = "Поляр Банк", channel: str = "vk"
) -> None:
    with store.engine.begin() as conn:
        first = conn.execute(select(func.coalesce(func.max(MentionRow.id), 0))).scalar_one() + 1
        ids = range(first, first + len(rows))
        conn.execute(
            insert(MentionRow),
            [
                {
                    "id": i,
                    "source": "t",
                    "external_id": str(i),
                    "channel": channel,
                    "text": text,
                    "text_hash": f"{i:032d}",
                    "url": f"https://vk.com/wall-1_{i}",
                    "published_at": at,
                    "collected_at": at,
                }
                for i, (at, text, _) in zip(ids, rows, strict=True)
            ],
        )
        conn.execute(
            insert(MentionBrand),
            [
                {
                    "mention_id": i,
                    "brand": brand,
                    "channel": channel,
                    "published_at": at,
                    "label": label,
                    "score": 0.9,
                    "model_version": "test",
                    "counted": True,
                }
                for i, (at, _, label) in zip(ids, rows, strict=True)
            ],
        )


@pytest.fixture
def add_mentions() -> AddMentions:
    """Write labelled brand mentions straight into the tables (ids continue after the stored ones).

    For tests of what is computed from stored mentions (themes, the digest), without the pipeline.
    """
    return _add_mentions


@pytest.fixture(scope="session")
def tiny_fast() -> FastSentimentModel:
    """A small random fast model: exercises the code paths without the shipped weights (the sentiment
    package's tests and the app shell's ``sentiment`` CLI tests)."""
    import torch

    from sentiment.fast import FastConfig, FastMeta, FastSentimentModel, build_net

    torch.manual_seed(0)
    cfg = FastConfig(buckets=4096, ngram_dim=8, proj=16, hidden=8, role_dim=4)
    return FastSentimentModel(build_net(cfg), FastMeta(version="tiny-test", config=cfg))
