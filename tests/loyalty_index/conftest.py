"""Stores for the index tests: SQLite always, PostgreSQL when ``LOYALTY_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from storage import migrate
from storage.store import Store

PG_URL = os.environ.get("LOYALTY_TEST_POSTGRES_URL")


def _pg_store() -> Iterator[Store]:
    if not PG_URL:
        pytest.skip("LOYALTY_TEST_POSTGRES_URL is not set")
    schema = f"lm_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrate.upgrade(engine)
    store = Store(engine)
    try:
        yield store
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_store(tmp_path: object) -> Iterator[Store]:
    store = Store.open("sqlite://")
    yield store
    store.close()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    yield from _pg_store()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store.open("sqlite://")
        yield s
        s.close()
    else:
        yield from _pg_store()
