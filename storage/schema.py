"""Tables. Times are stored as timezone-aware UTC (:class:`UTCDateTime` refuses naive values).

Alembic migrations under ``storage/migrations`` create these tables; the ORM classes here are the one
description of the schema that code reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Alert",
    "AlertAction",
    "AlertDelivery",
    "AlertGroup",
    "AlertPending",
    "Base",
    "BotCursor",
    "CaseEvent",
    "CaseRow",
    "Cursor",
    "EngagementSnapshot",
    "IndexHourly",
    "MentionBrand",
    "MentionRow",
    "PollState",
    "RateSlot",
    "SourceHealth",
    "ThemeRow",
    "UTCDateTime",
    "WorkerRow",
    "effective_label",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime column that only accepts aware values and always returns aware UTC.

    SQLite has no time zones, so values are normalised to UTC on the way in and tagged UTC on the way out;
    PostgreSQL stores ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: store timezone-aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


ID = BigInteger().with_variant(Integer, "sqlite")


class MentionRow(Base):
    """One stored mention, unique by (source, external_id).

    ``text_hash`` is the hash of the normalised text: reposts and near-identical copies share it, and only
    the first stored copy (``duplicate_of`` is NULL) counts towards the index; copies add their reach.
    ``tagged_at`` is NULL until brand matching and sentiment have run, so a killed process re-tags what it
    had stored but not finished.
    """

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_mentions_source_external_id"),
        Index("ix_mentions_published_at", "published_at"),
        Index("ix_mentions_text_hash", "text_hash"),
        Index("ix_mentions_untagged", "tagged_at"),
        Index("ix_mentions_channel_published", "channel", "published_at"),
        # Copies only: most mentions are originals, and an index full of NULLs looks useless to SQLite's
        # planner once ANALYZE has counted them (migration 0007).
        Index(
            "ix_mentions_duplicate_of",
            "duplicate_of",
            sqlite_where=text("duplicate_of IS NOT NULL"),
            postgresql_where=text("duplicate_of IS NOT NULL"),
        ),
        # Threads (migration 0012): a reply finds its parent, a parent its replies.
        Index(
            "ix_mentions_parent_external",
            "source",
            "parent_external_id",
            sqlite_where=text("parent_external_id IS NOT NULL"),
            postgresql_where=text("parent_external_id IS NOT NULL"),
        ),
        Index(
            "ix_mentions_parent_id",
            "parent_id",
            sqlite_where=text("parent_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))
    author_reach: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(32))
    duplicate_of: Mapped[int | None] = mapped_column(ID, ForeignKey("mentions.id", ondelete="SET NULL"))
    parent_external_id: Mapped[str | None] = mapped_column(String(255))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    reposts: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)
    engagement_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Threads and brand replies (migration 0012): see storage.cases.
    author_id: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(ID)
    reply_brand: Mapped[str | None] = mapped_column(String(128))


class MentionBrand(Base):
    """A mention linked to a brand it names, with the sentiment toward that brand.

    ``label`` is the model's, ``model_version`` the model that made it; ``corrected_label`` is a person's
    correction, which wins in the index and becomes training data. ``counted`` mirrors "not a duplicate" so
    index queries need no join.
    """

    __tablename__ = "mention_brands"
    __table_args__ = (
        Index("ix_mention_brands_brand_channel_time", "brand", "channel", "published_at"),
        Index("ix_mention_brands_time", "published_at"),
    )

    mention_id: Mapped[int] = mapped_column(
        ID, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    brand: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    label: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(128))
    corrected_label: Mapped[str | None] = mapped_column(String(16))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counted: Mapped[bool] = mapped_column(Boolean, default=True)


def effective_label() -> ColumnElement[str]:
    """A link's label as counted everywhere (index, alerts, feed, export): a person's correction wins over
    the model's label. The one spelling of it in SQL; the index roll-up's triggers (migration 0002) keep
    the same rule in their own SQL."""
    return func.coalesce(MentionBrand.corrected_label, MentionBrand.label)


class IndexHourly(Base):
    """Positive, negative and neutral counted links per brand, channel and UTC hour.

    Kept exact by database triggers on ``mention_brands`` (migration ``0002_alerts_rollup``); read by
    :mod:`loyalty_index` so an index query sums hours instead of grouping every link. Never written by code.
    """

    __tablename__ = "index_hourly"

    brand: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    positive: Mapped[int] = mapped_column(BigInteger)
    negative: Mapped[int] = mapped_column(BigInteger)
    neutral: Mapped[int] = mapped_column(BigInteger)


class EngagementSnapshot(Base):
    """Counters of a mention at one moment: growth between snapshots is what resonance is about."""

    __tablename__ = "engagement_snapshots"
    __table_args__ = (
        Index("ix_engagement_mention_time", "mention_id", "observed_at"),
        Index("ix_engagement_time", "observed_at"),  # migration 0004: recent growth for the alert engine
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ID, ForeignKey("mentions.id", ondelete="CASCADE"))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    reposts: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)


class Cursor(Base):
    """Where a collector stopped for one query, committed with the page it belongs to."""

    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    query: Mapped[str] = mapped_column(String(512), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceHealth(Base):
    """Each source's last success and last failure, for ``status`` and the dashboard."""

    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    auth_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    mentions_total: Mapped[int] = mapped_column(BigInteger, default=0)


