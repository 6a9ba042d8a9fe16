"""engagement_snapshots(observed_at): the growth rule asks "which mentions moved in the last hours" each minute

Revision ID: 0004_alerts_snapshot_time
Revises: 0003_alerts_delivery_ref
Create Date: 2026-11-23 13:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_alerts_snapshot_time"
down_revision = "0003_alerts_delivery_ref"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engagement_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_engagement_time", ["observed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("engagement_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_engagement_time")
