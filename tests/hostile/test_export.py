"""Row 5: a mention text that starts with a bare ``\\r`` survives a plain CSV export and a read back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from storage.export import MENTION_COLUMNS, render
from storage.store import Store

TEXTS = ["\rСбер: первая строка", "Сбер\r\rвнутри", 'Сбер, "кавычки"\r\n', "\nСбер\r"]


def test_bare_cr_text_round_trips_through_plain_csv(
    cli: Callable[..., Result], store: Store, tmp_path: Path
) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {"external_id": str(i), "channel": "vk", "text": t, "published_at": f"2026-11-01T10:0{i}:00Z"}
        for i, t in enumerate(TEXTS)
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    assert cli("import", str(src)).exit_code == 0
    out = tmp_path / "out.csv"
    result = cli("export", "mentions", "-o", str(out))
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as f:
        back = list(csv.DictReader(f))
    assert len(back) == len(TEXTS)
    assert sorted(r["text"] for r in back) == sorted(TEXTS)


def test_render_quotes_a_bare_cr_in_both_modes() -> None:
    row = {c: None for c in MENTION_COLUMNS} | {"text": "\rx", "brand": "a,b"}
    for excel in (False, True):
        data = render([row], MENTION_COLUMNS, excel=excel).decode("utf-8-sig")
        delimiter = ";" if excel else ","
        back = list(csv.DictReader(io.StringIO(data, newline=""), delimiter=delimiter))
        assert len(back) == 1
        assert back[0]["text"] == ("'\rx" if excel else "\rx") and back[0]["brand"] == "a,b"


def test_export_to_an_unwritable_path_is_one_line(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("export", "mentions", "-o", str(tmp_path / "missing" / "out.csv"))
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"Error: cannot write {tmp_path / 'missing' / 'out.csv'}: No such file or directory"
    ]
