"""Opening, updating, acknowledging, muting and resolving alerts: the state an alert lives through.

One story is one alert. A rule that fires again for the same ``dedup_key`` updates the open alert instead
of opening a new one; the update is delivered (version + 1) only when it says something new - a higher
severity, or new mentions / a doubled magnitude after the cooldown - so a metric that stays high does not
page the team every hour. ``acknowledged`` alerts are re-sent only when they get worse; muted ones are not
sent at all until ``muted_until``. An alert not triggered for ``resolve_after_hours`` is resolved, and the
next trigger opens a fresh one.

States: ``open`` -> ``acknowledged`` -> ``resolved`` (any -> ``resolved``); "muted" is ``muted_until`` in
the future, on top of the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from alerts.message import SEVERITY_RANK
from alerts.outbox import destinations_for, enqueue_deliveries
from alerts.render import title as render_title
from alerts.settings import AlertsSettings, Severity
from storage.schema import Alert, AlertDelivery
from storage.store import Store, now_utc

__all__ = [
    "AlertChange",
    "Candidate",
    "acknowledge",
    "mute",
    "raise_alert",
    "resolve",
    "resolve_stale",
    "unmute",
]

ChangeKind = Literal["opened", "updated", "merged"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a rule found: the alert it wants, before lifecycle rules decide whether to (re)send it.

    ``key`` tells stories apart within a rule, brand and channel (a cluster root id, an author);
    ``numbers`` are the evidence shown with the alert (``name=value``); ``facts`` the values its wording
    needs (:mod:`alerts.render` turns them into a title and a summary in the reader's language);
    ``magnitude`` is the rule's headline number, compared with the last sent one to decide whether an
    update is news; ``top`` are the mentions to show, already collapsed by repost cluster.
    """

    rule: str
    brand: str
    channel: str | None
    key: str
    severity: Severity
    numbers: dict[str, Any]
    facts: dict[str, Any]
    mention_ids: list[int]
    magnitude: float = 1.0
    top: list[dict[str, Any]] = field(default_factory=list)
    quiet_hours: float = 0.0
    """A resolved alert of the same key triggered within this many hours is reopened silently instead of
    paging again: the same complainer or the same chronic problem is one case for a while."""

    @property
    def dedup_key(self) -> str:
        return f"{self.rule}:{self.brand}:{self.channel or '*'}:{self.key}"[:255]

    @property
    def title(self) -> str:
        """The Russian title, as stored in ``alerts.title`` for SQL readers and logs."""
        return render_title(self.rule, self.brand, self.facts, "ru")


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What happened to an alert in one evaluation; ``notified``: deliveries were queued for it.

    ``title`` is the stored (Russian) title, for logs; readers render their own from the alert row.
    """

    alert_id: int
    kind: ChangeKind
    version: int
    rule: str
    brand: str
    channel: str | None
    severity: str
    title: str
    notified: bool
    dedup_key: str


def _merge_top(old: list[dict[str, Any]], new: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    for m in [*new, *old]:
        if m["id"] in seen:
            continue
        seen.add(m["id"])
        out.append(m)
    return out[:limit]


def raise_alert(
    conn: Connection, cand: Candidate, settings: AlertsSettings, now: datetime
) -> AlertChange | None:
    """Open or update the alert for ``cand`` and queue its deliveries, in the caller's transaction.

    Returns ``None`` when the candidate adds nothing to the open alert.
    """
    key = cand.dedup_key
    row = conn.execute(
        select(Alert)
        .where(and_(Alert.dedup_key == key, Alert.state.in_(("open", "acknowledged"))))
        .order_by(Alert.id.desc())
        .limit(1)
    ).first()
    alert: Any = row  # a Core row: the columns of ``alerts`` by name
    if alert is not None and now - alert.triggered_at > timedelta(hours=settings.resolve_after_hours):
        conn.execute(update(Alert).where(Alert.id == alert.id).values(state="resolved", updated_at=now))
        alert = None
    reopened = False
    if alert is None and cand.quiet_hours > 0:
        alert = conn.execute(
            select(Alert)
            .where(
                and_(
                    Alert.dedup_key == key,
                    Alert.state == "resolved",
                    Alert.triggered_at >= now - timedelta(hours=cand.quiet_hours),
                )
            )
            .order_by(Alert.id.desc())
            .limit(1)
        ).first()
        if alert is not None:
            conn.execute(update(Alert).where(Alert.id == alert.id).values(state="open"))
            reopened = True
    top = cand.top[: settings.top_mentions]
    title = cand.title
    if alert is None:
        details = {
            "numbers": cand.numbers,
            "facts": cand.facts,
            "top": top,
            "notified_magnitude": cand.magnitude,
        }
        alert_id = conn.execute(
            insert(Alert).returning(Alert.id),
            {
                "dedup_key": key,
                "rule": cand.rule,
                "brand": cand.brand,
                "channel": cand.channel,
                "severity": cand.severity,
                "state": "open",
                "title": title,
                "details": details,
                "mention_ids": {"ids": sorted(set(cand.mention_ids))},
                "version": 1,
                "opened_at": now,
                "updated_at": now,
                "triggered_at": now,
            },
        ).scalar_one()
        queued = enqueue_deliveries(conn, alert_id, 1, destinations_for(settings, cand.severity), now)
        return AlertChange(
            alert_id,
            "opened",
            1,
            cand.rule,
            cand.brand,
            cand.channel,
            cand.severity,
            title,
            queued > 0,
            key,
        )

    old_ids = set((alert.mention_ids or {}).get("ids") or [])
    new_ids = set(cand.mention_ids) - old_ids
    old_rank = SEVERITY_RANK.get(alert.severity, 0)
    new_rank = SEVERITY_RANK.get(cand.severity, 0)
    severity = cand.severity if new_rank > old_rank else alert.severity
    notified_mag = float((alert.details or {}).get("notified_magnitude") or 0.0)
    grew = cand.magnitude >= 2 * notified_mag > 0
    if (
        not new_ids
        and not grew
        and new_rank <= old_rank
        and cand.numbers == (alert.details or {}).get("numbers")
    ):
        conn.execute(update(Alert).where(Alert.id == alert.id).values(triggered_at=now))
        return None
    if new_rank < old_rank:
        # A weaker signal about the same story (a comment naming only the regulator under a post that
        # named everyone) adds its mentions but must not overwrite the stronger evidence or page anyone.
        conn.execute(
            update(Alert)
            .where(Alert.id == alert.id)
            .values(
                mention_ids={"ids": sorted(old_ids | set(cand.mention_ids))},
                triggered_at=now,
            )
        )
        return AlertChange(
            alert.id,
            "merged",
            alert.version,
            alert.rule,
            alert.brand,
            alert.channel,
            alert.severity,
            alert.title,
            False,
            key,
        )
    muted = alert.muted_until is not None and alert.muted_until > now
    cooled = now - alert.updated_at >= timedelta(minutes=settings.cooldown_minutes)
    if alert.state == "acknowledged" or reopened:
        notify = new_rank > old_rank
    else:
        notify = new_rank > old_rank or (cooled and (bool(new_ids) or grew))
    notify = notify and not muted
    details = {
        "numbers": cand.numbers,
        "facts": cand.facts,
        "top": _merge_top(list((alert.details or {}).get("top") or []), top, settings.top_mentions),
        "notified_magnitude": cand.magnitude if notify else notified_mag,
    }
    values: dict[str, Any] = {
        "severity": severity,
        "title": title,
        "details": details,
        "mention_ids": {"ids": sorted(old_ids | set(cand.mention_ids))},
        "triggered_at": now,
    }
    version = alert.version
    queued = 0
    if notify:
        version += 1
        values.update(version=version, updated_at=now)
        queued = enqueue_deliveries(conn, alert.id, version, destinations_for(settings, severity), now)
    conn.execute(update(Alert).where(Alert.id == alert.id).values(**values))
    return AlertChange(
        alert.id,
        "updated" if notify else "merged",
        version,
        alert.rule,
        alert.brand,
        alert.channel,
        severity,
        title,
        queued > 0,
        key,
    )


def _set(store: Store, alert_id: int, **values: Any) -> None:
    with store.engine.begin() as conn:
        res = conn.execute(update(Alert).where(Alert.id == alert_id).values(**values))
        if res.rowcount != 1:
            raise KeyError(f"no alert with id {alert_id}")


def acknowledge(store: Store, alert_id: int, now: datetime | None = None) -> None:
    """Someone took the alert: further updates are sent only if it gets more severe."""
    now = now or now_utc()
    _set(store, alert_id, state="acknowledged", acknowledged_at=now)


def mute(store: Store, alert_id: int, until: datetime, now: datetime | None = None) -> None:
    """Send nothing about this alert until ``until``; queued deliveries are dropped as ``suppressed``."""
    now = now or now_utc()
    if until <= now:
        raise ValueError("mute until a time in the future")
    with store.engine.begin() as conn:
        res = conn.execute(update(Alert).where(Alert.id == alert_id).values(muted_until=until))
        if res.rowcount != 1:
            raise KeyError(f"no alert with id {alert_id}")
        conn.execute(
            update(AlertDelivery)
            .where(and_(AlertDelivery.alert_id == alert_id, AlertDelivery.state == "pending"))
            .values(state="suppressed", last_error="alert muted")
        )


def unmute(store: Store, alert_id: int) -> None:
    """Lift a mute; the next update is delivered as usual."""
    _set(store, alert_id, muted_until=None)


def resolve(store: Store, alert_id: int, now: datetime | None = None) -> None:
    """Close the alert: the next trigger of the same story opens a new one."""
    _set(store, alert_id, state="resolved", updated_at=now or now_utc())


def resolve_stale(store: Store, settings: AlertsSettings, now: datetime) -> int:
    """Resolve open and acknowledged alerts not triggered for ``resolve_after_hours``; returns how many."""
    cutoff = now - timedelta(hours=settings.resolve_after_hours)
    with store.engine.begin() as conn:
        res = conn.execute(
            update(Alert)
            .where(and_(Alert.state.in_(("open", "acknowledged")), Alert.triggered_at < cutoff))
            .values(state="resolved", updated_at=now)
        )
    return int(res.rowcount or 0)
