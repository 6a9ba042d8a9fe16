"""Themes over a month of a busy brand: time and peak memory for one brand among 1M stored mentions.

Builds a SQLite database of ``--n`` mentions of four brands over 30 days (the brand measured has 40% of
them), each text one of 36 topic sentences with two words of noise drawn from navec's vocabulary, so the
morphology cache meets a realistic number of distinct words. Then, in a fresh process (so its peak RSS is
the themes' own), computes the brand's themes over the 30 days and prints one line per figure.

    python bench/themes.py                  # 1,000,000 mentions (a few minutes to build on 2 cores)
    python bench/themes.py --n 100000       # a quicker run
    python bench/themes.py --db /tmp/t.db   # reuse a database built before
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BRANDS = ("Поляр Банк", "Борей", "Кварц", "Кедр")
SHARE = (0.4, 0.25, 0.2, 0.15)
TOPICS = (
    "Приложение {b} вылетает после обновления",
    "Не могу войти в приложение {b}",
    "Приложение {b} зависает при переводе",
    "{b} не начислил кэшбэк за покупки",
    "Кэшбэк {b} начислили не за ту категорию",
    "Обещали кэшбэк пять процентов, {b} дал копейки",
    "Очередь в отделении {b} на час",
    "В отделении {b} работает одно окно",
    "Отделение {b} закрыли раньше времени",
    "Оператор поддержки {b} ответил вежливо",
    "Поддержка {b} помогла за пять минут",
    "Чат поддержки {b} отвечает шаблонами",
    "{b} списал комиссию за обслуживание",
    "Скрытая комиссия за перевод в {b}",
    "{b} вернул комиссию после жалобы",
    "Банкомат {b} съел карту",
    "Банкомат {b} не выдал деньги",
    "Банкомат {b} у метро не работает",
    "{b} одобрил ипотеку за день",
    "Ставка по ипотеке в {b} выросла",
    "Рефинансирование ипотеки в {b} без очередей",
    "Карту {b} заблокировали без причины",
    "{b} разблокировал карту через неделю",
    "Курьер {b} привёз карту вовремя",
    "Вклад в {b} под хороший процент",
    "{b} снизил ставку по вкладу",
    "Накопительный счёт {b} удобный",
    "Звонят из {b} с навязчивыми предложениями",
    "{b} навязал страховку к кредиту",
    "Отказался от страховки {b}, деньги вернули",
    "Перевод через {b} дошёл за минуту",
    "Перевод в {b} завис на три дня",
    "Лимит на переводы в {b} снизили",
    "Кредитка {b} с длинным льготным периодом",
    "Льготный период кредитки {b} сократили",
    "Кредитный лимит в {b} подняли",
)
LABELS = ("negative", "neutral", "positive")


def build(path: Path, n: int, seed: int = 7) -> None:
    """Write ``n`` mentions over the 30 days before now straight into a migrated SQLite database."""
    from navec import Navec

    from loyalty_index.themes import _NAVEC_FILE
    from storage.store import Store

    Store.open(f"sqlite:///{path}").close()  # runs the migrations
    import natasha

    navec = Navec.load(str(Path(natasha.__file__).parent / "data" / "emb" / _NAVEC_FILE))
    rng = random.Random(seed)
    noise = rng.sample([w for w in navec.vocab.words if w.isalpha()], 20_000)
    now = datetime.now(UTC).replace(microsecond=0)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    # The hourly index roll-up and the full-text index are not what is measured here, and their triggers
    # would make the build five times slower; this throwaway database goes without them.
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    batch_m: list[tuple[object, ...]] = []
    batch_b: list[tuple[object, ...]] = []
    for i in range(1, n + 1):
        brand = rng.choices(BRANDS, SHARE)[0]
        text = f"{rng.choice(TOPICS).format(b=brand)}, {rng.choice(noise)} {rng.choice(noise)}"
        at = (now - timedelta(seconds=rng.randrange(30 * 86400))).strftime("%Y-%m-%d %H:%M:%S.000000")
        batch_m.append((i, "bench", str(i), "vk", text, f"{i:032x}", f"https://vk.com/wall-1_{i}", at, at))
        batch_b.append((i, brand, "vk", at, rng.choice(LABELS), 0.9, "bench", 1))
        if len(batch_m) == 20_000 or i == n:
            conn.executemany(
                "INSERT INTO mentions (id, source, external_id, channel, text, text_hash, url, published_at,"
                " collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch_m,
            )
            conn.executemany(
                "INSERT INTO mention_brands (mention_id, brand, channel, published_at, label, score,"
                " model_version, counted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                batch_b,
            )
            conn.commit()
            batch_m.clear()
            batch_b.clear()
    conn.close()


def measure(path: Path) -> dict[str, object]:
    """Themes of the first brand over the 30 days, in this process: seconds and peak RSS."""
    from sqlalchemy import func, select

    from loyalty_index.themes import brand_themes
    from storage.schema import MentionBrand
    from storage.store import Store

    store = Store.open(f"sqlite:///{path}")
    with store.engine.connect() as conn:
        until = conn.execute(select(func.max(MentionBrand.published_at))).scalar_one() + timedelta(seconds=1)
        mentions = conn.execute(
            select(func.count()).where(
                MentionBrand.brand == BRANDS[0], MentionBrand.published_at >= until - timedelta(days=30)
            )
        ).scalar_one()
    start = time.perf_counter()
    themes = brand_themes(
        store, BRANDS[0], until - timedelta(days=30), until, stop_terms=BRANDS, remember=False
    )
    seconds = time.perf_counter() - start
    return {
        "brand_mentions": mentions,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "themes": [f"{t.name} ({t.mentions})" for t in themes],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure), ensure_ascii=False))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "themes.db"
        if not path.exists():
            start = time.perf_counter()
            build(path, args.n)
            print(f"built {args.n:,} mentions in {time.perf_counter() - start:.0f} s")
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(path)], check=True, capture_output=True, text=True
        )
        result = json.loads(out.stdout)
        print(f"stored mentions of the brand in 30 days: {result['brand_mentions']:,}")
        print(f"themes for one brand over 30 days: {result['seconds']} s")
        print(f"peak RSS of that process: {result['peak_rss_mb']} MB")
        print("themes: " + "; ".join(result["themes"]))


if __name__ == "__main__":
    main()
