"""What several ``loyalty-monitor worker`` processes share, kept in PostgreSQL itself.

No coordinator process: every rule here is a PostgreSQL primitive the database enforces even when a worker
dies at any instant.

- **Tagging claims** (:func:`tag_batch`): untagged mentions are locked with ``FOR UPDATE SKIP LOCKED`` and
  labelled, and the labels committed, in the same transaction. Two workers never take one mention; a worker
  that dies drops its connection, PostgreSQL rolls the transaction back and the batch is free again.
- **The alert leader** (:class:`AdvisoryLease`): a session advisory lock on a connection of its own. A dead
  leader's session ends and the lock with it; another worker's next try takes it.
- **The shared rate limit** (:func:`reserve_slot`, :class:`SharedThrottler`): one row per (source, token)
  holding the next free request slot, advanced by one atomic ``UPDATE ... RETURNING`` on the database's
  clock, so N workers on N machines together keep the token's rate.
- **Who is alive** (:func:`register_worker`, :func:`beat`, :func:`live_workers`): a heartbeat row per worker
  for ``status``.

Poll leases are pgqueuer jobs (``loyalty_monitor.worker``); this module only records when a (source,
query) was last polled (:func:`mark_polled`), so the next job is scheduled one interval later.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from core.clock import now_utc
from storage.schema import AlertDelivery, AlertPending, MentionRow, PollState, WorkerRow
from storage.store import PendingMention, TaggedMention, write_tags

__all__ = [
    "LEADER_KEY",
    "AdvisoryLease",
    "Lag",
    "SharedThrottler",
    "TagBatch",
    "beat",
    "deregister_worker",
    "lag",
    "last_polled",
    "live_workers",
    "mark_polled",
    "prune_job_log",
    "register_worker",
    "reserve_slot",
    "tag_batch",
    "take_alert_pending",
]

log = logging.getLogger(__name__)

#: The advisory lock key the alert leader holds (any constant that no other code on the database uses).
LEADER_KEY = zlib.crc32(b"loyalty-monitor:alerts-leader")


# -- tagging ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagBatch:
    """What one claimed batch did: mentions labelled, and brand links written."""

    tagged: int
    linked: int
    linked_ids: list[int]


def tag_batch(
    engine: Engine,
    limit: int,
    label: Callable[[Sequence[PendingMention]], list[TaggedMention]],
    *,
    queue_alerts: bool,
) -> TagBatch:
    """Claim up to ``limit`` untagged mentions, label them with ``label`` and commit, in one transaction.

    The row locks are the claim: held while the model runs, released by the commit (or by PostgreSQL when
    the worker dies: the batch returns to the pool with nothing half-written). With ``queue_alerts`` the
    linked mentions are queued for the alert leader in the same transaction, so none is skipped or queued
    twice. Raises :class:`RuntimeError` if a claimed mention turns out tagged already (it cannot while the
    locks hold; the check makes "labelled once" something that fails loudly rather than silently).
    """
    cols = (
        MentionRow.id,
        MentionRow.text,
        MentionRow.channel,
        MentionRow.published_at,
        MentionRow.duplicate_of,
    )
    with engine.begin() as conn:
        rows = conn.execute(
            select(*cols)
            .where(MentionRow.tagged_at.is_(None))
            .order_by(MentionRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return TagBatch(0, 0, [])
        pending = [
            PendingMention(r.id, r.text, r.channel, r.published_at, r.duplicate_of is None) for r in rows
        ]
        tagged = label(pending)
        now = now_utc()
        marked = write_tags(conn, tagged, now, only_untagged=True)
        if marked != len(tagged):
            raise RuntimeError(f"{len(tagged) - marked} claimed mentions were tagged by someone else")
        linked_ids = [t.mention.id for t in tagged if t.links]
        if queue_alerts and linked_ids:
            conn.execute(
                postgresql.insert(AlertPending).on_conflict_do_nothing(index_elements=["mention_id"]),
                [{"mention_id": i, "queued_at": now} for i in linked_ids],
            )
    return TagBatch(len(tagged), sum(len(t.links) for t in tagged), linked_ids)


def take_alert_pending(engine: Engine, limit: int) -> list[int]:
    """The oldest mention ids waiting for the alert rules (the leader deletes them once evaluated)."""
    with engine.connect() as conn:
        return list(
            conn.execute(select(AlertPending.mention_id).order_by(AlertPending.mention_id).limit(limit))
            .scalars()
            .all()
        )


def done_alert_pending(engine: Engine, ids: Sequence[int]) -> None:
    """Remove evaluated mentions from the alert queue."""
    if ids:
        with engine.begin() as conn:
            conn.execute(delete(AlertPending).where(AlertPending.mention_id.in_(list(ids))))


# -- the alert leader -------------------------------------------------------------------------------------


class AdvisoryLease:
    """A session advisory lock held on a connection of its own: the leader lease.

    Why a session lock: it lives exactly as long as the holder's database session, so a killed worker (or a
    dead machine, once TCP keepalive notices) loses it without anyone waiting for a timeout, and nothing
    has to be cleaned up. :meth:`holds` asks the database on that same connection, so a leader whose
    connection broke (a database restart) knows it is no longer the leader before it acts.
    """

    def __init__(self, engine: Engine, key: int = LEADER_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; ``True`` when this process holds it afterwards."""
        if self._conn is not None and self.holds():
            return True
        self._drop()
        conn = self.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar_one())
            conn.commit()
        except Exception:
            conn.invalidate()
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def holds(self) -> bool:
        """Whether the lock is still ours (``False`` when the connection is gone)."""
        if self._conn is None:
            return False
        try:
            held = self._conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                    "AND granted AND classid = 0 AND objid = :k AND objsubid = 1"
                ),
                {"k": self.key},
            ).scalar_one()
            self._conn.commit()
        except Exception:
            self._drop(broken=True)
            return False
        if not held:
            self._drop()
        return bool(held)

    def release(self) -> None:
        """Give the lock back (SIGTERM): another worker takes over at its next try."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            except Exception:
                self._drop(broken=True)
                return
        self._drop()

    def _drop(self, *, broken: bool = False) -> None:
        if self._conn is not None:
            if broken:
                self._conn.invalidate()
            self._conn.close()
            self._conn = None


# -- the shared rate limit ------------------------------------------------------------------------------


def reserve_slot(engine: Engine, key: str, spacing_s: float) -> float:
    """Reserve the next request slot of ``key``; returns the seconds to wait before using it.

    Slots are ``spacing_s`` apart on the database's clock (``clock_timestamp()``), so workers on machines
    whose clocks disagree still share one schedule. An idle key starts at once.
    """
    with engine.begin() as conn:
        wait = conn.execute(
            text(
                "INSERT INTO rate_slots AS r (key, next_at) "
                "VALUES (:k, clock_timestamp() + make_interval(secs => :s)) "
                "ON CONFLICT (key) DO UPDATE SET next_at = "
                "GREATEST(r.next_at, clock_timestamp()) + make_interval(secs => :s) "
                "RETURNING EXTRACT(EPOCH FROM (r.next_at - make_interval(secs => :s) - clock_timestamp()))"
            ),
            {"k": key[:128], "s": spacing_s},
        ).scalar_one()
    return max(0.0, float(wait))


class SharedThrottler:
    """An ``async with`` throttle like asyncio-throttle's, whose budget lives in the database.

    ``rate`` requests per ``period`` seconds for every process using the same ``key`` (source and token
    fingerprint), spaced evenly.
    """

    def __init__(self, engine: Engine, key: str, rate: int, period: float) -> None:
        self.engine = engine
        self.key = key
        self.rate_limit = rate
        self.period = period
        self.spacing_s = period / max(1, rate)

    async def __aenter__(self) -> SharedThrottler:
        wait = await asyncio.to_thread(reserve_slot, self.engine, self.key, self.spacing_s)
        if wait > 0:
            await asyncio.sleep(wait)
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


# -- poll schedule ---------------------------------------------------------------------------------------


def last_polled(engine: Engine) -> dict[tuple[str, str], datetime]:
    """When each (source, query) was last polled by a worker."""
    with engine.connect() as conn:
        rows = conn.execute(select(PollState.source, PollState.query, PollState.last_polled_at)).all()
    return {(r[0], r[1]): r[2] for r in rows}


def mark_polled(engine: Engine, source: str, query: str, when: datetime | None = None) -> None:
    """Record a finished poll (successful or not: a failing source also waits its interval)."""
    at = when or now_utc()
    with engine.begin() as conn:
        conn.execute(
            postgresql.insert(PollState)
            .values(source=source, query=query[:512], last_polled_at=at)
            .on_conflict_do_update(index_elements=["source", "query"], set_={"last_polled_at": at})
        )


def prune_job_log(engine: Engine, keep_days: int = 7) -> int:
    """Drop pgqueuer's log and statistics rows older than ``keep_days``; returns the log rows dropped.

    pgqueuer keeps three log rows per finished job and never deletes them; polls every few minutes per
    query would grow them without bound. The alert leader calls this with its periodic rules.
    """
    with engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass('pgqueuer_log')")).scalar_one() is None:
            return 0
        cutoff = {"d": keep_days}
        res = conn.execute(
            text("DELETE FROM pgqueuer_log WHERE aggregated AND created < now() - make_interval(days => :d)"),
            cutoff,
        )
        conn.execute(
            text("DELETE FROM pgqueuer_statistics WHERE created < now() - make_interval(days => :d)"), cutoff
        )
    return int(res.rowcount or 0)


# -- live workers ----------------------------------------------------------------------------------------


def register_worker(
    engine: Engine, worker_id: str, host: str, pid: int, roles: str, model: str | None
) -> None:
    """Add this worker to ``workers`` (a restarted worker gets a fresh id)."""
    now = now_utc()
    with engine.begin() as conn:
        conn.execute(
            postgresql.insert(WorkerRow)
            .values(
                id=worker_id,
                host=host,
                pid=pid,
                roles=roles,
                model=model,
                started_at=now,
                beat_at=now,
                leases={},
            )
            .on_conflict_do_update(index_elements=["id"], set_={"beat_at": now})
        )


def beat(engine: Engine, worker_id: str, leases: dict[str, Any]) -> None:
    """Refresh this worker's heartbeat and what it holds; old rows of dead workers are dropped here too."""
    now = now_utc()
    with engine.begin() as conn:
        conn.execute(
            postgresql.insert(WorkerRow)
            .values(id=worker_id, host="?", pid=0, roles="", started_at=now, beat_at=now, leases=leases)
            .on_conflict_do_update(index_elements=["id"], set_={"beat_at": now, "leases": leases})
        )
        conn.execute(delete(WorkerRow).where(WorkerRow.beat_at < now - timedelta(days=1)))


