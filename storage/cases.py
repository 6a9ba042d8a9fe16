"""Cases: the mentions a brand owes an answer, their status, owner and history.

A case is opened once per (mention, brand) by :mod:`loyalty_index.responses`, which decides what needs an
answer and how urgent it is. From here on the rules are storage rules, kept in one place:

- A reply of the brand (a mention whose ``reply_brand`` is the case's brand) under the case's mention sets
  ``first_reply_at`` and moves an open case to ``answered`` by itself (:func:`apply_brand_replies`). A reply
  that later disappears from the store reopens the case (:func:`reopen_lost_replies`).
- People change cases with :func:`change_case`: every field that changes gets a ``case_events`` row with
  who, when, the old and the new value. Two people changing one case at once are serialised by the
  database (the first statement of the transaction takes the row's write lock), so each change reads the
  value the other left, the last write is what the case shows, and both are in the history.

Statuses: ``new -> in_progress -> answered -> closed``, or ``ignored``; ``new`` and ``in_progress`` are open.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from storage.schema import CaseEvent, CaseRow, MentionBrand, MentionRow, effective_label
from storage.store import Store

__all__ = [
    "OPEN_STATUSES",
    "STATUSES",
    "SYSTEM",
    "CaseChange",
    "CaseView",
    "NewCase",
    "ThreadItem",
    "apply_brand_replies",
    "case_events",
    "change_case",
    "escalate_cases",
    "find_cases",
    "get_case",
    "note_label_change",
    "open_cases",
    "overdue_cases",
    "priority",
    "reopen_lost_replies",
    "response_facts",
    "thread",
]

STATUSES = ("new", "in_progress", "answered", "closed", "ignored")
OPEN_STATUSES = ("new", "in_progress")
#: The actor of changes nobody made by hand: opening a case, a brand reply found in the thread.
SYSTEM = "system"
#: How far back :func:`apply_brand_replies` looks for unanswered cases: a reply after a month is no answer.
REPLY_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class NewCase:
    """A mention that needs an answer from ``brand``, as :mod:`loyalty_index.responses` judged it."""

    mention_id: int
    brand: str
    own: bool
    channel: str
    reason: str
    urgent: bool
    important: bool
    published_at: datetime
    due_at: datetime

    @property
    def priority(self) -> int:
        """The Eisenhower quadrant: 1 urgent and important, 2 important, 3 urgent, 4 neither."""
        return priority(self.urgent, self.important)


def priority(urgent: bool, important: bool) -> int:
    """1 urgent and important (do now), 2 important (plan), 3 urgent (delegate), 4 neither."""
    if important:
        return 1 if urgent else 2
    return 3 if urgent else 4


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case with what the queue shows of its mention (text is untrusted: escape it when rendering)."""

    id: int
    mention_id: int
    brand: str
    own: bool
    channel: str
    reason: str
    status: str
    assignee: str | None
    urgent: bool
    important: bool
    priority: int
    published_at: datetime
    due_at: datetime
    first_reply_at: datetime | None
    answered_by: str | None
    updated_at: datetime
    version: int
    text: str
    author: str | None
    author_reach: int | None
    url: str | None
    label: str | None

    def overdue(self, now: datetime) -> bool:
        """Open, unanswered and past its due time."""
        return self.status in OPEN_STATUSES and self.first_reply_at is None and self.due_at < now


@dataclass(frozen=True, slots=True)
class CaseChange:
    """One row of a case's history."""

    case_id: int
    at: datetime
    actor: str
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class ThreadItem:
    """A mention of a case's thread: the case's mention, its parent, and the replies under it."""

    mention_id: int
    depth: int
    published_at: datetime
    author: str | None
    text: str
    url: str | None
    reply_brand: str | None


def _insert(store: Store, table: Any) -> Any:
    return postgresql.insert(table) if store.dialect == "postgresql" else sqlite.insert(table)


def _event(conn: Connection, case_id: int, at: datetime, actor: str, field: str, old: Any, new: Any) -> None:
    old, new = (v.isoformat() if isinstance(v, datetime) else v for v in (old, new))
    conn.execute(
        insert(CaseEvent),
        {
            "case_id": case_id,
            "at": at,
            "actor": actor,
            "field": field,
            "old": None if old is None else str(old),
            "new": None if new is None else str(new),
        },
    )


