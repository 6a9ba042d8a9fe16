"""Grouping: alerts of one brand and rule go out as one message, and later ones update it, not ping again.

Six customers writing to the regulator within fifteen minutes are one story for a PR team, not six
pages. As in Prometheus Alertmanager, an outbox row for a messenger (Telegram, Slack) joins the group of
its key (``[alerts] group_by``, brand and rule by default) instead of being sent on its own::

    first alert of the key ──> group waits group_wait_s ──> one message with every member so far
    later alerts (within group_interval_min of the message) ──> one edit (Telegram) or follow-up (Slack)
                                                                per group_interval_min
    a member more severe than the message ──> a new message at once (a higher severity always pings)

Nothing is dropped: every alert is stored as before and every outbox row ends ``sent`` (with the group
message's id), ``suppressed`` or ``failed``; a row held by a group is ``grouped`` meanwhile. Webhooks are
machines: they still get every alert on its own, with its numbers.

The state lives in ``alert_groups`` (one row per destination and key, reused by the key's next group), so
a restart carries on, and every change to a group happens under its row lock (``SELECT ... FOR UPDATE``
on PostgreSQL, the database write lock on SQLite): two dispatchers never send one group twice or open two
groups for one key. A flush is claimed with a lease like an outbox row; if the process dies mid-request,
the flush is retried once the lease expires (the one window where a message can repeat).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from alerts.message import SEVERITY_RANK, AlertMessage, evidence
from alerts.render import Language
from alerts.settings import AlertsSettings
from alerts.wording import group_title, why_sentence
from storage.schema import Alert, AlertAction, AlertDelivery, AlertGroup
from storage.store import Store

__all__ = ["GROUPED_KINDS", "AlertGroups", "Flush", "group_message", "status_line"]

log = logging.getLogger(__name__)

GROUPED_KINDS = frozenset({"telegram", "slack"})
"""Sender kinds whose readers are people: their alerts are grouped. Webhooks get each alert alone."""

_DIGEST_RULE = "digest"  # alerts.digest.DIGEST_RULE (not imported: the digest imports the outbox)


@dataclass(frozen=True, slots=True)
class Flush:
    """A claimed group send: the members to show, the outbox rows it delivers, new message or edit."""

    group_id: int
    destination: str
    alerts: tuple[Alert, ...]
    waiting: tuple[int, ...]
    remote_id: str | None
    new_message: bool
    number: int
    """Messages and edits this group has had before this one (0: its first message)."""


def _rank(severity: str | None) -> int:
    return SEVERITY_RANK.get(severity or "", -1)


def _ids(value: Mapping[str, Any] | None) -> list[int]:
    return [int(i) for i in (value or {}).get("ids") or []]


class AlertGroups:
    """The groups in the database: :meth:`join` an outbox row, :meth:`due` / :meth:`claim` a flush,
    :meth:`finish`, :meth:`retry` or :meth:`fail` it. Every method is one short transaction."""

    def __init__(self, store: Store, settings: AlertsSettings, lease: timedelta = timedelta(seconds=60)):
        self.store = store
        self.settings = settings
        self.lease = lease
        self.wait = timedelta(seconds=settings.group_wait_s)
        self.interval = timedelta(minutes=settings.group_interval_min)

    @property
    def enabled(self) -> bool:
        """Both windows at 0 turn grouping off: every alert is sent on its own, at once."""
        return self.wait > timedelta(0) or self.interval > timedelta(0)

    def applies(self, sender_kind: str, alert: Alert) -> bool:
        """Whether an outbox row of ``alert`` for a sender of ``sender_kind`` goes through a group."""
        details = alert.details or {}
        return (
            self.enabled
            and sender_kind in GROUPED_KINDS
            and alert.rule != _DIGEST_RULE
            and not details.get("body")
        )

    def key(self, alert: Alert) -> str:
        """``brand=Альфа|rule=escalation_terms`` for the default ``group_by``."""
        parts = [f"{f}={getattr(alert, f) or '*'}" for f in self.settings.group_by]
        return ("|".join(parts) or "*")[:255]

    # -- locking ---------------------------------------------------------------------------------------

    def _locked(self, conn: Connection, destination: str, key: str, now: datetime) -> Any:
        """The group row of (destination, key), created if new, locked until the transaction ends."""
        ins: Any = (
            postgresql.insert(AlertGroup) if conn.dialect.name == "postgresql" else sqlite.insert(AlertGroup)
        )
        # A write first: on SQLite it takes the database's write lock before anything is read.
        conn.execute(
            ins.values(
                destination=destination,
                group_key=key,
                generation=0,
                alert_ids={"ids": []},
                waiting={"ids": []},
                ping=True,
                started_at=now,
                last_joined_at=now,
                messages=0,
                edits=0,
            ).on_conflict_do_nothing(index_elements=["destination", "group_key"])
        )
        query = select(AlertGroup.__table__).where(
            and_(AlertGroup.destination == destination, AlertGroup.group_key == key)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return conn.execute(query).one()

    def _lock_id(self, conn: Connection, group_id: int) -> Any:
        if conn.dialect.name != "postgresql":
            # Take SQLite's write lock first, so nothing read below can change before this transaction ends.
            conn.execute(update(AlertGroup).where(AlertGroup.id == group_id).values(id=AlertGroup.id))
        query = select(AlertGroup.__table__).where(AlertGroup.id == group_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return conn.execute(query).one()

    # -- joining ---------------------------------------------------------------------------------------

    def join(self, delivery_id: int, alert: Alert, destination: str, now: datetime) -> bool:
        """Hand the claimed outbox row ``delivery_id`` to its group; ``False`` if another process took the
        row meanwhile (its lease ran out): then nothing changed here."""
        key = self.key(alert)
        with self.store.engine.begin() as conn:
            row = self._locked(conn, destination, key, now)
            held = conn.execute(
                update(AlertDelivery)
                .where(and_(AlertDelivery.id == delivery_id, AlertDelivery.state == "sending"))
                .values(state="grouped", last_error=None)
            )
            if held.rowcount != 1:
                return False  # the empty group row it may have created is harmless
            in_flight = row.lease_until is not None and row.lease_until > now
            active = row.generation > 0 and (
                row.flush_at is not None
                or in_flight
                or (row.sent_at is not None and now < row.sent_at + self.interval)
            )
            values: dict[str, Any]
            if not active:
                values = {
                    "generation": row.generation + 1,
                    "alert_ids": {"ids": [alert.id]},
                    "waiting": {"ids": [*_ids(row.waiting), delivery_id]},
                    "severity": None,
                    "ping": True,
                    "started_at": now,
                    "last_joined_at": now,
                    "flush_at": now + self.wait,
                    "sent_at": None,
                    "remote_id": None,
                    "messages": 0,
                    "edits": 0,
                    "last_error": None,
                }
            else:
                members = _ids(row.alert_ids)
                values = {
                    "alert_ids": {"ids": members if alert.id in members else [*members, alert.id]},
                    "waiting": {"ids": [*_ids(row.waiting), delivery_id]},
                    "last_joined_at": now,
                }
                louder = row.sent_at is not None and _rank(alert.severity) > _rank(row.severity)
                if louder:
                    values["ping"] = True
                    if not in_flight:
                        values["flush_at"] = now
                elif row.flush_at is None and not in_flight:
                    values["flush_at"] = max(now, (row.sent_at or now) + self.interval)
            conn.execute(update(AlertGroup).where(AlertGroup.id == row.id).values(**values))
        return True

    # -- flushing --------------------------------------------------------------------------------------

    def due(self, destination: str, now: datetime) -> list[int]:
        """Ids of this destination's groups whose send or edit is due and not claimed by anyone."""
        with self.store.engine.connect() as conn:
            return [
                int(r[0])
                for r in conn.execute(
                    select(AlertGroup.id)
                    .where(
                        and_(
                            AlertGroup.destination == destination,
                            AlertGroup.flush_at <= now,
                            or_(AlertGroup.lease_until.is_(None), AlertGroup.lease_until <= now),
                        )
                    )
                    .order_by(AlertGroup.flush_at, AlertGroup.id)
                )
            ]

    def claim(self, group_id: int, now: datetime) -> Flush | None:
        """Take the flush (compare-and-set on its due time and lease) and load what it shows."""
        with self.store.engine.begin() as conn:
            res = conn.execute(
                update(AlertGroup)
                .where(
                    and_(
                        AlertGroup.id == group_id,
                        AlertGroup.flush_at <= now,
                        or_(AlertGroup.lease_until.is_(None), AlertGroup.lease_until <= now),
                    )
                )
                .values(lease_until=now + self.lease)
            )
            if res.rowcount != 1:
                return None
            row = conn.execute(select(AlertGroup.__table__).where(AlertGroup.id == group_id)).one()
            from sqlalchemy.orm import Session

            with Session(bind=conn) as session:
                alerts = tuple(
                    session.scalars(select(Alert).where(Alert.id.in_(_ids(row.alert_ids))).order_by(Alert.id))
                )
                session.expunge_all()
        return Flush(
            group_id=row.id,
            destination=row.destination,
            alerts=alerts,
            waiting=tuple(_ids(row.waiting)),
            remote_id=row.remote_id,
            new_message=bool(row.ping) or row.remote_id is None,
            number=int(row.messages) + int(row.edits),
        )

    def finish(
        self,
        flush: Flush,
        now: datetime,
        remote_id: str | None,
        state: str = "sent",
        error: str | None = None,
        muted: Sequence[int] = (),
    ) -> None:
        """Record the flush: its rows ``sent`` (or ``suppressed`` / ``failed``), the group's next due time.

        Rows of ``muted`` alerts (left out of the message) become ``suppressed``, as the outbox does."""
        with self.store.engine.begin() as conn:
            row = self._lock_id(conn, flush.group_id)
            done = set(flush.waiting)
            remaining = [d for d in _ids(row.waiting) if d not in done]
            if done and muted:
                conn.execute(
                    update(AlertDelivery)
                    .where(
                        and_(
                            AlertDelivery.id.in_(sorted(done)),
                            AlertDelivery.alert_id.in_(list(muted)),
                            AlertDelivery.state == "grouped",
                        )
                    )
                    .values(state="suppressed", last_error="alert muted")
                )
            if done:
                values: dict[str, Any] = {"state": state, "last_error": error}
                if state == "sent":
                    values.update(sent_at=now, remote_id=remote_id)
                conn.execute(
                    update(AlertDelivery)
                    .where(and_(AlertDelivery.id.in_(sorted(done)), AlertDelivery.state == "grouped"))
                    .values(**values)
                )
            shown = max((a.severity for a in flush.alerts), key=_rank, default=None)
            group: dict[str, Any] = {"waiting": {"ids": remaining}, "lease_until": None, "last_error": error}
            if state == "sent":
                group["sent_at"] = now
                group["severity"] = shown
                if flush.new_message:
                    group.update(remote_id=remote_id or row.remote_id, messages=row.messages + 1)
                else:
                    group["edits"] = row.edits + 1
            ping = False
            if remaining:
                louder = conn.execute(
                    select(Alert.severity)
                    .join(AlertDelivery, AlertDelivery.alert_id == Alert.id)
                    .where(AlertDelivery.id.in_(remaining))
                ).scalars()
                ping = any(_rank(s) > _rank(shown) for s in louder)
            group["ping"] = ping
            if not remaining:
                group["flush_at"] = None
            elif ping:
                group["flush_at"] = now
            else:
                group["flush_at"] = now + self.interval
            conn.execute(update(AlertGroup).where(AlertGroup.id == flush.group_id).values(**group))

    def retry(self, flush: Flush, until: datetime, error: str) -> None:
        """The messenger failed for now: release the claim, try again at ``until``; nothing changes state."""
        with self.store.engine.begin() as conn:
            conn.execute(
                update(AlertGroup)
                .where(AlertGroup.id == flush.group_id)
                .values(lease_until=None, flush_at=until, last_error=error)
            )

    # -- reading ---------------------------------------------------------------------------------------

    def group_of(self, destination: str, alert_id: int) -> tuple[Alert, ...]:
        """The members of the current group of ``alert_id`` at ``destination`` (just the alert if none)."""
        with self.store.engine.connect() as conn:
            from sqlalchemy.orm import Session

            with Session(bind=conn) as session:
                alert = session.get(Alert, alert_id)
                if alert is None:
                    return ()
                row = conn.execute(
                    select(AlertGroup.__table__).where(
                        and_(AlertGroup.destination == destination, AlertGroup.group_key == self.key(alert))
                    )
                ).first()
                ids = _ids(row.alert_ids) if row is not None else []
                if alert_id not in ids:
                    ids = [alert_id]
                alerts = tuple(session.scalars(select(Alert).where(Alert.id.in_(ids)).order_by(Alert.id)))
                session.expunge_all()
        return alerts


