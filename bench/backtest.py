"""Backtest speed and memory: N labelled mentions over D days replayed through every alert rule.

For each size, a child process writes a JSONL import file of labelled mentions (brand and label columns,
so the model is not loaded) spread over the days with a daily and weekly rhythm, three brands, four
channels and a few bursts of complaints, then runs :func:`loyalty_monitor.backtest.run_backtest` on it as
``loyalty-monitor backtest`` does. Each size runs in its own process, so its peak RSS is its own. Prints,
per size, the wall time, the CPU time, mentions per second of wall and of CPU time, the peak RSS, and the
machine's load average (the machine may be shared: CPU seconds are the figure that load does not move).

Targets: 100,000 mentions over 30 days in 2 minutes or less on 2 cores; memory bounded (the file is
streamed and sorted on disk, the throwaway store is a file, so 1,000,000 mentions need about as much
memory as 100,000). The default sizes are 100,000 over 30 days and 1,000,000 over 300 days: the same
density over ten times the history, the shape a long history file has.

    python bench/backtest.py                                # 100000:30 and 1000000:300
    python bench/backtest.py --sizes 100000:30,1000000:30   # mentions:days, comma-separated
    python bench/backtest.py --mentions 20000 --days 7 [--shuffle] [--exact] [--profile OUT]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import random
import resource
import subprocess
import sys
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
    parser.add_argument(
        "--sizes",
        default="100000:30,1000000:300",
        help="MENTIONS:DAYS pairs, comma-separated, each replayed in its own process.",
    )
    parser.add_argument("--mentions", type=int, help="Replay one size in this process (with --days).")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--shuffle", action="store_true", help="Write the file out of time order.")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="Store each minute and run every rule every minute on the rules' own queries, as `run` does.",
    )
    parser.add_argument("--profile", type=Path, help="Write a cProfile of the replay here (one size only).")
    args = parser.parse_args()
    if args.mentions is not None:
        one(args.mentions, args.days, shuffle=args.shuffle, exact=args.exact, profile=args.profile)
        return
    for pair in args.sizes.split(","):
        mentions, _, days = pair.partition(":")
        cmd = [sys.executable, __file__, "--mentions", mentions.strip(), "--days", (days or "30").strip()]
        cmd += ["--shuffle"] if args.shuffle else []
        cmd += ["--exact"] if args.exact else []
        subprocess.run(cmd, check=True)


def one(mentions: int, days: int, *, shuffle: bool, exact: bool, profile: Path | None) -> None:
    """Write and replay one stream in this process; print its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        path = Path(tmp) / "stream.jsonl"
        t0 = time.perf_counter()
        rows = write_stream(path, mentions, days, shuffle=shuffle)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"{mentions} mentions over {days} days: wrote {rows} ({path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        cfg = config()
        lane = bt.Lane("config", cfg.alerts)
        load0 = os.getloadavg()
        t1, cpu1 = time.perf_counter(), time.process_time()
        prof = cProfile.Profile() if profile is not None else None
        if prof is not None:
            prof.enable()
        result = bt.run_backtest(
            cfg,
            lambda tagger, errors: bt.file_rows(path, tagger, errors),
            [lane],
            model=lambda: _no_model(),
            exact=exact,
            workdir=Path(tmp),
        )
        if prof is not None and profile is not None:
            prof.disable()
            prof.dump_stats(profile)
        seconds, cpu = time.perf_counter() - t1, time.process_time() - cpu1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    opened = sum(e.event == "opened" for e in result.events["config"])
    print(
        f"  replayed {result.mentions} mentions in {seconds:.1f}s wall ({result.mentions / seconds:,.0f}/s), "
        f"{cpu:.1f}s CPU ({result.mentions / cpu:,.0f}/s of CPU); {opened} alerts opened, "
        f"{lane.skipped} of {days * 24 * 60} minutes ran no rule; peak RSS {peak:.0f} MiB "
        f"(after writing the file: {rss_before / 1024:.0f} MiB)"
    )
    load1 = os.getloadavg()
    print(
        f"  load average (1/5/15 min) at start {' '.join(f'{x:.2f}' for x in load0)}, "
        f"at end {' '.join(f'{x:.2f}' for x in load1)}; cpus {os.cpu_count()}",
        flush=True,
    )


def _no_model() -> SentimentModel:
    raise SystemExit("every bench row is labelled; the model should not load")


if __name__ == "__main__":
    main()
