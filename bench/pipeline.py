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
from loyalty_monitor.config import parse_config
from loyalty_monitor.service import import_file
from storage.store import Store

BRANDS = [
    {"name": "Сбербанк", "aliases": ["Сбер", "Сбербанк", "SberBank"], "own": True},
    {"name": "Тинькофф", "aliases": ["Тинькофф", "Tinkoff", "Т-Банк"]},
    {"name": "Альфа-Банк", "aliases": ["Альфа-Банк", "Альфабанк"]},
]
FORMS = {
    "Сбербанк": ["Сбербанк", "Сбербанка", "Сбербанку", "Сбер", "Сбера", "сбер"],
    "Тинькофф": ["Тинькофф", "Tinkoff", "Т-Банк", "тинькофф"],
    "Альфа-Банк": ["Альфа-Банк", "Альфа-Банка", "Альфабанк", "альфа-банке"],
}
TEMPLATES = [
    "{b} опять заблокировал карту без объяснений, поддержка молчит третий день",
    "Оформила кредитку в {b}, всё быстро и удобно, спасибо менеджеру Анне 👍",
    "{b} открыл новое отделение на Тверской, работает с 9 до 21",
    "Приложение {b} после обновления не запускается. Кто ещё столкнулся?",
    "Перевёл зарплатный проект в {b}, кэшбэк реально приходит, доволен",
    "В {b} снова очередь на час, окно работает одно. Жесть",
    "{b} повысил ставки по вкладам до 18%, новость от {d}",
    "Ушёл из {b} в {c}, там хотя бы на звонки отвечают",
    "Кто знает, у {b} есть ипотека для ИТ? Поделитесь опытом",
    "Спасибо {b} за быстрый возврат денег по спорной операции!",
    "Это уже третья жалоба, {b} списал деньги дважды и не возвращает",
    "Обзор карт: {b} против {c}, сравнили условия и комиссии",
]
CHANNELS = ["vk", "telegram", "youtube", "news", "reddit", "vcru"]


def synthetic(n: int, seed: int = 1, start: datetime | None = None) -> list[Mention]:
    rng = random.Random(seed)
    t0 = start or datetime(2026, 10, 1, tzinfo=UTC)
    names = list(FORMS)
    out = []
    for i in range(n):
        b, c = rng.sample(names, 2)
        tpl = rng.choice(TEMPLATES)
        body = tpl.format(b=rng.choice(FORMS[b]), c=rng.choice(FORMS[c]), d=f"{rng.randint(1, 28)}.10")
        out.append(
            Mention(
                source="bench",
                external_id=f"{seed}-{i}",
                channel=rng.choice(CHANNELS),
                text=f"{body} #{rng.randint(1, 10**6)}",
                published_at=t0 + timedelta(seconds=i * 25),
                author=f"user{rng.randint(1, 5000)}",
                author_reach=rng.randint(10, 200_000),
                likes=rng.randint(0, 500),
                reposts=rng.randint(0, 50),
                comments=rng.randint(0, 80),
            )
        )
    return out


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
        index_series(store, brands=["Сбербанк"], channels=["vk"], bucket="day", since=since)
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
