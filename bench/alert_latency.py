"""Live alert latency: from a triggering mention being stored to the messenger receiving the alert.

Runs what ``loyalty-monitor run`` runs - the store, the :class:`~alerts.engine.AlertEngine` called after
each tagged batch, periodic evaluation and the :class:`~alerts.outbox.OutboxDispatcher` - against a fake
Telegram Bot API on 127.0.0.1, on a SQLite database that already holds a few days of ordinary traffic (the
synthetic stream's, :mod:`core.synthetic`, about one brand). Every few batches one mention escalates
(regulator, media, a demand) from a new author; the fake server notes when its alert arrives. Prints
p50 / p95 / max; the target is p95 <= 5 s.

    python bench/alert_latency.py [--triggers 40] [--history-days 14] [--per-hour 60] [--batch-interval 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from alerts.engine import AlertEngine
from alerts.outbox import OutboxDispatcher
from core.mention import Mention
from core.synthetic import CHANNELS as SYNTHETIC_CHANNELS
from core.synthetic import StreamEvent, plain_brand, stream
from loyalty_monitor.config import Config
from storage.store import BrandLabel, Store, TaggedMention

BRAND = plain_brand("Альфа", own=True, mix=(0.4, 0.35, 0.25))
# Ten times the default author pools: one brand's mentions at this volume from the default pools would run
# into the synthetic stream's two-a-week cap per author.
CHANNELS = tuple(replace(c, authors=c.authors * 10) for c in SYNTHETIC_CHANNELS)
_MARK = re.compile(r"trig(\d+)x")


class FakeTelegram:
    """Answers every sendMessage with ok and records when each trigger's alert arrived."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.requests = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                text = json.loads(body).get("text", "")
                fake.requests += 1
                for m in _MARK.finditer(text):
                    fake.arrived.setdefault(int(m.group(1)), now)
                data = b'{"ok":true,"result":{"message_id":1}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _store(store: Store, items: list[tuple[Mention, str]]) -> list[int]:
    ids = store.upsert_mentions([m for m, _ in items])
    by_ext = {m.external_id: label for m, label in items}
    pending = store.pending_by_ids(ids)
    from sqlalchemy import select

    from storage.schema import MentionRow

    with store.engine.connect() as conn:
        ext = dict(
            conn.execute(select(MentionRow.id, MentionRow.external_id).where(MentionRow.id.in_(ids))).all()
        )
    store.save_tags(
        [TaggedMention(p, [BrandLabel("Альфа", by_ext[ext[p.id]], 0.9, "bench@1")]) for p in pending]
    )
    return [p.id for p in pending]


def _labelled(events: Iterable[StreamEvent]) -> list[tuple[Mention, str]]:
    """The stream's mentions with the label each was written with (engagement updates left out)."""
    return [(e, str(e.raw["demo_label"])) for e in events if isinstance(e, Mention) and e.raw["demo_brands"]]


def _history(store: Store, days: int, end: datetime, per_hour: int) -> int:
    n = 0
    batch: list[tuple[Mention, str]] = []
    ordinary = stream(
        start=end - timedelta(days=days),
        end=end,
        seed="bench-alerts",
        brands=(BRAND,),
        channels=CHANNELS,
        daily_volume=per_hour * 24,
        source="bench",
        id_prefix="h",
    )
    for mention, label in _labelled(ordinary):
        n += 1
        batch.append((mention, label))
        if len(batch) > 2000:
            _store(store, batch)
            batch = []
    if batch:
        _store(store, batch)
    return n


def _live(now: datetime) -> Iterator[Mention]:
    """Ordinary live mentions, endless: the stream day after day from ``now`` (each is sent as of now)."""
    day = 0
    while True:
        start = now + timedelta(days=day)
        ordinary = stream(
            start=start,
            end=start + timedelta(days=1),
            seed=f"bench-alerts-live:{day}",
            brands=(BRAND,),
            channels=CHANNELS,
            daily_volume=5000,
            source="bench",
            id_prefix=f"l{day}-",
        )
        for mention, _ in _labelled(ordinary):
            yield mention
        day += 1


