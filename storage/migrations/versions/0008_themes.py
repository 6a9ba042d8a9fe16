"""Remembered themes per brand (``themes``), so a theme keeps its name while people go on talking about it.

Revision ID: 0008_themes
Revises: 0007_duplicate_of_partial_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_themes"
down_revision = "0007_duplicate_of_partial_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "themes",
        sa.Column("brand", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("themes")
