from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.settings import DashboardSetup
from storage.store import Store
from tests.dashboard.fixtures import build_db, setup

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, Store]:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    return url, build_db(url)


@pytest.fixture
def make_app(
    db: tuple[str, Store], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AppTest]:
    """An AppTest of the real script against the fixture database, with optional ``[dashboard]`` keys."""

    def make(**dashboard: object) -> AppTest:
        url, _ = db
        monkeypatch.setenv(DashboardSetup.ENV, setup(url, **dashboard).model_dump_json())
        at = AppTest.from_file(APP, default_timeout=60)
        return at

    return make


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches() -> None:
    """Each test opens its own database; cached stores and frames from an earlier test must not leak."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
