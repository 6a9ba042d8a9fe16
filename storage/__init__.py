"""Storage: SQLAlchemy 2 schema, Alembic migrations and the idempotent store."""

from __future__ import annotations

from storage.store import BrandLabel, PendingMention, Store, TaggedMention, create_db_engine, now_utc

__all__ = ["BrandLabel", "PendingMention", "Store", "TaggedMention", "create_db_engine", "now_utc"]
