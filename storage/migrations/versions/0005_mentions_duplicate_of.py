"""Index mentions.duplicate_of, so a repost cluster's copies and summed reach are found without a scan.

Revision ID: 0005_mentions_duplicate_of
Revises: 0004_alerts_snapshot_time
"""

from __future__ import annotations

from alembic import op

revision = "0005_mentions_duplicate_of"
down_revision = "0004_alerts_snapshot_time"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_duplicate_of", "mentions", ["duplicate_of"])


def downgrade() -> None:
    op.drop_index("ix_mentions_duplicate_of", table_name="mentions")