def open_cases(store: Store, cases: Sequence[NewCase], now: datetime) -> list[int]:
    """Open the cases not open yet (idempotent by mention and brand); the ids of those opened now."""
    opened: list[int] = []
    if not cases:
        return opened
    with store.engine.begin() as conn:
        for case in cases:
            row = conn.execute(
                _insert(store, CaseRow)
                .values(
                    mention_id=case.mention_id,
                    brand=case.brand,
                    own=case.own,
                    channel=case.channel,
                    reason=case.reason,
                    status="new",
                    urgent=case.urgent,
                    important=case.important,
                    priority=case.priority,
                    published_at=case.published_at,
                    opened_at=now,
                    due_at=case.due_at,
                    updated_at=now,
                    version=1,
                )
                .on_conflict_do_nothing(index_elements=["mention_id", "brand"])
                .returning(CaseRow.id)
            ).first()
            if row is not None:
                opened.append(int(row[0]))
                _event(conn, int(row[0]), now, SYSTEM, "status", None, "new")
    return opened


def apply_brand_replies(store: Store, now: datetime, case_ids: Iterable[int] | None = None) -> int:
    """Record the first brand reply of every unanswered case that has one; returns how many cases changed.

    An open case becomes ``answered`` (by ``reply``); a closed or ignored one only gets its reply time,
    which the response metrics count. Idempotent: a case that has its first reply is not looked at again.
    """
    reply = MentionRow
    q = (
        select(CaseRow.id, CaseRow.status, reply.id, reply.published_at)
        .join(reply, and_(reply.parent_id == CaseRow.mention_id, reply.reply_brand == CaseRow.brand))
        .where(CaseRow.first_reply_at.is_(None), CaseRow.published_at >= now - REPLY_LOOKBACK)
        .order_by(CaseRow.id, reply.published_at, reply.id)
    )
    if case_ids is not None:
        q = q.where(CaseRow.id.in_(list(case_ids)))
    changed = 0
    with store.engine.begin() as conn:
        first: dict[int, tuple[str, int, datetime]] = {}
        for case_id, status, reply_id, at in conn.execute(q).all():
            first.setdefault(int(case_id), (str(status), int(reply_id), at))
        for case_id, (status, reply_id, at) in first.items():
            values: dict[str, Any] = {
                "first_reply_at": at,
                "reply_mention_id": reply_id,
                "updated_at": now,
                "version": CaseRow.version + 1,
            }
            if status in OPEN_STATUSES:
                values.update(status="answered", answered_by="reply")
            res = conn.execute(
                update(CaseRow)
                .where(CaseRow.id == case_id, CaseRow.first_reply_at.is_(None))
                .values(**values)
            )
            if res.rowcount:
                changed += 1
                _event(conn, case_id, now, SYSTEM, "first_reply_at", None, at)
                if status in OPEN_STATUSES:
                    _event(conn, case_id, now, SYSTEM, "status", status, "answered")
    return changed


def reopen_lost_replies(store: Store, now: datetime) -> int:
    """Cases answered by a brand reply that is no longer stored go back to open; returns how many.

    The reply's row is gone (``reply_mention_id`` was set NULL by its foreign key): the thread has no
    answer any more, so the case is owed one again and its SLA clock is the original one.
    """
    changed = 0
    with store.engine.begin() as conn:
        lost = conn.execute(
            select(CaseRow.id, CaseRow.status, CaseRow.assignee, CaseRow.first_reply_at).where(
                CaseRow.first_reply_at.is_not(None), CaseRow.reply_mention_id.is_(None)
            )
        ).all()
        for case_id, status, assignee, first_reply in lost:
            values: dict[str, Any] = {
                "first_reply_at": None,
                "updated_at": now,
                "version": CaseRow.version + 1,
            }
            back = "in_progress" if assignee else "new"
            reopened = status == "answered"
            if reopened:
                values.update(status=back, answered_by=None)
            conn.execute(update(CaseRow).where(CaseRow.id == case_id).values(**values))
            _event(conn, case_id, now, SYSTEM, "first_reply_at", first_reply, None)
            if reopened:
                _event(conn, case_id, now, SYSTEM, "status", status, back)
            changed += 1
    return changed


_UNSET: Any = object()


