"""Shared fixtures: a migrated store on SQLite, and on PostgreSQL when LOYALTY_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.store import Store

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
