"""Wiring: what the CLI commands do, built from config, storage, the model, collectors and alerts.

Each function here is one user-facing job (monitor, import, export, status), kept out of the click layer so
tests and the demo call the same code the commands run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.digest import Digest
from core.clock import now_utc
from loyalty_index.themes import Theme
from loyalty_monitor.config import Config
from loyalty_monitor.pipeline import AfterTag, Pipeline, PipelineStats, install_stop_signals
from loyalty_monitor.tagging import Tagger
from sentiment.base import SentimentModel
from storage.export import MENTION_COLUMNS, mention_rows
from storage.store import Store

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
    "run_monitor",
    "send_digest",
    "status_report",
]

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
    from collectors.refresh import EngagementRefresher, RefreshPolicy
    from collectors.runner import collect_once

    store = open_store(config)
    engine = AlertEngine(store, config.alerts, config.alert_brands()) if config.alerts.enabled else None
    pipeline = build_pipeline(config, store, after_tag=[engine.evaluate] if engine else [])
    await pipeline.start()
    terms = _brand_terms(config)
    stop = asyncio.Event()
    install_stop_signals(stop)
    sources = {name: s for name, s in config.sources.items() if s.enabled}

    async with httpx.AsyncClient(timeout=20.0) as client:
        dispatcher = (
            OutboxDispatcher(store, config.alerts, client, language=config.display.language)
            if engine
            else None
        )
        if once:
            await collect_once(sources, store, terms, pipeline.submit, since=since)
            await pipeline.stop()
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
            while not stop.is_set():
                if engine is not None:
                    await asyncio.to_thread(engine.evaluate_periodic, now_utc())
                try:
                    await asyncio.wait_for(stop.wait(), 60)
                except TimeoutError:
                    pass

        async def refresh() -> None:
            refresher = EngagementRefresher(
                store,
                RefreshPolicy(
                    window_h=config.pipeline.refresh_window_h, every_min=config.pipeline.refresh_every_min
                ),
            )
            while not stop.is_set():
                await refresher.refresh_sources(sources)
                try:
                    await asyncio.wait_for(stop.wait(), min(60.0, config.pipeline.refresh_every_min * 60))
                except TimeoutError:
                    pass

        tasks = [asyncio.create_task(poll(n), name=f"poll:{n}") for n in sources]
        tasks.append(asyncio.create_task(periodic(), name="periodic"))
        if config.pipeline.refresh_window_h > 0:
            tasks.append(asyncio.create_task(refresh(), name="engagement-refresh"))
        if dispatcher is not None:
            tasks.append(asyncio.create_task(dispatcher.run_forever(stop), name="outbox"))
        await stop.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pipeline.stop()
        if dispatcher is not None:
            await dispatcher.run_once(now_utc())
    store.close()
    return pipeline.stats


@dataclass(slots=True)
class ImportReport:
    """What an import did: new mentions, ones already stored, and bad rows (``line N: reason``)."""

    new: int = 0
    seen: int = 0
    errors: list[str] = field(default_factory=list)


async def import_file(config: Config, path: Path, *, model: SentimentModel | None = None) -> ImportReport:
    """Import a CSV/JSONL file in batches: good rows are stored and tagged, bad rows reported by line."""
    from collectors.importer import ImportRowError, parse_import

    store = open_store(config)
    pipeline = build_pipeline(config, store, model)
    await pipeline.start()
    report = ImportReport()
    batch = []
    for line_no, item in parse_import(path):
        if isinstance(item, ImportRowError):
            report.errors.append(f"line {line_no}: {item}")
            continue
        batch.append(item)
        if len(batch) >= 2000:
            new = await asyncio.to_thread(store.upsert_mentions, batch)
            report.new += len(new)
            report.seen += len(batch) - len(new)
            await pipeline.submit(new)
            batch = []
    if batch:
        new = await asyncio.to_thread(store.upsert_mentions, batch)
        report.new += len(new)
        report.seen += len(batch) - len(new)
        await pipeline.submit(new)
    await pipeline.stop()
    store.close()
    return report


def export_rows(
    config: Config,
    what: str,
    brands: list[str],
    channels: list[str],
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[dict[str, Any]], Sequence[str]]:
    """Rows and columns for ``export mentions|index|alerts|corrections|themes``."""
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
        health = {h.source: h for h in store.source_health()}
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
                line += f"; last error {_ago(h.last_error_at, now)}: {h.last_error}"
            lines.append(line)
        lines.append("alerts: " + delivery_summary(store))
        return "\n".join(lines)
    finally:
        store.close()
