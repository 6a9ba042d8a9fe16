"""The ``brand`` and ``label`` columns of an import file: label spellings, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

from collectors.importer import ImportRowError, LabelledMention, parse_import
from core.mention import Mention


def test_label_spellings_and_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    head = "external_id,channel,text,published_at,brand,label\n"
    body = [
        "1,vk,a,2026-11-01T10:00:00Z,Сбер,negative",
        "2,vk,b,2026-11-01T10:00:00Z,,+1",
        "3,vk,c,2026-11-01T10:00:00Z,Сбер,0",
        "4,vk,d,2026-11-01T10:00:00Z,,POSITIVE",
        "5,vk,e,2026-11-01T10:00:00Z,,",
        "6,vk,f,2026-11-01T10:00:00Z,,2",
        "7,vk,g,2026-11-01T10:00:00Z,,good",
    ]
    path.write_text(head + "\n".join(body) + "\n", encoding="utf-8")
    items = dict(parse_import(path))
    got = {n: (m.brand, m.label) for n, m in items.items() if isinstance(m, LabelledMention)}
    assert got == {
        2: ("Сбер", "negative"),
        3: (None, "positive"),
        4: ("Сбер", "neutral"),
        5: (None, "positive"),
    }
    assert type(items[6]) is Mention
    for line in (7, 8):
        err = items[line]
        assert isinstance(err, ImportRowError) and err.field == "label", err
    assert str(items[7]) == "line 7: field label: expected negative, neutral, positive or -1, 0, 1, got '2'"


def test_jsonl_labels_may_be_numbers(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    row = '{{"external_id": "{i}", "channel": "vk", "text": "t", "published_at": 0, "label": {v}}}'
    path.write_text(
        "\n".join(row.format(i=i, v=v) for i, v in enumerate(["-1", "1.0", "true", "[]"])), "utf-8"
    )
    items = dict(parse_import(path))
    assert [getattr(items[n], "label", None) for n in (1, 2)] == ["negative", "positive"]
    assert all(isinstance(items[n], ImportRowError) for n in (3, 4))