def status_line(
    actions: Sequence[AlertAction], alerts: Sequence[Alert], now: datetime, language: Language, tz: str
) -> str:
    """Who took the alerts and when, and whether they are muted: "✅ Взял Иван, 12:05 · 🔕 до 16:05"."""
    zone = ZoneInfo(tz)
    parts: list[str] = []
    acks = [a for a in actions if a.action == "ack"]
    if acks:
        last = max(acks, key=lambda a: a.at)
        when = last.at.astimezone(zone).strftime("%H:%M")
        parts.append(
            f"✅ Взял(а) {last.actor}, {when}" if language == "ru" else f"✅ Taken by {last.actor}, {when}"
        )
    muted = [a.muted_until for a in alerts if a.muted_until is not None and a.muted_until > now]
    if muted:
        until = max(muted).astimezone(zone).strftime("%H:%M")
        who = [a.actor for a in actions if a.action == "mute"]
        by = f" ({who[-1]})" if who else ""
        parts.append(f"🔕 Без звука до {until}{by}" if language == "ru" else f"🔕 Muted until {until}{by}")
    return " · ".join(parts)


def group_message(
    alerts: Sequence[Alert],
    language: Language,
    *,
    now: datetime,
    top_limit: int = 5,
    number: int = 0,
    link: str | None = None,
    actions: Sequence[AlertAction] = (),
    tz: str = "UTC",
) -> AlertMessage:
    """One message for ``alerts`` (a group, or one alert): the most severe and newest leads; ``number`` > 0
    marks it as the group's update (edit or follow-up) number ``number``."""
    if not alerts:
        raise ValueError("a group message needs at least one alert")
    head = max(alerts, key=lambda a: (_rank(a.severity), a.id))
    base = AlertMessage.from_alert(head, language)
    status = status_line(actions, alerts, now, language, tz)
    state = "acknowledged" if all(a.state == "acknowledged" for a in alerts) else base.state
    version = number + 1
    if len(alerts) == 1:
        return replace(base, version=version, link=link, status=status, state=state)
    mentions: dict[int, dict[str, Any]] = {}
    for a in sorted(alerts, key=lambda a: a.id, reverse=True):
        for m in (a.details or {}).get("top") or []:
            if isinstance(m, dict) and "id" in m:
                mentions.setdefault(int(m["id"]), m)
    from alerts.message import TopMention

    top = sorted(mentions.values(), key=lambda m: -int(m.get("reach") or 0))[:top_limit]
    opened = [a.opened_at for a in alerts]
    minutes = (max(opened) - min(opened)).total_seconds() / 60
    rules = [a.rule for a in alerts]
    rule = max(set(rules), key=rules.count)
    return replace(
        base,
        version=version,
        title=group_title(rule, head.brand, len(alerts), minutes, language),
        why=why_sentence([evidence(a) for a in alerts], language),
        top=tuple(TopMention.from_json(m) for m in top),
        count=len(alerts),
        alert_ids=tuple(a.id for a in alerts),
        channel=head.channel if len({a.channel for a in alerts}) == 1 else None,
        link=link,
        status=status,
        state=state,
    )
