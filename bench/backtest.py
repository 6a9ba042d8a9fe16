"""Backtest speed and memory: N labelled mentions over 30 days replayed through every alert rule.

Writes a JSONL import file of ``--mentions`` labelled mentions (brand and label columns, so the model is not
loaded) spread over ``--days`` days with a daily and weekly rhythm, three brands, four channels and a few
bursts of complaints, then runs :func:`loyalty_monitor.backtest.run_backtest` on it as ``loyalty-monitor
backtest`` does. Prints the wall time, the peak RSS of this process and the machine's load average (the
machine may be shared). Targets: 100,000 mentions in 2 minutes or less on 2 cores; memory bounded (the file
is streamed and sorted on disk, so 1,000,000 mentions need about as much memory as 100,000).

    python bench/backtest.py [--mentions 100000] [--days 30] [--shuffle] [--exact]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loyalty_monitor import backtest as bt
from loyalty_monitor.config import Config
from sentiment.base import SentimentModel

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
BRANDS = ("Альфа", "Бета", "Гамма")
CHANNELS = ("vk", "telegram", "news", "youtube")
WORDS = [
    "приложение",
    "карта",
    "перевод",
    "кэшбэк",
    "офис",
    "оператор",
    "чат",
    "поддержка",
    "кредит",
    "вклад",
    "ипотека",
    "счёт",
    "платёж",
    "терминал",
    "банкомат",
    "лимит",
    "комиссия",
    "отделение",
    "менеджер",
    "очередь",
    "звонок",
    "смс",
    "код",
    "вход",
    "пароль",
    "обновление",
]


def config() -> Config:
    """Three brands (the first ours) with the default alert settings."""
    return Config.model_validate(
        {
            "brands": [
                {"name": "Альфа", "aliases": ["альфа"], "own": True},
                {"name": "Бета", "aliases": ["бета"]},
                {"name": "Гамма", "aliases": ["гамма"]},
            ]
        }
    )


def _shape(at: datetime) -> float:
    local = (at.hour + 3) % 24
    daily = 0.25 + 0.75 * math.sin(math.pi * (local - 7) / 17) if local >= 7 else 0.15
    return daily * (0.7 if at.weekday() >= 5 else 1.0)


def write_stream(path: Path, mentions: int, days: int, seed: int = 7, shuffle: bool = False) -> int:
    """Write ``mentions`` labelled rows over ``days`` days (time order unless ``shuffle``); returns rows."""
    rnd = random.Random(seed)
    hours = days * 24
    weights = [_shape(START + timedelta(hours=h)) for h in range(hours)]
    # Three bursts of complaints about our brand, a few hours each.
    bursts = {rnd.randrange(min(7 * 24, hours - 7), hours - 6): rnd.uniform(3, 6) for _ in range(3)}
    scale = mentions / sum(weights)
    rows: list[str] = []
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for h, w in enumerate(weights):
            hour = START + timedelta(hours=h)
            burst = next((f for b, f in bursts.items() if b <= h < b + 4), 1.0)
            k = round(w * scale)
            for _ in range(k):
                n += 1
                brand = rnd.choices(BRANDS, (0.5, 0.3, 0.2))[0]
                neg = 0.2 * (burst if brand == BRANDS[0] else 1.0)
                label = rnd.choices(("negative", "neutral", "positive"), (neg, 0.45, 0.35))[0]
                text = f"{brand.lower()} {' '.join(rnd.sample(WORDS, 6))} #{n}"
                row = {
                    "source": "bench",
                    "external_id": str(n),
                    "channel": rnd.choice(CHANNELS),
                    "text": text,
                    "published_at": (hour + timedelta(seconds=rnd.randrange(3600))).isoformat(),
                    "author": f"u{rnd.randrange(200_000)}",
                    "author_reach": int(rnd.lognormvariate(6, 1.5)),
                    "brand": brand,
                    "label": label,
                }
                line = json.dumps(row, ensure_ascii=False)
                if shuffle:
                    rows.append(line)
                else:
                    out.write(line + "\n")
        if shuffle:
            rnd.shuffle(rows)
            out.write("\n".join(rows) + "\n")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--shuffle", action="store_true", help="Write the file out of time order.")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="Store each minute and run every rule every minute on the rules' own queries, as `run` does.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        path = Path(tmp) / "stream.jsonl"
        t0 = time.perf_counter()
        rows = write_stream(path, args.mentions, args.days, shuffle=args.shuffle)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"wrote {rows} mentions ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s"
        )
        cfg = config()
        lane = bt.Lane("config", cfg.alerts)
        t1, cpu1 = time.perf_counter(), time.process_time()
        result = bt.run_backtest(
            cfg,
            lambda tagger, errors: bt.file_rows(path, tagger, errors),
            [lane],
            model=lambda: _no_model(),
            exact=args.exact,
            workdir=Path(tmp),
        )
        seconds, cpu = time.perf_counter() - t1, time.process_time() - cpu1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    opened = sum(e.event == "opened" for e in result.events["config"])
    print(
        f"replayed {result.mentions} mentions over {args.days} days in {seconds:.1f}s "
        f"({result.mentions / seconds:,.0f}/s), {cpu:.1f}s of CPU; {opened} alerts opened, "
        f"{lane.skipped} minutes ran no rule; peak RSS {peak:.0f} MiB "
        f"(after writing the file: {rss_before / 1024:.0f} MiB)"
    )
    print(
        f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cpus {os.cpu_count()}"
    )


def _no_model() -> SentimentModel:
    raise SystemExit("every bench row is labelled; the model should not load")


if __name__ == "__main__":
    main()
