"""Threads and cases: who wrote a mention, what it answers, and the work of answering it.

``mentions`` gains ``author_id`` (the author as the source identifies accounts, matched against the brands'
own ``accounts``), ``parent_id`` (the stored mention a reply answers, resolved from ``parent_external_id``
whichever of the two arrives first) and ``reply_brand`` (set when one of a brand's own accounts wrote it: a
reply of the brand, never linked, so never counted). ``cases`` holds every mention that needs an answer
from a brand, with its status, owner, priority and due time; ``case_events`` is the history of each case.

Revision ID: 0012_cases
Revises: 0011_workers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_cases"
down_revision = "0011_workers"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy on SQLite: the full-text triggers of 0006 stay as they are).
    op.add_column("mentions", sa.Column("author_id", sa.String(255), nullable=True))
    op.add_column("mentions", sa.Column("parent_id", _ID, nullable=True))
    op.add_column("mentions", sa.Column("reply_brand", sa.String(128), nullable=True))
    # No foreign key on parent_id: SQLite would have to copy the whole table to add one; a reply whose
    # parent is gone keeps a dangling id, which every join simply does not find.
    op.create_index(
        "ix_mentions_parent_external",
        "mentions",
        ["source", "parent_external_id"],
        sqlite_where=sa.text("parent_external_id IS NOT NULL"),
        postgresql_where=sa.text("parent_external_id IS NOT NULL"),
    )
    op.create_index(
        "ix_mentions_parent_id",
        "mentions",
        ["parent_id"],
        sqlite_where=sa.text("parent_id IS NOT NULL"),
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.create_table(
        "cases",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "mention_id", _ID, sa.ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("brand", sa.String(128), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("important", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "reply_mention_id", _ID, sa.ForeignKey("mentions.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("answered_by", sa.String(128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("mention_id", "brand", name="uq_cases_mention_brand"),
    )
    op.create_index("ix_cases_status_due", "cases", ["status", "due_at"])
    op.create_index("ix_cases_brand_channel_time", "cases", ["brand", "channel", "published_at"])
    op.create_table(
        "case_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
    )
    op.create_index("ix_case_events_case", "case_events", ["case_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_case_events_case", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index("ix_cases_brand_channel_time", table_name="cases")
    op.drop_index("ix_cases_status_due", table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_mentions_parent_id", table_name="mentions")
    op.drop_index("ix_mentions_parent_external", table_name="mentions")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("reply_brand")
        batch.drop_column("parent_id")
        batch.drop_column("author_id")
