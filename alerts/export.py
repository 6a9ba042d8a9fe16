"""Alerts and their delivery state as plain rows: for ``export alerts``, ``status`` and the dashboard.

Delivery state is reported per alert over its current version, because that is the question a PR lead
asks ("did the team get the latest?"), with the last error (already free of secrets) when it did not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from alerts.digest import DIGEST_RULE
from alerts.message import AlertMessage, format_number
from alerts.render import Language
from storage.schema import Alert, AlertDelivery
from storage.store import Store, now_utc

__all__ = ["ALERT_COLUMNS", "alert_rows", "deliveries", "delivery_summary"]

ALERT_COLUMNS = (
    "id",
    "triggered_at",
    "opened_at",
    "brand",
    "channel",
    "rule",
    "severity",
    "state",
    "version",
    "title",
    "why",
    "mentions",
    "acknowledged_at",
    "muted_until",
    "delivery",
    "delivered",
)
"""Columns of :func:`alert_rows`, in export order."""


def _local(value: datetime | None, zone: ZoneInfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat(timespec="seconds")


def deliveries(store: Store, alert_ids: Sequence[int]) -> dict[int, list[AlertDelivery]]:
    """Every delivery row of the given alerts, oldest first."""
    from sqlalchemy.orm import Session

    out: dict[int, list[AlertDelivery]] = defaultdict(list)
    ids = list(alert_ids)
    with Session(store.engine) as session:
        for start in range(0, len(ids), 500):
            rows = session.scalars(
                select(AlertDelivery)
                .where(AlertDelivery.alert_id.in_(ids[start : start + 500]))
                .order_by(AlertDelivery.id)
            ).all()
            for r in rows:
                out[r.alert_id].append(r)
        session.expunge_all()
    return dict(out)


def alert_rows(
    store: Store,
    since: datetime | None = None,
    until: datetime | None = None,
    brands: Sequence[str] | None = None,
    tz: str = "UTC",
    *,
    brand: str | None = None,
    now: datetime | None = None,
    language: Language = "ru",
) -> list[dict[str, Any]]:
    """One row per alert triggered in ``[since, until)`` (keys: :data:`ALERT_COLUMNS`), newest first.

    ``title`` is worded in ``language`` (:mod:`alerts.render`).

    ``state`` reads ``muted`` while the alert is muted; ``delivery`` is ``destination: state`` for the
    current version (``; ``-separated), with attempts and the last error when not sent; ``delivered`` is
    true when every destination has it.
    """
    zone = ZoneInfo(tz)
    now = now or now_utc()
    if isinstance(brands, str):  # alert_rows(store, since, until, "Альфа")
        brands = [brands]
    conds: list[ColumnElement[bool]] = [Alert.rule != DIGEST_RULE]  # digests are messages, not alerts
    if since is not None:
        conds.append(Alert.triggered_at >= since)
    if until is not None:
        conds.append(Alert.triggered_at < until)
    wanted = list(brands or []) + ([brand] if brand else [])
    if wanted:
        conds.append(Alert.brand.in_(wanted))
    from sqlalchemy.orm import Session

    with Session(store.engine) as session:
        alerts = list(session.scalars(select(Alert).where(and_(*conds)).order_by(Alert.triggered_at.desc())))
        session.expunge_all()
    per_alert = deliveries(store, [a.id for a in alerts])
    rows = []
    for a in alerts:
        msg = AlertMessage.from_alert(a, language)
        current: dict[str, AlertDelivery] = {}
        for d in per_alert.get(a.id, []):
            if d.alert_version <= a.version and d.state != "superseded":
                current[d.destination] = d
        parts = []
        for name, d in sorted(current.items()):
            text = f"{name}: {d.state} v{d.alert_version}"
            if d.state != "sent":
                text += f" ({d.attempts} attempts"
                text += f", last error: {d.last_error})" if d.last_error else ")"
            parts.append(text)
        muted = a.muted_until is not None and a.muted_until > now
        rows.append(
            {
                "id": a.id,
                "triggered_at": _local(a.triggered_at, zone),
                "opened_at": _local(a.opened_at, zone),
                "brand": a.brand,
                "channel": a.channel,
                "rule": a.rule,
                "severity": a.severity,
                "state": "muted" if muted and a.state != "resolved" else a.state,
                "version": a.version,
                "title": msg.title,
                "why": "; ".join(f"{k}={format_number(v)}" for k, v in msg.numbers.items()),
                "mentions": " ".join(m.url for m in msg.top if m.url),
                "acknowledged_at": _local(a.acknowledged_at, zone),
                "muted_until": _local(a.muted_until, zone),
                "delivery": "; ".join(parts),
                "delivered": bool(current) and all(d.state == "sent" for d in current.values()),
            }
        )
    return rows


def delivery_summary(store: Store, now: datetime | None = None) -> str:
    """One line for ``status``: alerts by state and deliveries by state, oldest pending and last failure."""
    now = now or now_utc()
    with store.engine.connect() as conn:
        by_state = dict(
            conn.execute(
                select(Alert.state, func.count()).where(Alert.rule != DIGEST_RULE).group_by(Alert.state)
            ).all()
        )
        d_state = dict(
            conn.execute(select(AlertDelivery.state, func.count()).group_by(AlertDelivery.state)).all()
        )
        oldest = conn.execute(
            select(func.min(AlertDelivery.created_at)).where(AlertDelivery.state.in_(("pending", "sending")))
        ).scalar_one_or_none()
        failed = conn.execute(
            select(AlertDelivery.destination, AlertDelivery.last_error)
            .where(AlertDelivery.state == "failed")
            .order_by(AlertDelivery.id.desc())
            .limit(1)
        ).first()
        retrying = conn.execute(
            select(AlertDelivery.destination, AlertDelivery.last_error)
            .where(and_(AlertDelivery.state == "pending", AlertDelivery.attempts > 0))
            .order_by(AlertDelivery.id.desc())
            .limit(1)
        ).first()
    if not by_state:
        return "none yet"
    alerts = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items()))
    parts = [alerts, "deliveries " + (", ".join(f"{n} {s}" for s, n in sorted(d_state.items())) or "none")]
    if oldest is not None:
        parts.append(f"oldest waiting {int((now - oldest).total_seconds())} s")
    if retrying is not None:
        parts.append(f"retrying {retrying[0]}: {retrying[1]}")
    if failed is not None:
        parts.append(f"last failure {failed[0]}: {failed[1]}")
    return "; ".join(parts)
