"""The index tests run on an in-memory SQLite store; `pg_store` and `store` come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.store import Store
from tests.conftest import _pg_store

# ``tests/alerts/conftest.py`` imports the PostgreSQL per-test schema helper from here.
__all__ = ["_pg_store"]


@pytest.fixture
def sqlite_store() -> Iterator[Store]:
    store = Store.open("sqlite://")
    yield store
    store.close()
