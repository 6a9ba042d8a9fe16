"""index_hourly: per-hour label counts kept by triggers, so index queries over millions of links stay fast

Revision ID: 0002_alerts_rollup
Revises: 0001
Create Date: 2026-11-23 13:00:00

The loyalty index sums labels per brand, channel and bucket. Grouping a million ``mention_brands`` rows
takes seconds on SQLite; summing at most one row per brand, channel and UTC hour takes a tenth of that.
Triggers on ``mention_brands`` keep the counts exact through inserts, label corrections, ``counted``
changes and deletes, whoever writes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.schema

revision = "0002_alerts_rollup"
down_revision = "0001"
branch_labels = None
depends_on = None

_LBL = "coalesce({r}.corrected_label, {r}.label)"


def _flags(r: str) -> str:
    lbl = _LBL.format(r=r)
    return ", ".join(f"CASE WHEN {lbl} = '{x}' THEN 1 ELSE 0 END" for x in ("positive", "negative", "neutral"))


def _sqlite_hour(r: str) -> str:
    return f"substr({r}.published_at, 1, 13) || ':00:00.000000'"


def upgrade() -> None:
    op.create_table(
        "index_hourly",
        sa.Column("brand", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("hour", storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("positive", sa.BigInteger(), nullable=False),
        sa.Column("negative", sa.BigInteger(), nullable=False),
        sa.Column("neutral", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand", "channel", "hour"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        upsert = (
            "INSERT INTO index_hourly (brand, channel, hour, positive, negative, neutral) "
            "SELECT NEW.brand, NEW.channel, {hour}, {flags} WHERE NEW.counted "
            "ON CONFLICT (brand, channel, hour) DO UPDATE SET positive = positive + excluded.positive, "
            "negative = negative + excluded.negative, neutral = neutral + excluded.neutral;"
        ).format(hour=_sqlite_hour("NEW"), flags=_flags("NEW"))
        lbl = _LBL.format(r="OLD")
        subtract = (
            "UPDATE index_hourly SET "
            f"positive = positive - CASE WHEN {lbl} = 'positive' THEN 1 ELSE 0 END, "
            f"negative = negative - CASE WHEN {lbl} = 'negative' THEN 1 ELSE 0 END, "
            f"neutral = neutral - CASE WHEN {lbl} = 'neutral' THEN 1 ELSE 0 END "
            f"WHERE OLD.counted AND brand = OLD.brand AND channel = OLD.channel AND hour = {_sqlite_hour('OLD')};"
        )
        op.execute(f"CREATE TRIGGER trg_index_hourly_ins AFTER INSERT ON mention_brands BEGIN {upsert} END")
        op.execute(
            "CREATE TRIGGER trg_index_hourly_upd AFTER UPDATE OF brand, channel, published_at, label, "
            f"corrected_label, counted ON mention_brands BEGIN {subtract} {upsert} END"
        )
        op.execute(f"CREATE TRIGGER trg_index_hourly_del AFTER DELETE ON mention_brands BEGIN {subtract} END")
        hour_sql = _sqlite_hour("mention_brands")
    else:
        pg_hour = "date_trunc('hour', {r}.published_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        lbl = _LBL.format(r="OLD")
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION lm_index_hourly_apply() RETURNS trigger AS $$
            BEGIN
              IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.counted THEN
                UPDATE index_hourly SET
                  positive = positive - CASE WHEN {lbl} = 'positive' THEN 1 ELSE 0 END,
                  negative = negative - CASE WHEN {lbl} = 'negative' THEN 1 ELSE 0 END,
                  neutral = neutral - CASE WHEN {lbl} = 'neutral' THEN 1 ELSE 0 END
                WHERE brand = OLD.brand AND channel = OLD.channel AND hour = {pg_hour.format(r="OLD")};
              END IF;
              IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.counted THEN
                INSERT INTO index_hourly (brand, channel, hour, positive, negative, neutral)
                VALUES (NEW.brand, NEW.channel, {pg_hour.format(r="NEW")}, {_flags("NEW")})
                ON CONFLICT (brand, channel, hour) DO UPDATE SET
                  positive = index_hourly.positive + EXCLUDED.positive,
                  negative = index_hourly.negative + EXCLUDED.negative,
                  neutral = index_hourly.neutral + EXCLUDED.neutral;
              END IF;
              RETURN NULL;
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER trg_index_hourly AFTER INSERT OR UPDATE OR DELETE ON mention_brands "
            "FOR EACH ROW EXECUTE FUNCTION lm_index_hourly_apply()"
        )
        hour_sql = pg_hour.format(r="mention_brands")
    lbl = _LBL.format(r="mention_brands")
    op.execute(
        "INSERT INTO index_hourly (brand, channel, hour, positive, negative, neutral) "
        f"SELECT brand, channel, {hour_sql}, "
        f"SUM(CASE WHEN {lbl} = 'positive' THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {lbl} = 'negative' THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {lbl} = 'neutral' THEN 1 ELSE 0 END) "
        f"FROM mention_brands WHERE counted GROUP BY brand, channel, {hour_sql}"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_index_hourly_{name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_index_hourly ON mention_brands")
        op.execute("DROP FUNCTION IF EXISTS lm_index_hourly_apply()")
    op.drop_table("index_hourly")
