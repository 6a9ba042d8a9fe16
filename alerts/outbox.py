"""The outbox: an alert is stored first, then delivered from ``alert_deliveries`` until a messenger took it.

Why an outbox: the messenger may be down, rate-limit us or the process may be killed. Writing the delivery
rows in the same transaction as the alert means nothing is lost; delivering from the table means a restart
carries on where it stopped. Each row is one (alert version, destination) with a unique idempotency key,
so an update is delivered once per destination however often the engine or the dispatcher runs.

Row states::

    pending ──claim──> sending ──ok──> sent
       ^                  │
       └── 429 / 5xx / network (next_attempt_at = retry_after or back-off)
                          ├──> failed       (the request is wrong: bad token, chat not found)
    pending ──> superseded (a newer version of the alert is queued for the same destination)
    pending ──> suppressed (the alert was muted before its turn came)
    sending ──> grouped ──> sent (a messenger's row joins its group, sent with the group's message or
                                  edit: alerts.grouping)

Destinations are independent: :meth:`OutboxDispatcher.run_forever` runs one worker per destination and
:meth:`OutboxDispatcher.run_once` serves them concurrently, so a messenger that answers slowly (or not at
all, until the client's timeout) holds up only its own rows, never another destination's.

A claimed row holds a lease (``next_attempt_at`` = claim time + lease): if the process dies mid-request the
row is picked up again once the lease expires. That is the single window where a messenger can see a
message twice; webhook receivers can drop the repeat by its ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from alerts.errors import DeliveryError, PermanentDelivery, RateLimited, scrub
from alerts.grouping import AlertGroups, Flush, group_message
from alerts.message import SEVERITY_RANK, AlertMessage
from alerts.render import Language
from alerts.senders import Sender, build_senders
from alerts.settings import AlertsSettings, destination_names
from storage.schema import Alert, AlertAction, AlertDelivery
from storage.store import Store, now_utc

__all__ = ["OutboxDispatcher", "destinations_for", "enqueue_deliveries", "idempotency_key"]

log = logging.getLogger(__name__)


def idempotency_key(alert_id: int, version: int, destination: str) -> str:
    """The key that makes one alert version reach one destination once."""
    return f"alert-{alert_id}-v{version}-{destination}"


def destinations_for(settings: AlertsSettings, severity: str) -> list[str]:
    """Names of the destinations whose ``min_severity`` the alert reaches."""
    rank = SEVERITY_RANK.get(severity, 0)
    return [
        name
        for name, d in zip(destination_names(settings.destinations), settings.destinations, strict=True)
        if rank >= SEVERITY_RANK[d.min_severity]
    ]


def enqueue_deliveries(
    conn: Connection, alert_id: int, version: int, destinations: Sequence[str], now: datetime
) -> int:
    """Queue ``version`` of an alert for each destination, inside the caller's transaction.

    Older versions still pending for the same destination are marked ``superseded``: the newer message
    carries everything, and the team is not paged twice for one story. Returns the rows added.
    """
    if not destinations:
        return 0
    rows = [
        {
            "alert_id": alert_id,
            "alert_version": version,
            "destination": d,
            "idempotency_key": idempotency_key(alert_id, version, d),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for d in destinations
    ]
    ins: Any = (
        postgresql.insert(AlertDelivery)
        if conn.dialect.name == "postgresql"
        else sqlite.insert(AlertDelivery)
    )
    res = conn.execute(ins.on_conflict_do_nothing(index_elements=["idempotency_key"]), rows)
    conn.execute(
        update(AlertDelivery)
        .where(
            and_(
                AlertDelivery.alert_id == alert_id,
                AlertDelivery.alert_version < version,
                AlertDelivery.destination.in_(list(destinations)),
                AlertDelivery.state == "pending",
            )
        )
        .values(state="superseded")
    )
    return int(res.rowcount or 0)


class OutboxDispatcher:
    """Delivers due outbox rows with retries; safe to restart, safe to run in two processes at once.

    Usage::

        async with httpx.AsyncClient(timeout=20) as client:
            dispatcher = OutboxDispatcher(store, settings, client, language="en")
            await dispatcher.run_forever(stop_event)

    ``senders`` replaces the ones built from the settings (and ``env``) - tests pass fakes. ``language``
    is the readers' (``display.language``): alerts are worded in it when they are sent. ``clock`` is
    used by :meth:`run_forever`; :meth:`run_once` takes ``now`` so a replay can drive it.
    """

    def __init__(
        self,
        store: Store,
        settings: AlertsSettings,
        client: httpx.AsyncClient,
        *,
        language: Language = "ru",
        senders: Mapping[str, Sender] | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = now_utc,
        lease: timedelta = timedelta(seconds=60),
        batch_size: int = 50,
        base_backoff: timedelta = timedelta(seconds=2),
        max_backoff: timedelta = timedelta(minutes=10),
        poll_interval: float = 0.5,
        dashboard_url: str | None = None,
        timezone: str = "UTC",
    ) -> None:
        self.store = store
        self.settings = settings
        self.dashboard_url = dashboard_url
        self.timezone = timezone
        self.groups = AlertGroups(store, settings, lease)
        self.language: Language = language
        self.client = client
        self.senders: dict[str, Sender] = (
            dict(senders) if senders is not None else build_senders(settings, env)
        )
        self.clock = clock
        self.lease = lease
        self.batch_size = batch_size
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.poll_interval = poll_interval
        self._blocked_until: dict[str, datetime] = {}
        self._wakes: list[asyncio.Event] = []
        self._secrets = tuple(s for sender in self.senders.values() for s in sender.secrets)

    def wake(self) -> None:
        """Run the next pass now (the engine calls this after queueing); safe from the event loop only."""
        for wake in self._wakes:
            wake.set()

    # -- database steps (run in a thread: the event loop keeps serving while SQLite waits) -------------

    def _due(self, now: datetime, destination: str | None) -> list[tuple[int, str, datetime, str]]:
        """Rows due for ``destination``; ``None``: rows for destinations no longer configured."""
        which: ColumnElement[bool]
        if destination is None:
            which = AlertDelivery.destination.not_in(list(self.senders))
        else:
            which = AlertDelivery.destination == destination
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(
                    AlertDelivery.id,
                    AlertDelivery.state,
                    AlertDelivery.next_attempt_at,
                    AlertDelivery.destination,
                )
                .where(
                    and_(
                        which,
                        or_(AlertDelivery.state == "pending", AlertDelivery.state == "sending"),
                        AlertDelivery.next_attempt_at <= now,
                    )
                )
                .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
                .limit(self.batch_size)
            ).all()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def _claim(
        self, delivery_id: int, state: str, due: datetime, now: datetime
    ) -> tuple[AlertDelivery, Alert] | None:
        """Take the row (compare-and-set on its state and due time) and load what to send."""
        with self.store.engine.begin() as conn:
            res = conn.execute(
                update(AlertDelivery)
                .where(
                    and_(
                        AlertDelivery.id == delivery_id,
                        AlertDelivery.state == state,
                        AlertDelivery.next_attempt_at == due,
                    )
                )
                .values(
                    state="sending",
                    next_attempt_at=now + self.lease,
                    attempts=AlertDelivery.attempts + 1,
                )
            )
            if res.rowcount != 1:
                return None
            from sqlalchemy.orm import Session

            with Session(bind=conn) as session:
                delivery = session.get(AlertDelivery, delivery_id)
                assert delivery is not None
                alert = session.get(Alert, delivery.alert_id)
                session.expunge_all()
        if alert is None:
            self._finish(delivery_id, "failed", now, "alert deleted")
            return None
        return delivery, alert

    def _finish(
        self,
        delivery_id: int,
        state: str,
        now: datetime,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        remote_id: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state, "last_error": error}
        if state == "sent":
            values["sent_at"] = now
            values["remote_id"] = remote_id
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        with self.store.engine.begin() as conn:
            conn.execute(update(AlertDelivery).where(AlertDelivery.id == delivery_id).values(**values))

    # -- delivery ---------------------------------------------------------------------------------------

    def _backoff(self, attempts: int) -> timedelta:
        return min(self.max_backoff, self.base_backoff * int(2 ** min(30, max(0, attempts - 1))))

    async def run_once(self, now: datetime | None = None) -> int:
        """Deliver every row due at ``now``, each destination on its own; returns how many were sent.

        Destinations are served concurrently, so a slow or dead messenger holds up only its own rows.
        """
        now = now or self.clock()
        counts = await asyncio.gather(
            *(self.run_destination_once(dest, now) for dest in [*self.senders, None])
        )
        return sum(counts)

    async def run_destination_once(self, destination: str | None, now: datetime | None = None) -> int:
        """Deliver the rows due for one destination, in order (``None``: unconfigured ones, marked failed)."""
        now = now or self.clock()
        sent = 0
        for delivery_id, state, due, dest in await asyncio.to_thread(self._due, now, destination):
            if self._blocked_until.get(dest, now) > now:
                break  # the messenger asked us to wait: keep this destination's order
            claimed = await asyncio.to_thread(self._claim, delivery_id, state, due, now)
            if claimed is None:
                continue
            delivery, alert = claimed
            sent += await self._deliver(delivery, alert, now)
        if destination is not None and destination in self.senders:
            sent += await self._flush_groups(destination, now)
        return sent

    async def _deliver(self, delivery: AlertDelivery, alert: Alert, now: datetime) -> int:
        sender = self.senders.get(delivery.destination)
        if sender is None:
            await asyncio.to_thread(
                self._finish, delivery.id, "failed", now, f"no destination named {delivery.destination!r}"
            )
            return 0
        if alert.muted_until is not None and alert.muted_until > now:
            await asyncio.to_thread(self._finish, delivery.id, "suppressed", now, "alert muted")
            return 0
        if self.groups.applies(str(getattr(sender, "kind", "")), alert):
            # A person reads this destination: the alert goes out with its group (alerts.grouping).
            await asyncio.to_thread(self.groups.join, delivery.id, alert, delivery.destination, now)
            return 0
        message = replace(AlertMessage.from_alert(alert, self.language), link=self.dashboard_url)
        reply_to = await asyncio.to_thread(self._thread_of, delivery) if message.is_update else None
        try:
            remote_id = await sender.send(self.client, message, delivery.idempotency_key, reply_to)
        except RateLimited as exc:
            if exc.retry_after is None:
                until = now + self._backoff(delivery.attempts)
            else:
                until = now + timedelta(seconds=exc.retry_after)
            self._blocked_until[delivery.destination] = until
            await asyncio.to_thread(self._finish, delivery.id, "pending", now, str(exc), until)
            log.warning("alert delivery to %s rate-limited for %s s", delivery.destination, exc.retry_after)
            return 0
        except PermanentDelivery as exc:
            await asyncio.to_thread(self._finish, delivery.id, "failed", now, str(exc))
            log.error("alert delivery to %s failed for good: %s", delivery.destination, exc)
            return 0
        except DeliveryError as exc:
            retry = now + self._backoff(delivery.attempts)
            await asyncio.to_thread(self._finish, delivery.id, "pending", now, str(exc), retry)
            log.warning("alert delivery to %s failed, retrying at %s: %s", delivery.destination, retry, exc)
            return 0
        except Exception as exc:  # a sender bug must not stop the outbox; the row retries with back-off
            text = scrub(f"{type(exc).__name__}: {exc}", self._secrets)
            retry = now + self._backoff(delivery.attempts)
            await asyncio.to_thread(self._finish, delivery.id, "pending", now, text, retry)
            log.error("alert delivery to %s crashed: %s", delivery.destination, text)
            return 0
        await asyncio.to_thread(self._finish, delivery.id, "sent", now, None, None, remote_id)
        return 1

    # -- groups (alerts.grouping) -----------------------------------------------------------------------

    def _actions(self, alert_ids: Sequence[int]) -> list[AlertAction]:
        from sqlalchemy.orm import Session

        with Session(self.store.engine) as session:
            rows = list(
                session.scalars(
                    select(AlertAction)
                    .where(AlertAction.alert_id.in_(list(alert_ids)))
                    .order_by(AlertAction.id)
                )
            )
            session.expunge_all()
        return rows

    async def _flush_groups(self, destination: str, now: datetime) -> int:
        """Send or edit every due group of ``destination``; returns the messages and edits made."""
        sent = 0
        for group_id in await asyncio.to_thread(self.groups.due, destination, now):
            if self._blocked_until.get(destination, now) > now:
                break
            flush = await asyncio.to_thread(self.groups.claim, group_id, now)
            if flush is not None:
                sent += await self._flush(flush, now)
        return sent

    async def _flush(self, flush: Flush, now: datetime) -> int:
        sender = self.senders[flush.destination]
        shown = tuple(a for a in flush.alerts if a.muted_until is None or a.muted_until <= now)
        if not shown:
            await asyncio.to_thread(self.groups.finish, flush, now, None, "suppressed", "alert muted")
            return 0
        actions = await asyncio.to_thread(self._actions, [a.id for a in shown])
        message = group_message(
            shown,
            self.language,
            now=now,
            top_limit=self.settings.top_mentions,
            number=flush.number,
            link=self.dashboard_url,
            actions=actions,
            tz=self.timezone,
        )
        edit = getattr(sender, "edit", None)
        key = f"group-{flush.group_id}-{flush.number}-{flush.destination}"
        try:
            if not flush.new_message and flush.remote_id is not None and edit is not None:
                try:
                    await edit(self.client, message, flush.remote_id)
                    remote_id: str | None = flush.remote_id
                except PermanentDelivery:  # the message was deleted or is too old to edit: follow up
                    remote_id = await sender.send(self.client, message, key, flush.remote_id)
                    flush = replace(flush, new_message=True)  # later edits go to the follow-up
            else:
                remote_id = await sender.send(self.client, message, key, flush.remote_id)
        except RateLimited as exc:
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else self.base_backoff
            self._blocked_until[flush.destination] = now + wait
            await asyncio.to_thread(self.groups.retry, flush, now + wait, str(exc))
            return 0
        except PermanentDelivery as exc:
            await asyncio.to_thread(self.groups.finish, flush, now, None, "failed", str(exc))
            log.error("alert group delivery to %s failed for good: %s", flush.destination, exc)
            return 0
        except Exception as exc:  # network, 5xx, or a sender bug: the flush is retried with back-off
            text = scrub(f"{type(exc).__name__}: {exc}", self._secrets)
            await asyncio.to_thread(self.groups.retry, flush, now + self.base_backoff, text)
            log.warning("alert group delivery to %s failed, retrying: %s", flush.destination, text)
            return 0
        muted = [a.id for a in flush.alerts if a not in shown]
        await asyncio.to_thread(partial(self.groups.finish, flush, now, remote_id, muted=muted))
        return 1

    def _thread_of(self, delivery: AlertDelivery) -> str | None:
        """The messenger id of the first message sent for this alert to this destination."""
        with self.store.engine.connect() as conn:
            return conn.execute(
                select(AlertDelivery.remote_id)
                .where(
                    and_(
                        AlertDelivery.alert_id == delivery.alert_id,
                        AlertDelivery.destination == delivery.destination,
                        AlertDelivery.state == "sent",
                        AlertDelivery.remote_id.is_not(None),
                    )
                )
                .order_by(AlertDelivery.alert_version, AlertDelivery.id)
                .limit(1)
            ).scalar_one_or_none()

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Deliver until ``stop_event`` is set: one worker per destination, each making a pass every
        ``poll_interval`` seconds or on :meth:`wake`, so one messenger's slowness never delays another's."""
        workers = [
            asyncio.create_task(self._worker(dest, stop_event), name=f"outbox:{dest}")
            for dest in [*self.senders, None]
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self, destination: str | None, stop_event: asyncio.Event) -> None:
        wake = asyncio.Event()
        self._wakes.append(wake)
        while not stop_event.is_set():
            try:
                await self.run_destination_once(destination, self.clock())
            except Exception:  # the database may be briefly locked or gone; try again next pass
                log.exception("outbox pass for %s failed", destination or "unconfigured destinations")
            wake.clear()
            stopper = asyncio.ensure_future(stop_event.wait())
            waker = asyncio.ensure_future(wake.wait())
            try:
                await asyncio.wait(
                    {stopper, waker}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                stopper.cancel()
                waker.cancel()
