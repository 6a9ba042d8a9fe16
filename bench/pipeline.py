"""Pipeline throughput: import -> tag -> store, store-only, and the index query over 1M mentions.

Prints one line per figure. Targets on 2 cores: >= 1,500 mentions/s end to end with the `fast` model
(bulk imports and backfills), >= 100 with the default model (accuracy first: fine-tuned e5, measured on
fewer mentions), >= 20,000 mentions/s store-only, index query <= 300 ms over 1M stored mentions.

    python bench/pipeline.py    # SQLite; PostgreSQL too when LOYALTY_BENCH_POSTGRES_URL is set
    python bench/pipeline.py --n 20000 --index-n 200000   # a quicker run
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from core.mention import Mention
from core.synthetic import BRANDS as SYNTHETIC_BRANDS
from core.synthetic import CHANNELS as SYNTHETIC_CHANNELS
from core.synthetic import stream
from loyalty_monitor.config import parse_config
from loyalty_monitor.service import import_file
from storage.store import Store

BRANDS = [
    {"name": b.name, "aliases": list(b.aliases), "own": b.own, "exclusions": list(b.exclusions)}
    for b in SYNTHETIC_BRANDS
]
CHANNELS = [c.name for c in SYNTHETIC_CHANNELS]


def synthetic(n: int, seed: int = 1, start: datetime | None = None) -> list[Mention]:
    """``n`` mentions of the synthetic stream (:mod:`core.synthetic`): a week from ``start``, at the volume
    that holds ``n``, without the per-author cap (a crowd this size writes more than twice a week)."""
    t0 = start or datetime(2026, 10, 1, tzinfo=UTC)
    ordinary = stream(
        start=t0,
        end=t0 + timedelta(days=7),
        seed=f"bench-pipeline:{seed}",
        daily_volume=n / 6,
        per_week=None,
        source="bench",
        id_prefix=f"{seed}-",
    )
    mentions = list(itertools.islice((e for e in ordinary if isinstance(e, Mention)), n))
    if len(mentions) < n:
        raise RuntimeError(f"the synthetic week held {len(mentions)} mentions, fewer than {n}")
    return mentions


def write_jsonl(path: Path, mentions: list[Mention]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for m in mentions:
            f.write(
                json.dumps(
                    {
                        "source": m.source,
                        "external_id": m.external_id,
                        "channel": m.channel,
                        "text": m.text,
                        "published_at": m.published_at.isoformat(),
                        "author": m.author,
                        "author_reach": m.author_reach,
                        "likes": m.likes,
                        "reposts": m.reposts,
                        "comments": m.comments,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


def reset_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def end_to_end(url: str, n: int, workdir: Path, model: str = "fast") -> float:
    data = workdir / "bench.jsonl"
    write_jsonl(data, synthetic(n))
    config = parse_config({"storage": {"url": url}, "brands": BRANDS, "sentiment": {"model": model}})
    Store.open(url).close()  # migrations are not part of the figure
    t = time.perf_counter()
    report = asyncio.run(import_file(config, data))
    elapsed = time.perf_counter() - t
    assert report.new == n, report
    return n / elapsed


def store_only(url: str, n: int) -> float:
    store = Store.open(url)
    batch = 5000
    mentions = synthetic(n, seed=2)
    t = time.perf_counter()
    for i in range(0, n, batch):
        store.upsert_mentions(mentions[i : i + batch])
    elapsed = time.perf_counter() - t
    store.close()
    return n / elapsed


def fill_index_db(path: Path, n: int) -> None:
    """1M mentions with brand links, written straight through sqlite3 so setup takes seconds, not minutes."""
    store = Store.open(f"sqlite:///{path}")
    store.close()
    rng = random.Random(3)
    conn = sqlite3.connect(path)
    t0 = datetime(2025, 11, 1, tzinfo=UTC)
    labels = ["negative", "neutral", "positive"]
    brands = [b["name"] for b in BRANDS]
    chunk = 50_000
    for start in range(0, n, chunk):
        rows_m, rows_b = [], []
        for i in range(start, min(n, start + chunk)):
            ts = (t0 + timedelta(seconds=i * 31)).strftime("%Y-%m-%d %H:%M:%S.000000")
            ch = CHANNELS[i % len(CHANNELS)]
            rows_m.append((i + 1, "bench", str(i), ch, "текст", f"h{i}", ts, ts, ts))
            rows_b.append((i + 1, brands[i % 3], ch, ts, rng.choice(labels), 0.9, "bench", 1))
        conn.executemany(
            "INSERT INTO mentions (id, source, external_id, channel, text, text_hash, published_at,"
            " collected_at, tagged_at) VALUES (?,?,?,?,?,?,?,?,?)",
            rows_m,
        )
        conn.executemany(
            "INSERT INTO mention_brands (mention_id, brand, channel, published_at, label, score,"
            " model_version, counted) VALUES (?,?,?,?,?,?,?,?)",
            rows_b,
        )
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def index_query_ms(path: Path, n: int) -> tuple[float, float]:
    from loyalty_index import index_series

    fill_index_db(path, n)
    store = Store.open(f"sqlite:///{path}")
    t_all = []
    for _ in range(5):
        t = time.perf_counter()
        points = index_series(store, bucket="day")
        t_all.append(time.perf_counter() - t)
    assert points
    t_brand = []
    since = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(5):
        t = time.perf_counter()
        index_series(store, brands=[BRANDS[0]["name"]], channels=["vk"], bucket="day", since=since)
        t_brand.append(time.perf_counter() - t)
    store.close()
    return min(t_all) * 1000, min(t_brand) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="mentions for the end-to-end and store runs")
    parser.add_argument("--index-n", type=int, default=1_000_000, help="stored mentions for the index query")
    parser.add_argument("--default-n", type=int, default=2_000, help="mentions for the default model's run")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    pg = os.environ.get("LOYALTY_BENCH_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"cores: {os.cpu_count()}  mentions: {args.n}")
        if not args.skip_e2e:
            rate = end_to_end(f"sqlite:///{work / 'e2e.db'}", args.n, work)
            print(f"end-to-end, fast model, SQLite:            {rate:8.0f} mentions/s  (target >= 1500)")
            if pg:
                reset_pg(pg)
                rate = end_to_end(pg, args.n, work)
                print(f"end-to-end, fast model, PostgreSQL:        {rate:8.0f} mentions/s  (target >= 1500)")
            rate = end_to_end(f"sqlite:///{work / 'e2e-default.db'}", args.default_n, work, "default")
            print(f"end-to-end, default model, SQLite:         {rate:8.0f} mentions/s  (target >= 100)")
        rate = store_only(f"sqlite:///{work / 'store.db'}", args.n)
        print(f"store-only, SQLite:                        {rate:8.0f} mentions/s  (target >= 20000)")
        if pg:
            reset_pg(pg)
            rate = store_only(pg, args.n)
            print(f"store-only, PostgreSQL:                    {rate:8.0f} mentions/s  (target >= 20000)")
        all_ms, one_ms = index_query_ms(work / "index.db", args.index_n)
        print(f"index query over {args.index_n} mentions (target <= 300 ms):")
        print(f"  all brands x channels by day:          {all_ms:6.0f} ms")
        print(f"  one brand and channel since a date:    {one_ms:6.0f} ms")


if __name__ == "__main__":
    main()
