"""Shared state of ``loyalty-monitor worker`` processes on one PostgreSQL database.

``workers`` lists live workers (a heartbeat each), ``rate_slots`` is the request limiter every worker
shares per (source, token), ``poll_state`` when each (source, query) was last polled, and ``alert_pending``
the tagged mentions the alert leader has not evaluated yet. Created on SQLite too (harmless, unused there:
``run`` is the one-process mode).

Revision ID: 0011_workers
Revises: 0010_alert_groups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_workers"
down_revision = "0010_alert_groups"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("roles", sa.String(128), nullable=False),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leases", sa.JSON(), nullable=True),
    )
    op.create_table(
        "rate_slots",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "poll_state",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("query", sa.String(512), primary_key=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "alert_pending",
        sa.Column(
            "mention_id", ID, sa.ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_pending")
    op.drop_table("poll_state")
    op.drop_table("rate_slots")
    op.drop_table("workers")
