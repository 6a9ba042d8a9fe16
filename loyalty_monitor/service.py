"""Wiring: what the CLI commands do, built from config, storage, the model, collectors and alerts.

Each function here is one user-facing job (monitor, import, export, status), kept out of the click layer so
tests and the demo call the same code the commands run.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerts.digest import Digest
from core.clock import now_utc
from core.mention import Mention
from core.scrub import install_log_scrubbing, scrub
from loyalty_index.themes import Theme
from loyalty_monitor.config import Config, ConfigError, register_config_secrets
from loyalty_monitor.pipeline import AfterTag, Pipeline, PipelineStats, install_stop_signals
from loyalty_monitor.tagging import Hint, Tagger
from sentiment.base import SentimentModel
from storage.export import MENTION_COLUMNS, mention_rows
from storage.store import Store

if TYPE_CHECKING:
    from alerts.telegram_bot import TelegramActions

__all__ = [
    "THEME_DAYS",
    "ImportReport",
    "brand_themes_for",
    "build_digest_for",
    "build_pipeline",
    "export_rows",
    "import_file",
    "load_sentiment",
    "open_store",
    "queue_scheduled_digest",
    "run_monitor",
    "run_periodic",
    "send_digest",
    "status_report",
    "telegram_actions",
]

#: Prefix of the health rows the service's own periodic tasks record (``status`` lists them as tasks).
TASK_PREFIX = "task:"

log = logging.getLogger(__name__)


def open_store(config: Config) -> Store:
    """Open (and migrate) the configured database."""
    return Store.open(config.storage.url)


def load_sentiment(config: Config) -> SentimentModel:
    """Load the configured model; a model that cannot load stops start-up with the loader's message."""
    from sentiment import load_model

    return load_model(config.sentiment.model, model_dir=Path(config.sentiment.model_dir))


def build_pipeline(
    config: Config,
    store: Store,
    model: SentimentModel | None = None,
    after_tag: Sequence[AfterTag] = (),
    clock: Any = None,
) -> Pipeline:
    """A pipeline with the configured brands, model and batch sizes."""
    tagger = Tagger(config.brands, model or load_sentiment(config), batch_size=config.sentiment.batch_size)
    kwargs: dict[str, Any] = {}
    if clock is not None:
        kwargs["clock"] = clock
    return Pipeline(
        store,
        tagger,
        queue_size=config.pipeline.queue_size,
        batch_size=config.pipeline.tag_batch_size,
        flush_interval_s=config.pipeline.flush_interval_s,
        after_tag=after_tag,
        **kwargs,
    )


THEME_DAYS = 7
"""The period ``export themes`` and the digest read when no ``--since`` is given: the last week."""


def brand_themes_for(
    config: Config, store: Store, brands: Sequence[str], since: datetime, until: datetime
) -> list[Theme]:
    """Themes of each configured brand (or of ``brands``), the configured order kept.

    Every configured name and alias is left out of the theme words, so a theme about cashback is not named
    after the competitor people compare with.
    """
    from loyalty_index.themes import brand_themes

    terms = _brand_terms(config)
    wanted = set(brands)
    out: list[Theme] = []
    for brand in config.brands:
        if not wanted or brand.name in wanted:
            out.extend(brand_themes(store, brand.name, since, until, stop_terms=terms))
    return out


def build_digest_for(
    config: Config, store: Store, *, since: datetime | None = None, until: datetime | None = None
) -> Digest:
    """The digest of every configured brand up to ``until`` (now), over [since, until) (default: a day)."""
    from alerts.digest import build_digest

    end = until or now_utc()
    return build_digest(
        store,
        [(b.name, b.own) for b in config.brands],
        end,
        config.display.timezone,
        since=since,
        stop_terms=_brand_terms(config),
    )


def send_digest(config: Config, digest: Digest, *, daily: bool = True) -> list[str] | None:
    """Queue ``digest`` for the digest's destinations and deliver what is due; ``None`` if sent already.

    Stored once per period (the local day for a daily digest), so a restart or a second call sends
    nothing twice; a messenger that is down gets it from the outbox's retries (``run``).
    """
    import httpx

    from alerts.digest import digest_key, enqueue_digest
    from alerts.outbox import OutboxDispatcher

    targets = config.digest.targets(config.alerts)
    store = open_store(config)
    try:
        stored = enqueue_digest(store, digest, targets, now_utc(), key=digest_key(digest, daily=daily))
        if stored is None:
            return None

        async def deliver() -> None:
            async with httpx.AsyncClient(timeout=20.0) as client:
                dispatcher = OutboxDispatcher(store, config.alerts, client, language=config.display.language)
                await dispatcher.run_once(now_utc())

        asyncio.run(deliver())
        return targets
    finally:
        store.close()


