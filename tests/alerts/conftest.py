from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.store import Store
from tests.alerts.fakes import FakeMessenger, running


@pytest.fixture
def telegram() -> Iterator[FakeMessenger]:
    yield from running("telegram")


@pytest.fixture
def slack() -> Iterator[FakeMessenger]:
    yield from running("slack")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'alerts.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    yield s
    s.close()
