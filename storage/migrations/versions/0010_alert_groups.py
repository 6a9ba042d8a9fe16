"""Alert groups, actions taken from messengers and bot update offsets.

Revision ID: 0010_alert_groups
Revises: 0008_themes

``alert_groups``: alerts of one group key (brand and rule by default) go out as one message per
destination, later ones edit it; the group's state lives here so a restart or a second dispatcher carries
on. ``alert_actions``: who took or muted an alert from Telegram's buttons. ``bot_cursors``: the offset of
the bot's ``getUpdates``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.schema

revision = "0010_alert_groups"
down_revision = "0008_themes"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = storage.schema.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_groups",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("destination", sa.String(128), nullable=False),
        sa.Column("group_key", sa.String(255), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("waiting", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("ping", sa.Boolean(), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("last_joined_at", _TIME, nullable=False),
        sa.Column("flush_at", _TIME, nullable=True),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.Column("remote_id", sa.String(128), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("edits", sa.Integer(), nullable=False),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("destination", "group_key", name="uq_alert_groups_key"),
    )
    op.create_index("ix_alert_groups_flush", "alert_groups", ["destination", "flush_at"])
    op.create_table(
        "alert_actions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", _ID, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("until", _TIME, nullable=True),
        sa.UniqueConstraint("external_id", name="uq_alert_actions_external"),
    )
    op.create_index("ix_alert_actions_alert", "alert_actions", ["alert_id"])
    op.create_table(
        "bot_cursors",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bot_cursors")
    op.drop_index("ix_alert_actions_alert", table_name="alert_actions")
    op.drop_table("alert_actions")
    op.drop_index("ix_alert_groups_flush", table_name="alert_groups")
    op.drop_table("alert_groups")
