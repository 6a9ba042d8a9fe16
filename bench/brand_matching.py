"""Speed of brand matching (``core.text.BrandMatcher``), the step every collected mention passes.

Prints the time per text for an ordinary post (budget: well under 0.2 ms, so matching stays far below the
sentiment model's cost) and for texts 10x and 100x longer: the time per character must stay flat, because a
hostile or huge text must not cost more than its length (matching is linear, capped at MATCH_MAX_CHARS).

    python bench/brand_matching.py [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from core.text import BrandMatcher
from loyalty_monitor.config import BrandSettings

BRANDS = [
    BrandSettings(name="Сбербанк", aliases=["Сбер", "SberBank", "Sber"], own=True),
    BrandSettings(
        name="Альфа-Банк", aliases=["Альфа", "Alfa-Bank"], exclusions=["альфа-версия", "альфа-канал"]
    ),
    BrandSettings(name="Тинькофф", aliases=["Tinkoff", "Т-Банк", "Тинек"]),
    BrandSettings(name="Полярбанк", aliases=["Поляр", "Поляр Банк", "Polyarbank"]),
    BrandSettings(name="Борей Банк", aliases=["Борей", "Borey"]),
]

POST = (
    "Вчера весь вечер пытался перевести деньги через приложение, оно висло, поддержка отвечала по "
    "шаблону. В итоге ушёл из Сбера в Тинькофф, там кэшбэк больше и чат живой 👍 #банки"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="texts per length")
    args = parser.parse_args()
    matcher = BrandMatcher(BRANDS)
    for repeat in (1, 10, 100):
        texts = [f"{POST * repeat} {i}" for i in range(args.n // repeat or 1)]
        for text in texts[:20]:
            matcher.match(text)
        start = time.perf_counter()
        for text in texts:
            matcher.match(text)
        elapsed = time.perf_counter() - start
        chars = sum(len(t) for t in texts)
        print(
            json.dumps(
                {
                    "chars_per_text": len(texts[0]),
                    "texts": len(texts),
                    "ms_per_text": round(1000 * elapsed / len(texts), 4),
                    "us_per_1k_chars": round(1e6 * elapsed / chars * 1000, 2),
                    "load_average_1min": round(os.getloadavg()[0], 2),
                }
            )
        )


if __name__ == "__main__":
    main()
