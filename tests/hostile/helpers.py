"""Helpers of the hostile-input suite (the config text, the test store's URL, what it holds): a module of
their own, so the tests and the conftest share them without importing the conftest."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.schema import MentionRow
from storage.store import Store

__all__ = ["CONFIG", "count", "db_url", "stored"]

CONFIG = """
[display]
timezone = "UTC"
[[brands]]
name = "Сбербанк"
aliases = ["Сбер"]
own = true
"""


def db_url(store: Store) -> str:
    """The URL of the test store, password included, for ``--db``."""
    return store.engine.url.render_as_string(hide_password=False)


def stored(store: Store) -> dict[str, str]:
    """external_id -> text of every stored mention."""
    with store.engine.connect() as conn:
        return dict(conn.execute(select(MentionRow.external_id, MentionRow.text)).all())  # type: ignore[arg-type]


def count(store: Store) -> int:
    """How many mentions are stored."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(MentionRow)).scalar_one())
