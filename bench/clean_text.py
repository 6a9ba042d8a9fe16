"""Throughput of the one text-cleaning step every mention passes (``collectors.text.clean_text``).

Three kinds of text, as sources send them: plain text (the fast path, no markup), VK-style text with
entities and ``<br>``, and a Telegram-style HTML fragment with emoji markup. Prints texts per second and
MB per second for each; the step runs once per collected mention, so it must stay far below the cost of
the sentiment model.

    python bench/clean_text.py [--n 20000]
"""

from __future__ import annotations

import argparse
import time

from collectors.text import clean_text

SAMPLES = {
    "plain": ("Ромашка снова списала комиссию за обслуживание, второй месяц жду ответа 😡 " * 3, "plain"),
    "vk": (
        "Ромашка&#10071; Новый тариф<br>для &quot;своих&quot; &amp; друзей<br><br>Пишите в клуб " * 3,
        "html",
    ),
    "telegram": (
        "Обожаю эти методы<br/><br/>Аплифт: 5%<br/>Ошибка: 60% "
        '<i class="emoji" style="background-image:url(\'//telegram.org/img/emoji/40/F09F988E.png\')">'
        '<b>😎</b></i> <a href="https://t.me/x">Ромашка</a>\u200b ' * 3,
        "html",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="texts per kind")
    args = parser.parse_args()
    for name, (text, markup) in SAMPLES.items():
        clean_text(text, markup)  # type: ignore[arg-type]
        start = time.perf_counter()
        for _ in range(args.n):
            clean_text(text, markup)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        size = len(text.encode()) * args.n / 1e6
        print(f"{name:9s} {args.n / elapsed:10.0f} texts/s  {size / elapsed:6.1f} MB/s  ({len(text)} chars)")


if __name__ == "__main__":
    main()