class Alert(Base):
    """A resonance alert. Updates bump ``version`` instead of opening a new alert for the same story."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_key_state", "dedup_key", "state"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(255))
    rule: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="open")
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    mention_ids: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    triggered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertDelivery(Base):
    """The outbox: one row per (alert version, destination), delivered exactly once by its idempotency key."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_alert_deliveries_key"),
        Index("ix_alert_deliveries_pending", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ID, ForeignKey("alerts.id", ondelete="CASCADE"))
    alert_version: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_id: Mapped[str | None] = mapped_column(String(128))  # the messenger's message id (0003)


class AlertGroup(Base):
    """Alerts of one group key that go out as one message per destination (0010).

    One row per (destination, group key), reused: ``generation`` counts the groups the key has had. The
    current group's members are ``alert_ids``; ``waiting`` holds the ids of outbox rows that joined it and
    are delivered with its next send or edit, due at ``flush_at``; ``ping`` says that send must be a new
    message (the first one, or a higher severity). ``lease_until`` is a dispatcher's claim on the flush.
    """

    __tablename__ = "alert_groups"
    __table_args__ = (
        UniqueConstraint("destination", "group_key", name="uq_alert_groups_key"),
        Index("ix_alert_groups_flush", "destination", "flush_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(128))
    group_key: Mapped[str] = mapped_column(String(255))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    alert_ids: Mapped[dict[str, Any]] = mapped_column(JSON)
    waiting: Mapped[dict[str, Any]] = mapped_column(JSON)
    severity: Mapped[str | None] = mapped_column(String(16))
    ping: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    flush_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_id: Mapped[str | None] = mapped_column(String(128))
    messages: Mapped[int] = mapped_column(Integer, default=0)
    edits: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class AlertAction(Base):
    """Who took or muted an alert from a messenger, and when (0010).

    ``external_id`` is the messenger's id of the button press: a press read twice (after a restart) is
    applied once.
    """

    __tablename__ = "alert_actions"
    __table_args__ = (
        UniqueConstraint("external_id", name="uq_alert_actions_external"),
        Index("ix_alert_actions_alert", "alert_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ID, ForeignKey("alerts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(255))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BotCursor(Base):
    """A messenger bot's update offset (Telegram ``getUpdates``), so a restart reads on, not again (0010).

    ``lease_until``: the process polling now; a second ``run`` leaves the bot to it.
    """

    __tablename__ = "bot_cursors"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ThemeRow(Base):
    """A theme remembered for a brand, so it keeps its key and name from one day to the next.

    ``words`` maps the theme's keywords to the share of its mentions that used them when it was first
    found; a theme found later whose keywords overlap these enough is the same theme
    (:mod:`loyalty_index.themes`).
    """

    __tablename__ = "themes"

    brand: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    words: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- several workers on one PostgreSQL (migration 0011, storage/coordination.py) --------------------------


class WorkerRow(Base):
    """A live ``loyalty-monitor worker``: its roles and a heartbeat; ``status`` lists the fresh ones."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    roles: Mapped[str] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leases: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RateSlot(Base):
    """The next free request slot of one (source, token): the limiter every worker shares."""

    __tablename__ = "rate_slots"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PollState(Base):
    """When a (source, query) was last polled by a worker, so N workers poll it once per interval."""

    __tablename__ = "poll_state"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    query: Mapped[str] = mapped_column(String(512), primary_key=True)
    last_polled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertPending(Base):
    """A mention a tag worker linked to a brand, waiting for the alert leader's per-mention rules."""

    __tablename__ = "alert_pending"

    mention_id: Mapped[int] = mapped_column(
        ID, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- cases: mentions that need a brand's answer (migration 0012, storage/cases.py) -------------------------


class CaseRow(Base):
    """A mention that needs an answer from a brand: its status, owner, priority and due time (0012).

    One per (mention, brand). ``own`` cases are the team's work (the queue, SLA alerts); competitors' cases
    are kept the same way so their reply times can be compared. ``priority`` 1..4 is the Eisenhower quadrant
    of ``urgent`` x ``important`` (1 = both). ``first_reply_at`` and ``reply_mention_id`` come from the
    brand's own reply in the thread; ``answered_by`` is ``reply`` then, or the person who marked it.
    ``version`` grows with every change (:mod:`storage.cases` writes one ``case_events`` row per change).
    """

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("mention_id", "brand", name="uq_cases_mention_brand"),
        Index("ix_cases_status_due", "status", "due_at"),
        Index("ix_cases_brand_channel_time", "brand", "channel", "published_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ID, ForeignKey("mentions.id", ondelete="CASCADE"))
    brand: Mapped[str] = mapped_column(String(128))
    own: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(128))
    urgent: Mapped[bool] = mapped_column(Boolean)
    important: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_mention_id: Mapped[int | None] = mapped_column(ID, ForeignKey("mentions.id", ondelete="SET NULL"))
    answered_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CaseEvent(Base):
    """One change of a case: who, when, which field, from what to what (the history, never rewritten)."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ID, ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
