"""Hostile imports (issue rows 1, 2, 4, 6, 7 and the line-number extras): each bad row is one line
``FILE:line N: field X: ...``, every good row is stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from collectors.importer import ImportRowError, parse_import
from core.mention import Mention
from loyalty_monitor import service
from loyalty_monitor.config import Config, StorageSettings
from storage.store import Store
from tests.fakes import FakeSentimentModel
from tests.hostile.helpers import count, db_url, stored

GOOD = {"channel": "vk", "text": "Сбер работает", "published_at": "2026-11-01T10:00:00Z"}


def good(i: int, **kw: object) -> dict[str, object]:
    return {"external_id": f"g{i}", **GOOD, **kw}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    return path


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if ":line " in line]


def test_out_of_range_numbers_and_dates_are_named_line_errors(
    cli: Callable[..., Result], store: Store, tmp_path: Path
) -> None:
    """Row 1: year 1/9999, timestamp 1e20, Infinity likes, likes > 2^63, a lone surrogate."""
    rows: list[object] = [good(1)]
    rows.append(
        '{"external_id": "b1", "channel": "vk", "text": "x", "published_at": "0001-01-01T00:00:00+03:00"}'
    )
    rows.append('{"external_id": "b2", "channel": "vk", "text": "x", "published_at": "9999-12-31T23:59:59Z"}')
    rows.append('{"external_id": "b3", "channel": "vk", "text": "x", "published_at": 1e20}')
    rows.append('{"external_id": "b4", "channel": "vk", "text": "x", "published_at": 1, "likes": Infinity}')
    rows.append(
        '{"external_id": "b5", "channel": "vk", "text": "x", "published_at": "2026-11-01T10:00:00Z", '
        '"likes": 9223372036854775808}'
    )
    rows.append('{"external_id": "b6", "channel": "vk", "text": "a \\ud800 b", "published_at": 1800000000}')
    rows.append('{"external_id": "b7", "channel": "vk", "text": "x", "published_at": "1e20"}')
    rows.append(
        '{"external_id": "b8", "channel": "vk", "text": "x", "published_at": 1800000000, "views": NaN}'
    )
    rows += [good(i) for i in range(2, 2100)]  # more than one storage batch of good rows
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    result = cli("import", str(path))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = error_lines(result)
    expected = [
        (2, "published_at"),
        (3, "published_at"),
        (4, "published_at"),
        (5, "likes"),
        (6, "likes"),
        (7, "text"),
        (8, "published_at"),
        (9, "views"),
    ]
    assert len(errors) == len(expected), errors
    for line, (n, field) in zip(errors, expected, strict=True):
        assert line.startswith(f"{path}:line {n}: field {field}: "), line
    assert "outside 1970-01-01 .. 2100-01-01" in errors[1]
    assert "surrogate" in errors[5]
    assert "imported 2099 new" in result.output
    assert count(store) == 2099


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_invalid_utf8_spoils_one_line_not_the_file(
    cli: Callable[..., Result], store: Store, tmp_path: Path, fmt: str
) -> None:
    """Row 2: invalid UTF-8 in CSV or JSONL is a line error; the other ten rows are stored."""
    if fmt == "csv":
        lines = [b"external_id,channel,text,published_at"]
        lines += [f"g{i},vk,Сбер хорош {i},2026-11-01T10:00:00Z".encode() for i in range(10)]
        lines.insert(4, b"bad,vk,\xff\xfe broken \xc3,2026-11-01T10:00:00Z")
    else:
        lines = [json.dumps(good(i), ensure_ascii=False).encode() for i in range(10)]
        lines.insert(3, b'{"external_id": "bad", "channel": "vk", "text": "\xff broken"}')
    path = tmp_path / f"in.{fmt}"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = cli("import", str(path))
    assert result.exit_code == 1, result.output
    errors = error_lines(result)
    assert len(errors) == 1, result.output
    prefix = f"{path}:line 5: field text: " if fmt == "csv" else f"{path}:line 4: "
    assert errors[0].startswith(prefix) and "not valid UTF-8 (byte 0xFF" in errors[0], errors
    assert count(store) == 10 and "bad" not in stored(store)


def test_duplicate_id_in_one_import_is_reported_with_both_lines(
    cli: Callable[..., Result], store: Store, tmp_path: Path
) -> None:
    """Row 4: the second copy is an error naming the first line; the first is kept, exit code 1."""
    rows = [good(1, text="Сбер первый"), good(2), good(3), good(1, text="Сбер второй")]
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    result = cli("import", str(path))
    assert result.exit_code == 1, result.output
    errors = error_lines(result)
    assert errors == [
        f"{path}:line 4: field external_id: 'g1' repeats line 1 (source 'import'); line 1 is kept"
    ]
    assert stored(store)["g1"] == "Сбер первый"


def test_wrong_json_types_are_errors_not_coerced(
    cli: Callable[..., Result], store: Store, tmp_path: Path
) -> None:
    """Row 6: an object as id, a list as channel, 3.7 likes, true as a count: errors, nothing stored."""
    rows: list[object] = [
        good(1),
        {**good(2), "external_id": {"a": 1}},
        {**good(3), "channel": ["vk"]},
        {**good(4), "likes": 3.7},
        {**good(5), "reposts": True},
        {**good(6), "likes": 3.0, "views": "12"},  # a whole float and a numeric string are fine
    ]
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    result = cli("import", str(path))
    errors = error_lines(result)
    assert [e.split(": ")[0:2] for e in errors] == [
        [f"{path}:line 2", "field external_id"],
        [f"{path}:line 3", "field channel"],
        [f"{path}:line 4", "field likes"],
        [f"{path}:line 5", "field reposts"],
    ], errors
    assert "got a JSON object" in errors[0] and "got a JSON array" in errors[1]
    assert "got 3.7" in errors[2]
    assert sorted(stored(store)) == ["g1", "g6"]
    assert "{'a': 1}" not in stored(store) and "['vk']" not in stored(store).values()


@pytest.mark.parametrize("name", ["book.xlsx", "disguised.csv", "utf16.csv"])
def test_binary_file_is_refused_in_one_line(
    config_file: Path, sqlite_store: Store, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 7: an .xlsx (or a zip named .csv, or UTF-16 text) fails in one line, before the model loads."""
    from click.testing import CliRunner

    from loyalty_monitor.cli import main

    path = tmp_path / name
    if name == "utf16.csv":
        path.write_bytes("external_id,channel,text,published_at\n".encode("utf-16"))
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("xl/workbook.xml", "<workbook/>")

    def no_model(config: Config) -> None:
        raise AssertionError("the model was loaded for a file that cannot be imported")

    monkeypatch.setattr(service, "load_sentiment", no_model)
    result = CliRunner().invoke(
        main, ["import", str(path), "--config", str(config_file), "--db", db_url(sqlite_store)]
    )
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "not CSV or JSONL" in lines[0], lines


