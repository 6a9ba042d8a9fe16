"""alert_deliveries.remote_id: the messenger's id of a sent message, so updates reply in its thread

Revision ID: 0003_alerts_delivery_ref
Revises: 0002_alerts_rollup
Create Date: 2026-11-23 13:30:00

Telegram answers sendMessage with the message id; updates of the same alert are sent as replies to the
first message, so a chat reads one thread per story instead of a new alert per update.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_alerts_delivery_ref"
down_revision = "0002_alerts_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_column("remote_id")
