"""The index tests run on an in-memory SQLite store; `pg_store` and `store` come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.store import Store


@pytest.fixture
def sqlite_store() -> Iterator[Store]:
    store = Store.open("sqlite://")
    yield store
    store.close()
