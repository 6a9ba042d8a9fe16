"""How fast ``collectors.importer.parse_import`` reads CSV and JSONL (decoding and validation only, no
database, no model): the cost of the per-line decoding step and the field checks.

    python bench/import_parse.py [ROWS]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from collectors.importer import ImportRowError, parse_import


def main(rows: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        jsonl, csv_path = Path(tmp) / "in.jsonl", Path(tmp) / "in.csv"
        text = "Сбер опять списал деньги за обслуживание, верните! " * 3
        with jsonl.open("w", encoding="utf-8") as f:
            for i in range(rows):
                row = {
                    "external_id": str(i),
                    "channel": "vk",
                    "text": text,
                    "published_at": "2026-11-01T10:00:00+03:00",
                    "likes": i % 50,
                    "author": f"user{i}",
                }
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        with csv_path.open("w", encoding="utf-8") as f:
            f.write("external_id,channel,text,published_at,likes,author\n")
            for i in range(rows):
                f.write(f'{i},vk,"{text}",2026-11-01T10:00:00+03:00,{i % 50},user{i}\n')
        for path in (csv_path, jsonl):
            t0 = time.perf_counter()
            bad = sum(isinstance(item, ImportRowError) for _, item in parse_import(path))
            dt = time.perf_counter() - t0
            print(f"{path.suffix[1:]:>5}: {rows / dt:,.0f} rows/s ({rows:,} rows, {bad} bad, {dt:.2f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
