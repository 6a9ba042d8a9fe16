"""Fake messengers on 127.0.0.1 for the alert tests.

The ``store`` fixture is the shared one of ``tests/conftest.py``: every alerts test that takes it runs on
SQLite and, with ``LOYALTY_TEST_POSTGRES_URL`` set, on PostgreSQL, so the rules' SQL meets both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.fakes import FakeMessenger, running


@pytest.fixture
def telegram() -> Iterator[FakeMessenger]:
    yield from running("telegram")


@pytest.fixture
def slack() -> Iterator[FakeMessenger]:
    yield from running("slack")