def _escalation(trig: int, now: datetime) -> Mention:
    """A new author's complaint that names the regulator and the press; ``trig<n>x`` marks its alert."""
    return Mention(
        source="bench",
        external_id=f"trig{trig}",
        channel="vk",
        text=f"Альфа, верните деньги! Пишу в Роспотребнадзор и журналистам, trig{trig}x",
        published_at=now,
        url=f"https://example.org/trig{trig}",
        author=f"complainer{trig}",
        author_reach=2000,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=40)
    parser.add_argument("--history-days", type=int, default=14)
    parser.add_argument("--per-hour", type=int, default=60, help="ordinary mentions per hour of history")
    parser.add_argument("--batch-interval", type=float, default=0.5, help="seconds between tagged batches")
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    fake = FakeTelegram()
    tmp = tempfile.mkdtemp(prefix="bench-alerts-")
    url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
    store = Store.open(url)
    config = Config.model_validate(
        {
            "brands": [{"name": "Альфа", "aliases": ["альфа"], "own": True, "people": ["Пётр Сидоров"]}],
            "alerts": {
                "destinations": [
                    {"type": "telegram", "token_env": "BENCH_TG", "chat_id": "-1", "base_url": fake.url}
                ],
                # The pipeline's own latency: grouping off (with it, a group's first message waits
                # group_wait_s on purpose).
                "group_wait_s": 0,
                "group_interval_min": 0,
            },
        }
    )
    rnd = random.Random(5)
    t0 = time.perf_counter()
    n = _history(store, args.history_days, datetime.now(UTC), args.per_hour)
    print(f"history: {n} mentions over {args.history_days} days stored in {time.perf_counter() - t0:.1f} s")

    engine = AlertEngine(store, config.alerts, config.alert_brands())
    live = _live(datetime.now(UTC))
    stored_at: dict[int, float] = {}
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=10) as client:
        dispatcher = OutboxDispatcher(store, config.alerts, client, env={"BENCH_TG": "123:bench-token"})
        outbox = asyncio.create_task(dispatcher.run_forever(stop))

        async def periodic() -> None:
            while not stop.is_set():
                await asyncio.to_thread(engine.evaluate_periodic, datetime.now(UTC))
                try:
                    await asyncio.wait_for(stop.wait(), 5)
                except TimeoutError:
                    pass

        tick = asyncio.create_task(periodic())
        trig = 0
        batch_no = 0
        while trig < args.triggers:
            batch_no += 1
            now = datetime.now(UTC)
            items: list[tuple[Mention, str]] = []
            for _ in range(rnd.randrange(5, 30)):
                n += 1
                ordinary = next(live)
                items.append((replace(ordinary, published_at=now), str(ordinary.raw["demo_label"])))
            marker = None
            if batch_no % 3 == 0:
                trig += 1
                marker = trig
                n += 1
                items.append((_escalation(trig, now), "negative"))

            def ingest(items: list[tuple[Mention, str]] = items) -> tuple[float, list[int]]:
                ids = _store(store, items)
                return time.perf_counter(), ids

            t_stored, ids = await asyncio.to_thread(ingest)
            if marker is not None:
                stored_at[marker] = t_stored
            await asyncio.to_thread(engine.evaluate, ids, datetime.now(UTC))
            await asyncio.sleep(args.batch_interval)
        deadline = time.perf_counter() + 30
        while len(fake.arrived) < len(stored_at) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(outbox, tick)
    store.close()

    lat = sorted(fake.arrived[k] - stored_at[k] for k in stored_at if k in fake.arrived)
    missing = len(stored_at) - len(lat)
    if not lat:
        print("no alert arrived")
        return
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    print(
        f"stored -> Telegram request, {len(lat)} alerts ({missing} missing): "
        f"p50 {statistics.median(lat):.2f} s, p95 {p95:.2f} s, max {lat[-1]:.2f} s "
        f"(target p95 <= 5 s: {'ok' if p95 <= 5 and not missing else 'MISSED'}); "
        f"{fake.requests} requests"
    )


if __name__ == "__main__":
    asyncio.run(main())
