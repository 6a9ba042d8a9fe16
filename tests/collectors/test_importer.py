from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.importer import ImportRowError, parse_import
from core.mention import Mention
from tests.collectors.server import FIXTURES


def test_csv_keeps_good_rows_and_reports_bad_ones_by_line() -> None:
    rows = list(parse_import(FIXTURES / "importer/mixed.csv"))
    good = {n: r for n, r in rows if isinstance(r, Mention)}
    bad = {n: r for n, r in rows if isinstance(r, ImportRowError)}
    assert sorted(good) == [2, 3, 9]
    assert good[2].source == "forum" and good[2].likes == 3 and good[2].author_reach is None
    assert good[2].published_at == datetime(2024, 9, 1, 7, 0, tzinfo=UTC)
    assert good[3].source == "import" and good[3].text == "Многострочный\nотзыв о Ромашке"
    assert good[9].author_reach == 100 and good[9].published_at == datetime(2024, 9, 1, 10, 0, tzinfo=UTC)
    assert sorted(bad) == [5, 6, 7, 8]
    assert bad[5].field == "published_at"
    assert bad[6].field == "published_at" and "time zone" in bad[6].message
    assert bad[7].field == "likes"
    assert "more values" in bad[8].message
    assert str(bad[7]).startswith("line 7: field likes: ")


def test_jsonl() -> None:
    rows = list(parse_import(FIXTURES / "importer/mixed.jsonl"))
    good = {n: r for n, r in rows if isinstance(r, Mention)}
    bad = {n: r for n, r in rows if isinstance(r, ImportRowError)}
    assert sorted(good) == [1, 8]
    assert good[1].source == "chat" and "\u200f" in good[1].text and good[1].likes == 2
    assert good[8].published_at == datetime(2024, 9, 1, 6, 30, tzinfo=UTC)
    assert sorted(bad) == [2, 3, 5, 6, 7]
    assert bad[2].field == "published_at" and bad[7].field == "views"


def test_missing_columns(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("id,text\n1,a\n", encoding="utf-8")
    [(line, err)] = list(parse_import(f))
    assert line == 1 and isinstance(err, ImportRowError) and "external_id" in err.message


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown import format"):
        list(parse_import(tmp_path / "x.parquet"))
    with pytest.raises(ValueError, match="a spreadsheet"):
        list(parse_import(tmp_path / "x.xlsx"))


def test_one_megabyte_text(tmp_path: Path) -> None:
    big = "Ромашка " * 140_000
    f = tmp_path / "big.csv"
    f.write_text(
        f'external_id,channel,text,published_at\nb1,forums,"{big}",2024-09-01T00:00:00Z\n', encoding="utf-8"
    )
    [(_, m)] = list(parse_import(f))
    assert isinstance(m, Mention) and len(m.text.encode()) > 1_000_000
