"""``loyalty-monitor worker``: any number of processes on any number of machines sharing one PostgreSQL.

None of them is special; each takes the roles it is given (all four by default) and the database decides
who does what:

- **collect**: each (source, query) poll is a pgqueuer job with a dedupe key, so one worker at a time holds
  it; the job's heartbeat is the lease (a killed worker's poll is picked up again once its heartbeat is
  ``poll_lease_s`` old, and resumes from the cursor the last committed page stored). Every worker's
  planner queues the next poll one ``poll_interval_s`` after the last one finished; the dedupe key makes
  the N planners' enqueues one job. Requests go through the shared limiter of
  :mod:`storage.coordination`, so a token's rate holds across all workers.
- **tag**: batches of untagged mentions claimed with ``FOR UPDATE SKIP LOCKED`` and labelled inside that
  transaction (:func:`storage.coordination.tag_batch`); a worker may run another model (``--model``),
  and ``mention_brands.model_version`` records which model labelled each link.
- **alerts**: the one worker holding the leader lease (an advisory lock) runs the alert engine: the
  per-mention rules on what tag workers queued in ``alert_pending``, the time rules every minute, the
  scheduled digest. Another worker takes over within ``leader_retry_s`` of the leader's death.
- **deliver**: the outbox dispatcher as ``run`` uses it; its claims are compare-and-set updates, so any
  number of dispatchers deliver each row once.

SIGTERM (or SIGINT) lets each role finish what it holds (the tag batch, the poll, the delivery), releases
the leases and ends with exit code 0. A database that goes away is waited for: each loop retries with a
back-off and reconnects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from core.clock import now_utc
from core.scrub import install_log_scrubbing, scrub
from loyalty_monitor.config import Config, ConfigError, register_config_secrets
from loyalty_monitor.pipeline import install_stop_signals
from storage import coordination
from storage.store import Store

__all__ = [
    "POLL_ENTRYPOINT",
    "ROLES",
    "Worker",
    "WorkerSettings",
    "WorkerStats",
    "parse_roles",
    "require_postgres",
    "run_worker",
    "workers_report",
]

log = logging.getLogger(__name__)

ROLES = ("collect", "tag", "alerts", "deliver")
#: The pgqueuer entrypoint of one (source, query) poll.
POLL_ENTRYPOINT = "loyalty_poll"
#: Session advisory lock taken while a worker migrates the schema, so N workers starting at once migrate once.
_MIGRATE_KEY = 0x10A1_7011


def parse_roles(value: str | None) -> tuple[str, ...]:
    """``collect,tag`` -> ``("collect", "tag")``; empty means all; an unknown role is a ConfigError."""
    if not value:
        return ROLES
    roles = tuple(dict.fromkeys(r.strip() for r in value.split(",") if r.strip()))
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise ConfigError(
            f"--roles: unknown role {bad[0] if bad else value!r}; choose from {', '.join(ROLES)}"
        )
    return roles


def require_postgres(config: Config) -> None:
    """Workers coordinate through PostgreSQL; on SQLite, say so in one line."""
    if not config.storage.url.startswith("postgresql"):
        raise ConfigError(
            "storage.url: workers need PostgreSQL (postgresql+psycopg://...); "
            "`loyalty-monitor run` is the one-process mode and works on SQLite"
        )


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Timings of the coordination (the defaults suit production; tests and the bench shorten them)."""

    heartbeat_s: float = 5.0
    poll_lease_s: float = 30.0
    leader_retry_s: float = 5.0
    planner_s: float = 2.0
    idle_s: float = 0.5
    max_backoff_s: float = 30.0


@dataclass(slots=True)
class WorkerStats:
    """What one worker did, for the line it ends with."""

    tagged: int = 0
    linked: int = 0
    batches: int = 0
    polls: int = 0
    evaluated: int = 0
    delivered: int = 0
    errors: list[str] = field(default_factory=list)