def deregister_worker(engine: Engine, worker_id: str) -> None:
    """Remove this worker's row (a clean stop)."""
    with engine.begin() as conn:
        conn.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))


def live_workers(engine: Engine, fresh_s: float = 30.0) -> list[WorkerRow]:
    """Workers whose heartbeat is younger than ``fresh_s`` seconds, oldest first."""
    from sqlalchemy.orm import Session

    since = now_utc() - timedelta(seconds=fresh_s)
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(WorkerRow).where(WorkerRow.beat_at >= since).order_by(WorkerRow.started_at)
            )
        )
        session.expunge_all()
    return rows


@dataclass(frozen=True, slots=True)
class Lag:
    """How far behind the workers are: what ``status`` prints."""

    untagged: int
    oldest_untagged_at: datetime | None
    alert_pending: int
    outbox_pending: int
    poll_jobs: int | None


def lag(engine: Engine) -> Lag:
    """Untagged mentions (and the oldest one's collection time), the alert queue, the outbox, poll jobs."""
    with engine.connect() as conn:
        untagged, oldest = conn.execute(
            select(func.count(), func.min(MentionRow.collected_at)).where(MentionRow.tagged_at.is_(None))
        ).one()
        pending = conn.execute(select(func.count()).select_from(AlertPending)).scalar_one()
        outbox = conn.execute(
            select(func.count()).where(AlertDelivery.state.in_(["pending", "sending"]))
        ).scalar_one()
        jobs: int | None = None
        if conn.execute(text("SELECT to_regclass('pgqueuer')")).scalar_one() is not None:
            jobs = int(conn.execute(text("SELECT count(*) FROM pgqueuer")).scalar_one())
    return Lag(int(untagged), oldest, int(pending), int(outbox), jobs)
