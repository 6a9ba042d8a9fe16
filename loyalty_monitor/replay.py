"""The demo: build a demo config and database, replay the synthetic stream through the real pipeline.

History (30 days) is replayed at full speed hour by hour on the stream's own clock, so the alert rules see
the same sequence they would have seen live. The live part then plays on an accelerated clock while the
dashboard is open: each event is stored when the accelerated clock passes its time, so the dashboard fills
in as a live monitor would. ``dashboard=False`` replays everything at full speed and exits.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.clock import now_utc
from core.mention import Mention
from loyalty_monitor.config import Config, load_config
from loyalty_monitor.demo import (
    EngagementUpdate,
    StreamEvent,
    demo_config_toml,
    event_time,
    generate_history,
    generate_live,
)
from loyalty_monitor.demo.replies import brand_replies
from loyalty_monitor.tagging import Tagger
from sentiment.base import SentimentModel
from storage.store import BrandLabel, PendingMention, Store, TaggedMention

__all__ = ["ReplaySummary", "Replayer", "run_demo"]

log = logging.getLogger(__name__)

#: How long the live part of the stream lasts on the stream's clock.
LIVE_SPAN = timedelta(hours=6)


@dataclass(slots=True)
class ReplaySummary:
    """What a replay did."""

    mentions: int = 0
    new: int = 0
    updates: int = 0
    links: int = 0
    alerts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        lines = [
            f"replayed {self.mentions} mentions ({self.new} new) and {self.updates} engagement updates "
            f"in {self.seconds:.1f}s; {self.links} brand links",
            f"alerts: {len(self.alerts)}",
            *(f"  - {a}" for a in self.alerts),
        ]
        return "\n".join(lines)


class Replayer:
    """Feeds demo events to storage, tagging and the alert engine, one stream hour at a time."""

    def __init__(self, config: Config, store: Store, tagger: Tagger, alerts: bool = True) -> None:
        self.config = config
        self.store = store
        self.tagger = tagger
        self.summary = ReplaySummary()
        self._labels: dict[str, list[BrandLabel]] = {}
        self.engine = None
        if alerts and config.alerts.enabled:
            from alerts.engine import AlertEngine

            self.engine = AlertEngine(store, config.alerts, config.alert_brands())
        self.tracker = config.response_tracker(store)

    def prelabel(self, events: Iterable[StreamEvent], batch: int = 2048) -> None:
        """Label every text up front in large batches; a label depends only on the text and its brand.

        The replay then stores and evaluates hour by hour as before, without running the model on a dozen
        texts at a time, which is where a replay of 30 days would otherwise spend its time.
        """
        texts = list(dict.fromkeys(e.text for e in events if isinstance(e, Mention)))
        epoch = datetime.fromtimestamp(0, tz=UTC)
        for start in range(0, len(texts), batch):
            chunk = texts[start : start + batch]
            pending = [PendingMention(i, t, "", epoch, True) for i, t in enumerate(chunk)]
            for tagged in self.tagger.tag(pending):
                self._labels[tagged.mention.text] = list(tagged.links)

    def _tag(self, pending: Sequence[PendingMention]) -> list[TaggedMention]:
        # A brand's own reply is never labelled: the tagger itself recognises it by its author.
        cached = [p.text in self._labels and self.tagger.reply_brand(p) is None for p in pending]
        known = [p for p, hit in zip(pending, cached, strict=True) if hit]
        rest = [p for p, hit in zip(pending, cached, strict=True) if not hit]
        tagged = [TaggedMention(p, self._labels[p.text]) for p in known]
        return tagged + (self.tagger.tag(rest) if rest else [])

    def feed(self, events: Sequence[StreamEvent], now: datetime) -> None:
        """Store, tag and evaluate one slice of events that happened up to ``now``."""
        mentions = [e for e in events if isinstance(e, Mention)]
        self.summary.mentions += len(mentions)
        new_ids: list[int] = []
        for start in range(0, len(mentions), 2000):
            new_ids.extend(self.store.upsert_mentions(mentions[start : start + 2000]))
        self.summary.new += len(new_ids)
        for update in (e for e in events if isinstance(e, EngagementUpdate)):
            counters = {
                "likes": update.likes,
                "reposts": update.reposts,
                "comments": update.comments,
                "views": update.views,
            }
            if self.store.update_engagement(update.source, update.external_id, counters, update.at):
                self.summary.updates += 1
        tagged_ids: list[int] = []
        if new_ids:
            pending = self.store.pending_by_ids(new_ids)
            for start in range(0, len(pending), 1024):
                tagged = self._tag(pending[start : start + 1024])
                self.store.save_tags(tagged)
                self.summary.links += sum(len(t.links) for t in tagged)
                tagged_ids.extend(t.mention.id for t in tagged if t.links)
        self.tracker.after_tag(tagged_ids, now)
        if self.engine is not None:
            self.engine.evaluate(tagged_ids, now)
            self.engine.evaluate_periodic(now)

    def replay(
        self,
        events: Iterable[StreamEvent],
        step: timedelta = timedelta(hours=1),
        wait_until: Callable[[datetime], None] | None = None,
    ) -> None:
        """Feed ``events`` (time-ordered) in slices of ``step``; ``wait_until`` paces a live replay."""
        ordered = sorted(events, key=event_time)
        if not ordered:
            return
        slice_end = event_time(ordered[0]) + step
        batch: list[StreamEvent] = []
        for event in ordered:
            while event_time(event) >= slice_end:
                if wait_until is not None:
                    wait_until(slice_end)
                self.feed(batch, slice_end)
                batch = []
                slice_end += step
            batch.append(event)
        if wait_until is not None:
            wait_until(slice_end)
        self.feed(batch, slice_end)

    def alert_titles(self) -> list[str]:
        """Every alert in the database, as one line each."""
        from sqlalchemy import select

        from alerts.render import alert_title
        from storage.schema import Alert

        lang = self.config.display.language
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(Alert.rule, Alert.brand, Alert.channel, Alert.severity, Alert.title, Alert.details)
            ).all()
        return [
            f"[{r.severity}] {r.rule} / {r.brand} / {r.channel or 'all channels'}: "
            f"{alert_title(r.rule, r.brand, r.details, r.title, lang)}"
            for r in rows
        ]


def _say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - the demo talks to the person who started it


def run_demo(
    workdir: Path,
    *,
    db_url: str | None = None,
    dashboard: bool = True,
    speed: float = 120.0,
    seed: int = 7,
    model: SentimentModel | None = None,
    live_start: datetime | None = None,
) -> ReplaySummary:
    """Write the demo config, replay the stream into the database and (optionally) open the dashboard.

    The live part starts six hours ago on the hour, so the dashboard shows it as today; ``live_start`` pins
    it (tests replay the same weekday and hour on every run).
    """
    from loyalty_monitor.service import load_sentiment

    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    if db_url is None:
        # The demo's own database is rebuilt on every run: its stream is dated relative to now.
        db_file = (workdir / "demo.db").resolve()
        for leftover in (db_file, db_file.with_name("demo.db-wal"), db_file.with_name("demo.db-shm")):
            leftover.unlink(missing_ok=True)
        url = f"sqlite:///{db_file}"
    else:
        url = db_url
    config_path = workdir / "loyalty.toml"
    config_path.write_text(demo_config_toml(url), encoding="utf-8")
    config = load_config(config_path)
    store = Store.open(url)
    proc: subprocess.Popen[bytes] | None = None
    try:
        if dashboard:
            from dashboard.launch import command

            # Open the dashboard first: it shows the history filling in while the model labels it.
            proc = subprocess.Popen(command(config.dashboard), env=config.dashboard_setup().environment())
            _say(f"dashboard: http://{config.dashboard.host}:{config.dashboard.port}  (Ctrl-C to stop)")
        sentiment = model or load_sentiment(config)
        tagger = Tagger(config.brands, sentiment, batch_size=config.sentiment.batch_size)
        replayer = Replayer(config, store, tagger)
        if live_start is None:
            live_start = now_utc().replace(minute=0, second=0, microsecond=0) - LIVE_SPAN
        history = generate_history(seed=seed, end=live_start)
        live = generate_live(seed=seed, start=live_start, hours=LIVE_SPAN.total_seconds() / 3600)
        # The brands answer part of the complaints and questions (minutes, hours, a day or more, never).
        history = [*history, *brand_replies(history, seed=seed, end=live_start)]
        live = [*live, *brand_replies(live, seed=seed + 1, end=live_start + LIVE_SPAN)]
        if proc is not None:
            _say(f"labelling {len(history) + len(live)} demo events with {sentiment.model_id}...")
        replayer.prelabel([*history, *live])
        if proc is not None:
            _say("replaying 30 days of history...")
        replayer.replay(history)
        if proc is not None:
            _say(f"live: {LIVE_SPAN} of stream at {speed:g}x, with a complaint that escalates")
            wall0, stream0 = time.monotonic(), live_start

            def wait_until(t: datetime) -> None:
                due = wall0 + (t - stream0).total_seconds() / speed
                time.sleep(max(0.0, due - time.monotonic()))

            replayer.replay(live, step=timedelta(minutes=5), wait_until=wait_until)
        else:
            replayer.replay(live, step=timedelta(minutes=5))
        replayer.summary.alerts = replayer.alert_titles()
        replayer.summary.seconds = time.perf_counter() - started
        if proc is not None:
            _say(str(replayer.summary))
            _say("the stream is replayed; the dashboard stays open until Ctrl-C")
            proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        store.close()
    return replayer.summary