class _OneQuery:
    """A collector seen through one of its queries, so :func:`collectors.runner.poll_source` polls just it."""

    def __init__(self, collector: Any, query: str) -> None:
        self._collector = collector
        self._query = query
        self.settings = getattr(collector, "settings", None)

    def queries(self, brand_terms: list[str]) -> list[str]:
        return [self._query]

    def fetch(self, query: str, cursor: str | None, since: datetime | None) -> AsyncIterator[Any]:
        result: AsyncIterator[Any] = self._collector.fetch(query, cursor, since)
        return result


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stop``."""
    try:
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))
    except TimeoutError:
        pass


def _one_line(exc: BaseException) -> str:
    lines = scrub(f"{type(exc).__name__}: {exc}").splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


class Worker:
    """One worker process's roles over one store; :meth:`run` until ``stop`` is set."""

    def __init__(
        self,
        config: Config,
        roles: Sequence[str] = ROLES,
        *,
        model_spec: str | None = None,
        settings: WorkerSettings | None = None,
    ) -> None:
        require_postgres(config)
        self.config = config
        self.roles = tuple(roles)
        self.model_spec = model_spec or config.sentiment.model
        self.settings = settings or WorkerSettings()
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stats = WorkerStats()
        self.leader = False
        self.polling: set[str] = set()
        self.store: Store | None = None

    # -- start and stop ------------------------------------------------------------------------------

    def _open_store(self) -> Store:
        """Open the store, migrating under an advisory lock: workers starting together migrate once."""
        from sqlalchemy import text

        from storage import migrate

        store = Store.open(self.config.storage.url, migrate_schema=False)
        with store.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATE_KEY})
            try:
                migrate.upgrade(store.engine)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATE_KEY})
                conn.commit()
        return store

    async def run(self, stop: asyncio.Event) -> WorkerStats:
        """Run every role until ``stop``; each finishes what it holds, then the leases are released."""
        senders = None
        if "deliver" in self.roles and self.config.alerts.enabled:
            from alerts.senders import build_senders

            try:  # before the model loads: a destination without its secret fails at once, in one line
                senders = build_senders(self.config.alerts)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        store = self.store = await asyncio.to_thread(self._open_store)
        model = None
        if "tag" in self.roles:
            from sentiment import load_model

            model = await asyncio.to_thread(
                load_model, self.model_spec, model_dir=Path(self.config.sentiment.model_dir)
            )
        host = socket.gethostname()
        await asyncio.to_thread(
            coordination.register_worker,
            store.engine,
            self.id,
            host,
            os.getpid(),
            ",".join(self.roles),
            self.model_spec if "tag" in self.roles else None,
        )
        log.warning("worker %s started: roles %s", self.id, ",".join(self.roles))
        tasks: list[asyncio.Task[Any]] = []
        beat_stop = asyncio.Event()
        try:
            if "tag" in self.roles and model is not None:
                tasks.append(asyncio.create_task(self._tag_loop(stop, model), name="tag"))
            if "alerts" in self.roles and self.config.alerts.enabled:
                tasks.append(asyncio.create_task(self._alerts_loop(stop), name="alerts"))
            if "deliver" in self.roles and self.config.alerts.enabled:
                tasks.append(asyncio.create_task(self._deliver_loop(stop, senders), name="deliver"))
            if "collect" in self.roles:
                tasks.append(asyncio.create_task(self._collect_loop(stop), name="collect"))
            heart = asyncio.create_task(self._heartbeat_loop(beat_stop), name="heartbeat")
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for task, result in zip(tasks, results, strict=True):
                if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                    log.error("role %s stopped: %s", task.get_name(), _one_line(result), exc_info=result)
                    self.stats.errors.append(f"{task.get_name()}: {_one_line(result)}")
            beat_stop.set()
            await heart
        finally:
            for task in tasks:
                task.cancel()
            try:
                await asyncio.to_thread(coordination.deregister_worker, store.engine, self.id)
            except Exception as exc:
                log.warning("could not remove worker row: %s", _one_line(exc))
            store.close()
        return self.stats

    async def _retrying(self, name: str, stop: asyncio.Event, step: Callable[[], Awaitable[float]]) -> None:
        """Call ``step`` until ``stop``; it returns how long to pause. Failures back off and are retried:
        a database restart is waited out here, and the engine's pre-ping reconnects."""
        failures = 0
        while not stop.is_set():
            try:
                pause = await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                pause = min(self.settings.max_backoff_s, 0.5 * 2 ** min(failures, 10))
                log.warning(
                    "%s failed (%d in a row), retrying in %.1f s: %s", name, failures, pause, _one_line(exc)
                )
            else:
                if failures:
                    log.warning("%s works again after %d failures", name, failures)
                failures = 0
            await _pause(stop, pause)

    async def _heartbeat_loop(self, stop: asyncio.Event) -> None:
        assert self.store is not None
        engine = self.store.engine

        async def step() -> float:
            leases = {"leader": self.leader, "polls": sorted(self.polling)}
            await asyncio.to_thread(coordination.beat, engine, self.id, leases)
            return self.settings.heartbeat_s

        await self._retrying("heartbeat", stop, step)

    # -- tag -----------------------------------------------------------------------------------------

    async def _tag_loop(self, stop: asyncio.Event, model: Any) -> None:
        from loyalty_monitor.tagging import Tagger

        assert self.store is not None
        engine = self.store.engine
        tagger = Tagger(self.config.brands, model, batch_size=self.config.sentiment.batch_size)
        size = self.config.pipeline.tag_batch_size
        queue_alerts = self.config.alerts.enabled

        async def step() -> float:
            # Not cancellable once started: SIGTERM waits for the batch to be labelled and committed.
            batch = await asyncio.to_thread(
                coordination.tag_batch, engine, size, tagger.tag, queue_alerts=queue_alerts
            )
            if not batch.tagged:
                return self.settings.idle_s
            self.stats.batches += 1
            self.stats.tagged += batch.tagged
            self.stats.linked += batch.linked
            return 0.0

        await self._retrying("tagging", stop, step)

    # -- alerts --------------------------------------------------------------------------------------

    async def _alerts_loop(self, stop: asyncio.Event) -> None:
        from alerts.engine import AlertEngine
        from loyalty_monitor.service import queue_scheduled_digest

        assert self.store is not None
        store = self.store
        engine = AlertEngine(store, self.config.alerts, self.config.alert_brands())
        lease = coordination.AdvisoryLease(store.engine)
        last_periodic: list[datetime] = []

        async def step() -> float:
            got = await asyncio.to_thread(lease.try_acquire)
            if got != self.leader:
                log.warning("worker %s %s the alert leader lease", self.id, "holds" if got else "lost")
            self.leader = got
            if not got:
                return self.settings.leader_retry_s
            ids = await asyncio.to_thread(coordination.take_alert_pending, store.engine, 500)
            if ids:
                await asyncio.to_thread(engine.evaluate, ids, now_utc())
                await asyncio.to_thread(coordination.done_alert_pending, store.engine, ids)
                self.stats.evaluated += len(ids)
            now = now_utc()
            if not last_periodic or now - last_periodic[0] >= timedelta(seconds=60):
                await asyncio.to_thread(engine.evaluate_periodic, now)
                if self.config.digest.schedule is not None:
                    await asyncio.to_thread(queue_scheduled_digest, self.config, store, now)
                await asyncio.to_thread(coordination.prune_job_log, store.engine)
                last_periodic[:] = [now]
            return 0.0 if ids else self.settings.idle_s

        try:
            await self._retrying("alert engine", stop, step)
        finally:
            await asyncio.to_thread(lease.release)
            self.leader = False

    # -- deliver -------------------------------------------------------------------------------------

    async def _deliver_loop(self, stop: asyncio.Event, senders: Any) -> None:
        import httpx

        from alerts.outbox import OutboxDispatcher

        assert self.store is not None
        async with httpx.AsyncClient(timeout=20.0) as client:
            dispatcher = OutboxDispatcher(
                self.store, self.config.alerts, client, language=self.config.display.language, senders=senders
            )
            original = dispatcher.run_destination_once

            async def counted(destination: str | None, now: datetime | None = None) -> int:
                sent = await original(destination, now)
                self.stats.delivered += sent
                return sent

            dispatcher.run_destination_once = counted  # type: ignore[method-assign]
            await dispatcher.run_forever(stop)

    # -- collect -------------------------------------------------------------------------------------

    def _dsn(self) -> str:
        from sqlalchemy.engine import make_url

        return (
            make_url(self.config.storage.url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )

    async def _collect_loop(self, stop: asyncio.Event) -> None:
        from collectors.http import use_shared_throttlers

        assert self.store is not None
        engine = self.store.engine
        use_shared_throttlers(
            lambda source, fingerprint, rate, period: coordination.SharedThrottler(
                engine, f"{source}:{fingerprint}", rate, period
            )
        )
        try:
            await self._retrying("collect", stop, lambda: self._collect_session(stop))
        finally:
            use_shared_throttlers(None)

    async def _collect_session(self, stop: asyncio.Event) -> float:
        """One pgqueuer session: install its schema if needed, plan polls and run them until ``stop``."""
        import psycopg
        from pgqueuer import Job, Queries, QueueManager

        from collectors.http import make_client
        from collectors.registry import collector_class
        from collectors.runner import build_collector
        from loyalty_monitor.service import _brand_terms

        sources = {n: s for n, s in self.config.sources.items() if s.enabled}
        terms = _brand_terms(self.config)
        async with AsyncExitStack() as stack:
            conn = await psycopg.AsyncConnection.connect(self._dsn(), autocommit=True)
            stack.push_async_callback(conn.close)
            plan_conn = await psycopg.AsyncConnection.connect(self._dsn(), autocommit=True)
            stack.push_async_callback(plan_conn.close)
            queries = Queries.from_psycopg_connection(conn)
            async with queries.schema_lock():
                if not await queries.schema_is_installed():
                    await queries.install()
            collectors: dict[str, Any] = {}
            for name, settings in sources.items():
                client = await stack.enter_async_context(make_client(settings))
                collectors[name] = build_collector(collector_class(name), settings, client, None)
            qm = QueueManager(queries)

            @qm.entrypoint(POLL_ENTRYPOINT)
            async def poll(job: Job) -> None:
                await self._poll(job, collectors, terms)

            planner = asyncio.create_task(
                self._plan(Queries.from_psycopg_connection(plan_conn), collectors, terms, stop)
            )
            stopper = asyncio.create_task(stop.wait())
            stopper.add_done_callback(lambda _: qm.shutdown.set())
            try:
                await qm.run(
                    dequeue_timeout=timedelta(seconds=self.settings.planner_s),
                    batch_size=2,
                    heartbeat_timeout=timedelta(seconds=self.settings.poll_lease_s),
                )
            finally:
                stopper.cancel()
                planner.cancel()
                await asyncio.gather(stopper, planner, return_exceptions=True)
        return 0.0

    async def _plan(
        self, queries: Any, collectors: dict[str, Any], terms: list[str], stop: asyncio.Event
    ) -> None:
        """Queue each (source, query)'s next poll for one interval after its last; duplicates are skipped."""
        assert self.store is not None
        engine = self.store.engine

        async def step() -> float:
            last = await asyncio.to_thread(coordination.last_polled, engine)
            now = now_utc()
            for name, collector in collectors.items():
                interval = timedelta(seconds=collector.settings.poll_interval_s)
                for query in collector.queries(terms):
                    previous = last.get((name, query))
                    delay = timedelta(0) if previous is None else max(timedelta(0), previous + interval - now)
                    await queries.enqueue(
                        POLL_ENTRYPOINT,
                        json.dumps({"source": name, "query": query}).encode(),
                        execute_after=delay,
                        dedupe_key=f"poll:{name}:{query}",
                        on_conflict="skip",
                    )
            return self.settings.planner_s

        await self._retrying("poll planner", stop, step)

    async def _poll(self, job: Any, collectors: dict[str, Any], terms: list[str]) -> None:
        from collectors.base import Collector
        from collectors.runner import poll_source

        assert self.store is not None
        data = json.loads(job.payload or b"{}")
        name, query = str(data.get("source")), str(data.get("query"))
        collector = collectors.get(name)
        if collector is None:  # a source this worker's config does not enable: another worker's job
            return
        key = f"{name}:{query}"
        self.polling.add(key)
        try:
            await poll_source(name, cast(Collector, _OneQuery(collector, query)), self.store, terms, None)
            self.stats.polls += 1
        finally:
            self.polling.discard(key)
            await asyncio.to_thread(coordination.mark_polled, self.store.engine, name, query)


async def run_worker(
    config: Config,
    roles: Sequence[str] = ROLES,
    *,
    model_spec: str | None = None,
    settings: WorkerSettings | None = None,
) -> WorkerStats:
    """``loyalty-monitor worker``: run until SIGINT/SIGTERM."""
    register_config_secrets(config)
    install_log_scrubbing()
    worker = Worker(config, roles, model_spec=model_spec, settings=settings)
    stop = asyncio.Event()
    install_stop_signals(stop)
    return await worker.run(stop)


def workers_report(store: Store) -> list[str]:
    """The ``status`` lines about workers: who is alive, their roles and leases, and the lag."""
    if store.dialect != "postgresql":
        return []
    now = now_utc()
    lines = ["workers:"]
    live = coordination.live_workers(store.engine)
    if not live:
        lines.append("  (none alive)")
    for w in live:
        leases = w.leases or {}
        held = []
        if leases.get("leader"):
            held.append("alert leader")
        held.extend(f"poll {p}" for p in leases.get("polls", []))
        age = int((now - w.beat_at).total_seconds())
        model = f" model {w.model}" if w.model else ""
        # A poll's query may be a feed URL with a key in it: scrubbed like every other status line.
        leased = ", ".join(held) or "none"
        lines.append(scrub(f"  {w.id:<28} roles {w.roles:<26}{model} beat {age}s ago; leases: {leased}"))
    lag = coordination.lag(store.engine)
    oldest = (
        "none"
        if lag.oldest_untagged_at is None
        else f"{int((now - lag.oldest_untagged_at).total_seconds())}s old"
    )
    jobs = "n/a" if lag.poll_jobs is None else str(lag.poll_jobs)
    lines.append(
        f"lag: {lag.untagged} untagged (oldest {oldest}), {lag.alert_pending} waiting for the alert rules, "
        f"{lag.outbox_pending} in the outbox, {jobs} poll jobs queued or running"
    )
    return lines
