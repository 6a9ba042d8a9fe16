"""Make ix_mentions_duplicate_of a partial index over the copies only (``duplicate_of IS NOT NULL``).

Revision ID: 0007_duplicate_of_partial_index
Revises: 0006_mentions_text_fts

Almost every mention is the first of its kind, so the full index held mostly NULLs. Once SQLite's
``ANALYZE`` had counted them (``PRAGMA optimize`` or a maintenance run does), its planner judged the index
useless and answered the repost-cluster look-up (``id IN (...) OR duplicate_of IN (...)``) with a table
scan per batch of 500 roots: a 30-day export of a million mentions spent 40 s there. An index over the
copies alone is small, its statistics describe the copies, and both databases use it for
``duplicate_of IN (...)``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_duplicate_of_partial_index"
down_revision = "0006_mentions_text_fts"
branch_labels = None
depends_on = None

_COPIES = sa.text("duplicate_of IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_mentions_duplicate_of", table_name="mentions")
    op.create_index(
        "ix_mentions_duplicate_of",
        "mentions",
        ["duplicate_of"],
        sqlite_where=_COPIES,
        postgresql_where=_COPIES,
    )


def downgrade() -> None:
    op.drop_index("ix_mentions_duplicate_of", table_name="mentions")
    op.create_index("ix_mentions_duplicate_of", "mentions", ["duplicate_of"])