def test_error_lines_name_the_line_once(cli: Callable[..., Result], store: Store, tmp_path: Path) -> None:
    """Extra: "FILE:line 2: line 2:" read the line number twice."""
    path = write_jsonl(tmp_path / "in.jsonl", [good(1), {**good(2), "likes": -1}])
    result = cli("import", str(path))
    assert error_lines(result) == [f"{path}:line 2: field likes: -1 is outside 0 .. 2^63-1"]


def test_csv_line_numbers_after_a_quoted_bare_cr(tmp_path: Path) -> None:
    """Extra: a quoted text holding a bare \\r is one line to an editor; the next row's number is right."""
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"external_id,channel,text,published_at\n"
        b'1,vk,"first\rstill the first",2026-11-01T10:00:00Z\n'
        b"2,vk,second,2026-11-01T10:00:00Z\n"
        b'3,vk,"multi\nline",2026-11-01T10:00:00Z\n'
        b"4,vk,fourth,not a time\n"
    )
    items = list(parse_import(path))
    assert [n for n, _ in items] == [2, 3, 4, 6]
    first = items[0][1]
    assert isinstance(first, Mention) and first.text == "first\rstill the first"
    last = items[3][1]
    assert isinstance(last, ImportRowError) and str(last).startswith("line 6: field published_at: ")


def test_mac_line_endings_still_number_lines(tmp_path: Path) -> None:
    """A file whose lines end in a bare \\r (old Mac) is read, numbered by those line ends."""
    path = tmp_path / "in.csv"
    path.write_bytes(b"external_id,channel,text,published_at\r1,vk,a,1800000000\r2,vk,b,bad\r")
    items = list(parse_import(path))
    assert [n for n, _ in items] == [2, 3] and isinstance(items[0][1], Mention)


async def test_a_row_the_database_refuses_loses_only_itself(store: Store, tmp_path: Path) -> None:
    """Row-level isolation: a batch the database refuses is split until the bad row is alone."""
    from sqlalchemy.exc import DataError

    path = write_jsonl(tmp_path / "in.jsonl", [good(i) for i in range(300)])
    real = Store.upsert_mentions

    class PickyStore(Store):
        def upsert_mentions(self, mentions):  # type: ignore[no-untyped-def]
            if any(m.external_id == "g137" for m in mentions):
                raise DataError("INSERT ...", {}, Exception("value out of range for type bigint"))
            return real(self, mentions)

    url = db_url(store)
    config = Config(storage=StorageSettings(url=url))
    original_open = service.open_store
    try:
        service.open_store = lambda c: PickyStore(Store.open(c.storage.url).engine)  # type: ignore[assignment]
        report = await service.import_file(config, path, model=FakeSentimentModel())
    finally:
        service.open_store = original_open  # type: ignore[assignment]
    assert report.new == 299
    assert report.errors == [
        "line 138: not stored: DataError: (builtins.Exception) value out of range for type bigint"
    ]
    assert count(store) == 299 and "g137" not in stored(store)


def test_more_hostile_values_at_the_parser(tmp_path: Path) -> None:
    """Beyond the issue's list: integers beyond a float, deep nesting, huge numbers, script links, NUL."""
    rows: list[object] = [
        '{"external_id": "a", "channel": "vk", "text": "x", "published_at": 1' + "0" * 400 + "}",
        "[" * 50_000,
        '{"external_id": "c", "channel": "vk", "text": "x", "published_at": 1, "likes": 1' + "0" * 5000 + "}",
        {**good(4), "url": "javascript:alert(1)"},
        {**good(5), "text": "nul \u0000 inside"},
        {**good(6), "published_at": 1_800_000_000_000},
        {**good(7), "url": "vk.com:8080/wall1_2"},
        {**good(8), "channel": "x" * 65},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    out = {n: item for n, item in parse_import(path)}
    assert isinstance(out[7], Mention) and out[7].url == "vk.com:8080/wall1_2"
    errors = {n: str(e) for n, e in out.items() if isinstance(e, ImportRowError)}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 8], errors
    assert "field published_at" in errors[1] and "nested too deeply" in errors[2]
    assert "field url" in errors[4] and "NUL" in errors[5] and "milliseconds" in errors[6]
    assert "longer than 64" in errors[8]