def queue_scheduled_digest(config: Config, store: Store, now: datetime) -> int | None:
    """Store and queue today's digest once ``[digest] schedule`` has passed in the display zone.

    Returns the stored digest's id, or ``None`` when there is no schedule, it is not time yet, or today's
    digest is stored already (so ``run`` can ask every minute, and a restart after 09:00 sends nothing
    twice). The digest covers the day up to the scheduled time, whenever the call comes.
    """
    from zoneinfo import ZoneInfo

    from alerts.digest import digest_stored, enqueue_digest

    if config.digest.schedule is None:
        return None
    local = now.astimezone(ZoneInfo(config.display.timezone))
    hour, minute = (int(part) for part in config.digest.schedule.split(":"))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if local < due:
        return None
    key = f"digest:{due.date().isoformat()}"
    if digest_stored(store, key):  # checked before building: `run` asks every minute
        return None
    digest = build_digest_for(config, store, until=due.astimezone(UTC))
    return enqueue_digest(store, digest, config.digest.targets(config.alerts), now, key=key)


def _brand_terms(config: Config) -> list[str]:
    terms: dict[str, None] = {}
    for brand in config.brands:
        for name in brand.all_names():
            terms.setdefault(name, None)
    return list(terms)


async def run_monitor(config: Config, *, once: bool = False, since: datetime | None = None) -> PipelineStats:
    """Collect from every enabled source, tag, store and alert; until a signal, or one round with ``once``."""
    import httpx

    from alerts.engine import AlertEngine
    from alerts.outbox import OutboxDispatcher
    from alerts.senders import Sender, build_senders
    from collectors.refresh import EngagementRefresher, RefreshPolicy
    from collectors.runner import collect_once

    register_config_secrets(config)
    install_log_scrubbing()
    senders: dict[str, Sender] | None = None
    if config.alerts.enabled:
        # Before the model loads: a destination without its secret fails start-up in one line, at once.
        try:
            senders = build_senders(config.alerts)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    store = open_store(config)
    engine = AlertEngine(store, config.alerts, config.alert_brands()) if config.alerts.enabled else None
    # Cases first: the SLA rule and the queue read them; then the alert rules.
    tracker = config.response_tracker(store)
    pipeline = build_pipeline(
        config, store, after_tag=[tracker.after_tag, *([engine.evaluate] if engine else [])]
    )
    await pipeline.start()
    terms = _brand_terms(config)
    stop = asyncio.Event()
    install_stop_signals(stop)
    sources = {name: s for name, s in config.sources.items() if s.enabled}

    async with httpx.AsyncClient(timeout=20.0) as client:
        dispatcher = (
            OutboxDispatcher(
                store,
                config.alerts,
                client,
                language=config.display.language,
                senders=senders,
                dashboard_url=config.dashboard.public_url,
                timezone=config.display.timezone,
            )
            if engine
            else None
        )
        if once:
            await collect_once(sources, store, terms, pipeline.submit, since=since)
            await pipeline.stop()
            tracker.sync(now_utc())
            if engine is not None and dispatcher is not None:
                engine.evaluate_periodic(now_utc())
                await dispatcher.run_once(now_utc())
            store.close()
            return pipeline.stats

        async def poll(name: str) -> None:
            first_since = since
            while not stop.is_set():
                await collect_once({name: sources[name]}, store, terms, pipeline.submit, since=first_since)
                first_since = None
                try:
                    await asyncio.wait_for(stop.wait(), sources[name].poll_interval_s)
                except TimeoutError:
                    pass

        async def periodic() -> None:
            evaluate = engine.evaluate_periodic if engine is not None else None

            def step() -> None:
                tracker.sync(now_utc())  # replies found or lost, urgency; before the SLA rule reads cases
                if evaluate is not None:
                    evaluate(now_utc())

            await run_periodic("alert-rules", lambda: asyncio.to_thread(step), 60.0, stop, store)

        async def refresh() -> None:
            refresher = EngagementRefresher(
                store,
                RefreshPolicy(
                    window_h=config.pipeline.refresh_window_h, every_min=config.pipeline.refresh_every_min
                ),
            )
            await run_periodic(
                "engagement-refresh",
                lambda: refresher.refresh_sources(sources),
                min(60.0, config.pipeline.refresh_every_min * 60),
                stop,
                store,
            )

        async def digest(outbox: OutboxDispatcher) -> None:
            async def step() -> None:
                if await asyncio.to_thread(queue_scheduled_digest, config, store, now_utc()) is not None:
                    outbox.wake()

            await run_periodic("digest", step, 60.0, stop, store)

        tasks = [asyncio.create_task(poll(n), name=f"poll:{n}") for n in sources]
        tasks.append(asyncio.create_task(periodic(), name="periodic"))
        if config.pipeline.refresh_window_h > 0:
            tasks.append(asyncio.create_task(refresh(), name="engagement-refresh"))
        if dispatcher is not None:
            tasks.append(asyncio.create_task(dispatcher.run_forever(stop), name="outbox"))
            if config.digest.schedule is not None:
                tasks.append(asyncio.create_task(digest(dispatcher), name="digest"))
            buttons = telegram_actions(config, store, client, dispatcher.senders)
            if buttons is not None:
                tasks.append(asyncio.create_task(buttons.run_forever(stop), name="telegram-buttons"))
        for t in tasks:
            t.add_done_callback(_report_crash)
        await stop.wait()
        for t in tasks:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        _log_task_errors(tasks, results)
        await pipeline.stop()
        if dispatcher is not None:
            await dispatcher.run_once(now_utc())
    store.close()
    return pipeline.stats


