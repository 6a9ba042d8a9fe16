"""Fixtures of the hostile-input suite: a config on the test database (SQLite, and PostgreSQL when
LOYALTY_TEST_POSTGRES_URL is set), a fake sentiment model, and a CLI runner that calls the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from loyalty_monitor import service
from loyalty_monitor.cli import main
from storage.store import Store
from tests.fakes import FakeSentimentModel
from tests.hostile.helpers import CONFIG, db_url


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "load_sentiment", lambda config: FakeSentimentModel())


@pytest.fixture
def config_file(tmp_path: Path, fake_model: None) -> Path:
    path = tmp_path / "loyalty.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def cli(config_file: Path, store: Store) -> Callable[..., Result]:
    """``cli("import", FILE)`` runs the CLI on the parametrized store (SQLite, PostgreSQL)."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, [*args, "--config", str(config_file), "--db", db_url(store)])

    return run