def change_case(
    store: Store,
    case_id: int,
    actor: str,
    now: datetime,
    *,
    status: str | None = None,
    assignee: str | None = _UNSET,
) -> list[CaseChange]:
    """Set ``status`` and/or ``assignee`` as ``actor``; returns the changes written (none if nothing changed).

    The first statement bumps the row's version, which takes its write lock (PostgreSQL row lock, SQLite
    write transaction) before anything is read: a concurrent change waits, then reads what the other wrote,
    so the history's ``old`` values chain and no change is lost. ``KeyError`` for an unknown case,
    ``ValueError`` for an unknown status or an empty actor.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if not actor.strip():
        raise ValueError("a change needs the name of who makes it")
    actor = actor.strip()[:128]
    changes: list[CaseChange] = []
    with store.engine.begin() as conn:
        locked = conn.execute(
            update(CaseRow).where(CaseRow.id == case_id).values(version=CaseRow.version + 1, updated_at=now)
        )
        if locked.rowcount == 0:
            raise KeyError(f"no case {case_id}")
        row = conn.execute(
            select(CaseRow.status, CaseRow.assignee, CaseRow.answered_by).where(CaseRow.id == case_id)
        ).one()
        values: dict[str, Any] = {}
        if assignee is not _UNSET and assignee != row.assignee:
            values["assignee"] = assignee
            changes.append(CaseChange(case_id, now, actor, "assignee", row.assignee, assignee))
        if status is not None and status != row.status:
            values["status"] = status
            if status == "answered":
                values["answered_by"] = row.answered_by or actor
            changes.append(CaseChange(case_id, now, actor, "status", row.status, status))
        if values:
            conn.execute(update(CaseRow).where(CaseRow.id == case_id).values(**values))
        for c in changes:
            _event(conn, case_id, now, actor, c.field, c.old, c.new)
    return changes


def note_label_change(
    store: Store, case_id: int, actor: str, now: datetime, old: str | None, new: str
) -> None:
    """Record in a case's history that ``actor`` corrected its mention's label (the correction itself is
    :meth:`storage.store.Store.correct_label`)."""
    with store.engine.begin() as conn:
        conn.execute(
            update(CaseRow).where(CaseRow.id == case_id).values(version=CaseRow.version + 1, updated_at=now)
        )
        _event(conn, case_id, now, actor, "label", old, new)


def escalate_cases(store: Store, now: datetime, min_engagement: int, alert_mention_ids: set[int]) -> int:
    """Open cases that are not urgent yet become urgent when their mention has ``min_engagement`` likes,
    reposts and comments or is among ``alert_mention_ids``; returns how many (each change in the history)."""
    m = MentionRow
    engagement = func.coalesce(m.likes, 0) + func.coalesce(m.reposts, 0) + func.coalesce(m.comments, 0)
    cond: Any = engagement >= min_engagement
    if alert_mention_ids:
        cond = cond | CaseRow.mention_id.in_(sorted(alert_mention_ids))
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(CaseRow.id, CaseRow.important)
            .join(m, m.id == CaseRow.mention_id)
            .where(CaseRow.status.in_(OPEN_STATUSES), CaseRow.urgent.is_(False), cond)
        ).all()
        for case_id, important in rows:
            conn.execute(
                update(CaseRow)
                .where(CaseRow.id == case_id)
                .values(
                    urgent=True,
                    priority=priority(True, bool(important)),
                    updated_at=now,
                    version=CaseRow.version + 1,
                )
            )
            _event(conn, int(case_id), now, SYSTEM, "urgent", "false", "true")
    return len(rows)


def case_events(store: Store, case_id: int) -> list[CaseChange]:
    """A case's history, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                CaseEvent.case_id,
                CaseEvent.at,
                CaseEvent.actor,
                CaseEvent.field,
                CaseEvent.old,
                CaseEvent.new,
            )
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.id)
        ).all()
    return [CaseChange(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]


def _view_select() -> Any:
    label = (
        select(effective_label())
        .where(MentionBrand.mention_id == CaseRow.mention_id, MentionBrand.brand == CaseRow.brand)
        .scalar_subquery()
    )
    return select(
        CaseRow.id,
        CaseRow.mention_id,
        CaseRow.brand,
        CaseRow.own,
        CaseRow.channel,
        CaseRow.reason,
        CaseRow.status,
        CaseRow.assignee,
        CaseRow.urgent,
        CaseRow.important,
        CaseRow.priority,
        CaseRow.published_at,
        CaseRow.due_at,
        CaseRow.first_reply_at,
        CaseRow.answered_by,
        CaseRow.updated_at,
        CaseRow.version,
        MentionRow.text,
        MentionRow.author,
        MentionRow.author_reach,
        MentionRow.url,
        label.label("label"),
    ).join(MentionRow, MentionRow.id == CaseRow.mention_id)


def _view(r: Any) -> CaseView:
    return CaseView(*r)


def get_case(store: Store, case_id: int) -> CaseView:
    """One case; ``KeyError`` when there is none."""
    with store.engine.connect() as conn:
        row = conn.execute(_view_select().where(CaseRow.id == case_id)).first()
    if row is None:
        raise KeyError(f"no case {case_id}")
    return _view(row)


def find_cases(
    store: Store,
    *,
    now: datetime,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    statuses: Sequence[str] | None = OPEN_STATUSES,
    assignee: str | None = None,
    overdue: bool = False,
    own: bool | None = True,
    limit: int = 500,
) -> list[CaseView]:
    """The queue: cases by priority, then the least time left. ``assignee=""`` means unassigned."""
    q = _view_select()
    if own is not None:
        q = q.where(CaseRow.own.is_(own))
    if brands:
        q = q.where(CaseRow.brand.in_(list(brands)))
    if channels:
        q = q.where(CaseRow.channel.in_(list(channels)))
    if statuses:
        q = q.where(CaseRow.status.in_(list(statuses)))
    if assignee is not None:
        q = q.where(CaseRow.assignee.is_(None) if assignee == "" else CaseRow.assignee == assignee)
    if overdue:
        q = q.where(CaseRow.status.in_(OPEN_STATUSES), CaseRow.first_reply_at.is_(None), CaseRow.due_at < now)
    q = q.order_by(CaseRow.priority, CaseRow.due_at, CaseRow.id).limit(limit)
    with store.engine.connect() as conn:
        return [_view(r) for r in conn.execute(q).all()]


def overdue_cases(conn: Connection, now: datetime) -> list[CaseView]:
    """Own cases open past their due time with no reply: what the ``sla_breach`` rule alerts on."""
    q = _view_select().where(
        CaseRow.own.is_(True),
        CaseRow.status.in_(OPEN_STATUSES),
        CaseRow.first_reply_at.is_(None),
        CaseRow.due_at < now,
    )
    return [_view(r) for r in conn.execute(q.order_by(CaseRow.due_at, CaseRow.id)).all()]


def thread(store: Store, mention_id: int) -> list[ThreadItem]:
    """The case's mention (depth 0), what it answers (depth -1), and the replies under it (depth 1, 2)."""
    cols = (
        MentionRow.id,
        MentionRow.published_at,
        MentionRow.author,
        MentionRow.text,
        MentionRow.url,
        MentionRow.reply_brand,
        MentionRow.parent_id,
    )
    out: list[ThreadItem] = []
    with store.engine.connect() as conn:
        root = conn.execute(select(*cols).where(MentionRow.id == mention_id)).first()
        if root is None:
            return out
        if root.parent_id is not None:
            parent = conn.execute(select(*cols).where(MentionRow.id == root.parent_id)).first()
            if parent is not None:
                out.append(_item(parent, -1))
        out.append(_item(root, 0))
        level = [mention_id]
        for depth in (1, 2):
            rows = conn.execute(
                select(*cols).where(MentionRow.parent_id.in_(level)).order_by(MentionRow.published_at)
            ).all()
            out.extend(_item(r, depth) for r in rows)
            level = [int(r.id) for r in rows]
            if not level:
                break
    return out


def _item(r: Any, depth: int) -> ThreadItem:
    return ThreadItem(int(r.id), depth, r.published_at, r.author, r.text, r.url, r.reply_brand)


def response_facts(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
) -> list[tuple[str, bool, str, datetime, datetime, datetime | None]]:
    """(brand, own, channel, published_at, due_at, first_reply_at) of every case: the metrics' input."""
    q = select(
        CaseRow.brand,
        CaseRow.own,
        CaseRow.channel,
        CaseRow.published_at,
        CaseRow.due_at,
        CaseRow.first_reply_at,
    )
    if since is not None:
        q = q.where(CaseRow.published_at >= since)
    if until is not None:
        q = q.where(CaseRow.published_at < until)
    if brands:
        q = q.where(CaseRow.brand.in_(list(brands)))
    if channels:
        q = q.where(CaseRow.channel.in_(list(channels)))
    with store.engine.connect() as conn:
        rows = conn.execute(q.order_by(CaseRow.published_at)).all()
    return [(r[0], bool(r[1]), r[2], r[3], r[4], r[5]) for r in rows]