def telegram_actions(
    config: Config, store: Store, client: Any, senders: Mapping[str, Any]
) -> TelegramActions | None:
    """The bot that reads the alert buttons pressed in Telegram, when a Telegram destination exists."""
    from alerts.senders import TelegramSender
    from alerts.telegram_bot import TelegramActions

    if not any(isinstance(s, TelegramSender) for s in senders.values()):
        return None
    return TelegramActions(
        store,
        config.alerts,
        client,
        senders,
        language=config.display.language,
        timezone=config.display.timezone,
        dashboard_url=config.dashboard.public_url,
    )


_REPORTED: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def _report_crash(task: asyncio.Task[Any]) -> None:
    """A service task that ends on its own with an exception is logged the moment it happens."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        _REPORTED.add(task)
        log.error("task %s stopped: %s", task.get_name(), scrub(f"{type(exc).__name__}: {exc}"), exc_info=exc)


def _log_task_errors(tasks: Sequence[asyncio.Task[Any]], results: Sequence[Any]) -> None:
    """Exceptions the shutdown gathered (other than the cancellation it asked for) are logged, not lost."""
    for task, result in zip(tasks, results, strict=True):
        if task in _REPORTED:
            continue  # already logged when it happened
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error(
                "task %s failed during shutdown: %s",
                task.get_name(),
                scrub(f"{type(result).__name__}: {result}"),
                exc_info=result,
            )


async def run_periodic(
    name: str,
    step: Callable[[], Awaitable[Any]],
    interval_s: float,
    stop: asyncio.Event,
    store: Store,
    *,
    base_backoff_s: float = 5.0,
    max_backoff_s: float = 300.0,
) -> None:
    """Run ``step`` every ``interval_s`` seconds until ``stop``; a failure is logged, recorded for
    ``status`` (health row ``task:<name>``) and retried after an exponential back-off, never fatal.

    Why: the alert rules run here; one database error must not silence them for the rest of the run.
    """
    failures = 0
    while not stop.is_set():
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            delay = min(max_backoff_s, base_backoff_s * 2 ** min(failures - 1, 30))
            message = _one_line(exc)
            log.error("%s failed (%d in a row), retrying in %.0f s: %s", name, failures, delay, message)
            await _record_task(store, name, message)
        else:
            if failures:
                log.warning("%s works again after %d failures", name, failures)
                await _record_task(store, name, None)
            failures = 0
            delay = interval_s
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, scrubbed and short: what status and the log show."""
    lines = scrub(f"{type(exc).__name__}: {exc}").splitlines()
    return (lines[0] if lines else type(exc).__name__)[:500]


