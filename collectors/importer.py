"""Import mentions from CSV or JSON Lines files: exports of other tools, hand-collected samples.

:func:`parse_import` reads one row at a time (a file of millions of rows never sits in memory) and yields
``(line_no, Mention)`` for good rows and ``(line_no, ImportRowError)`` for bad ones, so the CLI can store what
is usable and list exactly which lines to fix. Columns::

    source?, external_id, channel, text, published_at, url, author, author_reach,
    likes, reposts, comments, views

``source`` defaults to ``import``; ``published_at`` is ISO-8601 with a zone (``Z`` or ``+03:00``) or a unix
timestamp; a naive time is an error rather than a guess.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.mention import Mention

__all__ = ["COLUMNS", "ImportRowError", "parse_import"]

COLUMNS = (
    "source",
    "external_id",
    "channel",
    "text",
    "published_at",
    "url",
    "author",
    "author_reach",
    "likes",
    "reposts",
    "comments",
    "views",
)
REQUIRED = ("external_id", "channel", "text", "published_at")
_INTS = ("author_reach", "likes", "reposts", "comments", "views")


@dataclass(frozen=True, slots=True)
class ImportRowError:
    """Why one row was rejected; ``field`` is the column at fault (``None``: the row as a whole)."""

    line_no: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"line {self.line_no}{where}: {self.message}"


def parse_import(
    path: str | Path, default_source: str = "import"
) -> Iterator[tuple[int, Mention | ImportRowError]]:
    """Rows of a ``.csv`` or ``.jsonl``/``.ndjson`` file as mentions or errors, with 1-based line numbers.

    CSV line numbers are those of the row's first physical line (a quoted text may span several lines).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        yield from _jsonl(path, default_source)
    elif suffix in (".csv", ".tsv", ".txt"):
        yield from _csv(path, default_source, "\t" if suffix == ".tsv" else ",")
    else:
        raise ValueError(f"{path.name}: unknown import format {suffix!r} (use .csv or .jsonl)")


def _csv(path: Path, default_source: str, delimiter: str) -> Iterator[tuple[int, Mention | ImportRowError]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            yield 1, ImportRowError(1, None, f"missing columns: {', '.join(missing)}")
            return
        unknown = [c for c in header if c and c not in COLUMNS]
        if unknown:
            yield 1, ImportRowError(1, None, f"unknown columns: {', '.join(unknown)}")
            return
        line_no = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line_no, ImportRowError(line_no, None, f"malformed CSV: {exc}")
                return
            if None in row:
                yield line_no, ImportRowError(line_no, None, "more values than columns")
            elif any(v is None for v in row.values()):
                yield line_no, ImportRowError(line_no, None, "fewer values than columns")
            else:
                yield line_no, _mention(line_no, row, default_source)
            line_no = reader.line_num + 1


def _jsonl(path: Path, default_source: str) -> Iterator[tuple[int, Mention | ImportRowError]]:
    with path.open(encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_no, ImportRowError(line_no, None, f"not JSON: {exc.msg}")
                continue
            if not isinstance(row, dict):
                yield line_no, ImportRowError(line_no, None, "expected a JSON object")
                continue
            unknown = [k for k in row if k not in COLUMNS]
            if unknown:
                yield line_no, ImportRowError(line_no, None, f"unknown keys: {', '.join(sorted(unknown))}")
                continue
            yield line_no, _mention(line_no, row, default_source)


def _mention(line_no: int, row: Mapping[str, Any], default_source: str) -> Mention | ImportRowError:
    for col in REQUIRED:
        value = row.get(col)
        if value is None or (isinstance(value, str) and not value.strip()):
            return ImportRowError(line_no, col, "required")
    ints: dict[str, int | None] = {}
    for col in _INTS:
        value = row.get(col)
        if value is None or value == "":
            ints[col] = None
            continue
        try:
            number = int(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number < 0:
            return ImportRowError(line_no, col, f"expected a non-negative integer, got {str(value)[:40]!r}")
        ints[col] = number
    try:
        published = _time(row["published_at"])
    except ValueError as exc:
        return ImportRowError(line_no, "published_at", str(exc))
    text = row["text"]
    if not isinstance(text, str):
        return ImportRowError(line_no, "text", "expected a string")
    try:
        return Mention(
            source=_str(row.get("source")) or default_source,
            external_id=str(row["external_id"]).strip(),
            channel=str(row["channel"]).strip(),
            text=text,
            published_at=published,
            url=_str(row.get("url")),
            author=_str(row.get("author")),
            author_reach=ints["author_reach"],
            likes=ints["likes"],
            reposts=ints["reposts"],
            comments=ints["comments"],
            views=ints["views"],
        )
    except ValueError as exc:
        return ImportRowError(line_no, None, str(exc))


def _str(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _time(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    s = str(value).strip()
    if s.replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(s), UTC)
    try:
        when = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO-8601 time: {s[:40]!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"{s!r} has no time zone; add Z or an offset such as +03:00")
    return when.astimezone(UTC)