async def _record_task(store: Store, name: str, error: str | None) -> None:
    try:
        if error is None:
            await asyncio.to_thread(store.record_success, TASK_PREFIX + name)
        else:
            await asyncio.to_thread(store.record_failure, TASK_PREFIX + name, error)
    except Exception as exc:  # the database may be what is failing; the log line above still says it
        log.warning("could not record the state of %s: %s", name, scrub(f"{type(exc).__name__}: {exc}"))


@dataclass(slots=True)
class ImportReport:
    """What an import did: new mentions, ones already stored, and bad rows (``line N: reason``)."""

    new: int = 0
    seen: int = 0
    errors: list[str] = field(default_factory=list)


async def import_file(config: Config, path: Path, *, model: SentimentModel | None = None) -> ImportReport:
    """Import a CSV/JSONL file in batches: good rows are stored and tagged, bad rows reported by line.

    The file is checked before anything loads (an ``.xlsx`` fails at once with
    :class:`~collectors.importer.ImportFileError`). A batch the database refuses is split until the row at
    fault is found: that row is reported, every other row is stored.
    """
    from collectors.importer import ImportRowError, check_import_file, parse_import
    from loyalty_monitor.labels import hint_for, label_source

    check_import_file(path)
    store = open_store(config)
    try:
        pipeline = build_pipeline(config, store, model)
        await pipeline.start()
        report = ImportReport()
        source = label_source(path.name)
        batch: list[tuple[int, Mention]] = []
        hints: dict[tuple[str, str], Sequence[Hint]] = {}
        for line_no, item in parse_import(path):
            if isinstance(item, ImportRowError):
                report.errors.append(str(item))
                continue
            hint, error = hint_for(line_no, item, pipeline.tagger, source)
            if error is not None:
                report.errors.append(str(error))
                continue
            if hint:
                hints[(item.source, item.external_id)] = hint
            batch.append((line_no, item))
            if len(batch) >= IMPORT_BATCH:
                await _store_batch(pipeline, store, batch, hints, report)
                batch, hints = [], {}
        if batch:
            await _store_batch(pipeline, store, batch, hints, report)
        await pipeline.stop()
    finally:
        store.close()
    report.errors.sort(key=_line_of)
    return report


async def _store_batch(
    pipeline: Pipeline,
    store: Store,
    batch: list[tuple[int, Mention]],
    hints: dict[tuple[str, str], Sequence[Hint]],
    report: ImportReport,
) -> None:
    """Store a batch; rows with a brand or label of their own are tagged here, the rest by the pipeline."""
    new = await asyncio.to_thread(_store_rows, store, batch, report)
    if not hints:
        await pipeline.submit(new)
        return
    keys = await asyncio.to_thread(store.keys_of, new)
    by_id = {i: hints[keys[i]] for i in new if keys.get(i) in hints}
    if by_id:
        pending = await asyncio.to_thread(store.pending_by_ids, sorted(by_id))
        tagged = await asyncio.to_thread(pipeline.tagger.tag, pending, by_id)
        await asyncio.to_thread(store.save_tags, tagged)
    await pipeline.submit([i for i in new if i not in by_id])


#: Rows stored per transaction by ``import``.
IMPORT_BATCH = 2000


def _store_rows(store: Store, rows: list[tuple[int, Mention]], report: ImportReport) -> list[int]:
    """Store ``rows``; when the database refuses the batch, halves are tried until the bad row is alone.

    A database that cannot be used at all (``OperationalError``: gone, locked, full) is raised, not
    blamed on a row.
    """
    from sqlalchemy.exc import OperationalError

    try:
        new = store.upsert_mentions([m for _, m in rows])
    except OperationalError:
        raise
    except Exception as exc:
        if len(rows) == 1:
            report.errors.append(f"line {rows[0][0]}: not stored: {_one_line(exc)}")
            return []
        mid = len(rows) // 2
        return _store_rows(store, rows[:mid], report) + _store_rows(store, rows[mid:], report)
    report.new += len(new)
    report.seen += len(rows) - len(new)
    return new


def _line_of(error: str) -> int:
    head = error.split(":", 1)[0]
    return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0


def export_rows(
    config: Config,
    what: str,
    brands: list[str],
    channels: list[str],
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[dict[str, Any]], Sequence[str]]:
    """Rows and columns for ``export mentions|index|alerts|corrections|themes|responses``."""
    store = open_store(config)
    tz = config.display.timezone
    try:
        if what == "mentions":
            rows = mention_rows(store, brands=brands, channels=channels, since=since, until=until, tz=tz)
            return rows, MENTION_COLUMNS
        if what == "index":
            from loyalty_index import INDEX_COLUMNS, index_table_rows

            rows = index_table_rows(
                store, brands=brands or None, channels=channels or None, since=since, until=until, tz=tz
            )
            return rows, INDEX_COLUMNS
        if what == "themes":
            from loyalty_index.themes import THEME_COLUMNS, theme_rows

            end = until or now_utc()
            start = since or end - timedelta(days=THEME_DAYS)
            return theme_rows(brand_themes_for(config, store, brands, start, end)), THEME_COLUMNS
        if what == "responses":
            from loyalty_index.responses import RESPONSE_COLUMNS, response_metrics

            rows = response_metrics(
                store, tz=tz, since=since, until=until, brands=brands or None, channels=channels or None
            )
            return rows, RESPONSE_COLUMNS
        if what == "corrections":
            # The team's own labels, in the format `loyalty-monitor sentiment train --data` reads.
            wanted = set(brands)
            rows = [
                {"text": text, "label": label, "target": target}
                for text, label, target in store.corrections()
                if not wanted or target in wanted
            ]
            return rows, ("text", "label", "target")
        from alerts.export import ALERT_COLUMNS, alert_rows

        rows = alert_rows(
            store, since=since, until=until, brands=brands or None, tz=tz, language=config.display.language
        )
        return rows, ALERT_COLUMNS
    finally:
        store.close()


def _workers_lines(store: Store) -> list[str]:
    """Live workers, their roles and leases, and the lag (PostgreSQL only; ``run`` has no workers)."""
    from loyalty_monitor.worker import workers_report

    return workers_report(store)


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    delta = now - when
    if delta < timedelta(minutes=1):
        return f"{int(delta.total_seconds())}s ago"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)}m ago"
    if delta < timedelta(days=2):
        return f"{delta.total_seconds() / 3600:.1f}h ago"
    return f"{delta.days}d ago"


def status_report(config: Config) -> str:
    """A plain-text status: totals, each source's health, and alert delivery state."""
    from alerts.export import delivery_summary

    register_config_secrets(config)
    store = open_store(config)
    now = now_utc()
    try:
        counts = store.counts()
        lines = [
            f"database: {store.dialect}",
            f"mentions: {counts['mentions']} ({counts['untagged']} waiting for tagging), "
            f"brand links: {counts['brand_links']}",
            "sources:",
        ]
        all_health = {h.source: h for h in store.source_health()}
        tasks = {k: h for k, h in all_health.items() if k.startswith(TASK_PREFIX)}
        health = {k: h for k, h in all_health.items() if k not in tasks}
        names = sorted(set(config.sources) | set(health))
        if not names:
            lines.append("  (none configured)")
        for name in names:
            h = health.get(name)
            enabled = config.sources[name].enabled if name in config.sources else False
            state = "disabled" if not enabled else "ok"
            if h is not None and h.auth_failed:
                state = "AUTH FAILED"
            elif h is not None and h.consecutive_failures:
                state = f"failing ({h.consecutive_failures} in a row)"
            last_ok = _ago(h.last_success_at if h else None, now)
            line = f"  {name:<12} {state:<22} last success {last_ok}"
            if h is not None and h.last_error:
                line += f"; last error {_ago(h.last_error_at, now)}: {scrub(h.last_error)}"
            lines.append(line)
        for key, h in sorted(tasks.items()):
            state = f"failing ({h.consecutive_failures} in a row)" if h.consecutive_failures else "ok"
            name = key[len(TASK_PREFIX) :]
            line = f"  task {name:<16} {state:<22} last success {_ago(h.last_success_at, now)}"
            if h.consecutive_failures and h.last_error:
                line += f"; last error {_ago(h.last_error_at, now)}: {scrub(h.last_error)}"
            lines.append(line)
        lines.append("alerts: " + scrub(delivery_summary(store)))
        lines.extend(_workers_lines(store))
        return "\n".join(lines)
    finally:
        store.close()
