"""Import mentions from CSV or JSON Lines files: exports of other tools, hand-collected samples.

:func:`parse_import` reads one row at a time (a file of millions of rows never sits in memory) and yields
``(line_no, Mention)`` for good rows and ``(line_no, ImportRowError)`` for bad ones, so the CLI can store what
is usable and list exactly which lines to fix. Columns::

    source?, external_id, channel, text, published_at, url, author, author_reach,
    likes, reposts, comments, views, brand?, label?

``source`` defaults to ``import``; ``published_at`` is ISO-8601 with a zone (``Z`` or ``+03:00``) or a unix
timestamp; a naive time is an error rather than a guess.

History exported from another tool may carry its own brand and sentiment: ``brand`` (a configured brand or
alias; the app shell checks it against the config) links the mention without text matching, and ``label``
(``negative``/``neutral``/``positive`` or ``-1``/``0``/``1``) is kept instead of running the model. Such
rows come out as :class:`LabelledMention`, every other row as a plain :class:`~core.mention.Mention`.

Files come from strangers and from Excel, so every format goes through the same two steps:

* **one decoding step** (:class:`_Lines`): the file is read as bytes and each physical line decoded on its
  own, so invalid UTF-8 spoils one row (``line 7: field text: not valid UTF-8 (byte 0xFF)``), never the file;
  binary files (an ``.xlsx`` workbook, UTF-16 text, a zip) are refused up front in one line
  (:class:`ImportFileError`);
* **one validation** (:func:`_mention`) of every field with its type and range: counts are whole numbers in
  0 .. 2^63-1 (``3.7``, ``true``, ``Infinity`` and ``1e30`` are errors, not 3, 1 or a crash), times lie in
  1970 .. 2100, identifiers and channels are text (a JSON object is not silently turned into "{'a': 1}"), and
  no text carries a lone surrogate or a NUL character the databases would refuse.

A repeated (source, external id) inside one file is reported with both line numbers; the first row is kept.
Line numbers are those an editor shows: a bare ``\\r`` inside a quoted CSV text does not start a new line.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from core.mention import Mention

__all__ = [
    "COLUMNS",
    "EARLIEST",
    "LABELS",
    "LATEST",
    "MAX_COUNT",
    "ImportFileError",
    "ImportRowError",
    "LabelledMention",
    "check_import_file",
    "parse_import",
]

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
    "brand",
    "label",
)
REQUIRED = ("external_id", "channel", "text", "published_at")
_INTS = ("author_reach", "likes", "reposts", "comments", "views")
#: The largest count the databases store (a signed 64-bit integer).
MAX_COUNT = 2**63 - 1
#: Publication times outside this range are typing or unit mistakes (milliseconds read as seconds).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
#: Column widths of the mentions table; longer values would fail the whole batch on PostgreSQL.
_MAX_LEN = {"source": 64, "external_id": 255, "channel": 64, "author": 255, "brand": 128}
#: The sentiment labels a file may carry, and the numeric spellings other tools export.
LABELS = ("negative", "neutral", "positive")
_LABEL_NUMBERS = {
    "-1": "negative",
    "0": "neutral",
    "+0": "neutral",
    "-0": "neutral",
    "1": "positive",
    "+1": "positive",
}
_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
}
_SNIFF = 8192
_WHOLE = re.compile(r"\d+(?:\.0*)?", re.ASCII)
_NUMERIC = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")
#: A URL scheme (``javascript:``, ``data:``), not a host and port (``vk.com:8080``).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")


@dataclass(slots=True)
class LabelledMention(Mention):
    """A mention whose file named its brand and/or its sentiment.

    ``brand`` is as written in the file (a name or an alias, resolved against the config by the caller);
    ``label`` is already one of :data:`LABELS`.
    """

    brand: str | None = None
    label: str | None = None


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (binary, UTF-16, unknown format): one line naming it."""


@dataclass(frozen=True, slots=True)
class ImportRowError:
    """Why one row was rejected; ``field`` is the column at fault (``None``: the row as a whole).

    ``str()`` reads ``line 7: field likes: expected a whole number, got 3.7``; the CLI puts the file name in
    front, so every message names file, line and field once.
    """

    line_no: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f" field {self.field}:" if self.field else ""
        return f"line {self.line_no}:{where} {self.message}"


class _FieldError(ValueError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_import_file(path: str | Path) -> str:
    """The format of ``path`` (``csv``, ``tsv`` or ``jsonl``); :class:`ImportFileError` when it is not one.

    Called before anything heavy (the model) loads, so an ``.xlsx`` is refused at once in one line.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods", ".numbers"):
        raise ImportFileError(
            f"{path}: a spreadsheet ({suffix}), not CSV or JSONL; save it as 'CSV UTF-8' and import that"
        )
    kind = _FORMATS.get(suffix)
    if kind is None:
        raise ImportFileError(
            f"{path}: unknown import format {suffix or '(no extension)'!r} (use .csv or .jsonl)"
        )
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF)
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    problem = _binary_kind(head)
    if problem:
        raise ImportFileError(f"{path}: {problem}, not CSV or JSONL text; nothing imported")
    return kind


def _binary_kind(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (an Excel .xlsx workbook?)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel .xls workbook"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive (unpack it first)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (save it as UTF-8)"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head and head.count(0) * 100 >= len(head) * 45:
        # UTF-16 without a byte-order mark, or plainly binary. A stray NUL in a text file is a line error.
        return "a binary file (nearly half of it is NUL bytes; UTF-16?)"
    return None


_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


def parse_import(
    path: str | Path, default_source: str = "import"
) -> Iterator[tuple[int, Mention | ImportRowError]]:
    """Rows of a ``.csv``/``.tsv`` or ``.jsonl``/``.ndjson`` file as mentions or errors, with 1-based line
    numbers; raises :class:`ImportFileError` (before yielding anything) for a file that is not one.

    CSV line numbers are those of the row's first physical line (a quoted text may span several lines).
    """
    path = Path(path)
    kind = check_import_file(path)
    rows = _jsonl(path, default_source) if kind == "jsonl" else _csv(path, default_source, kind)
    first_line: dict[tuple[str, str], int] = {}
    for line_no, item in rows:
        if isinstance(item, Mention):
            key = (item.source, item.external_id)
            first = first_line.setdefault(key, line_no)
            if first != line_no:
                yield (
                    line_no,
                    ImportRowError(
                        line_no,
                        "external_id",
                        f"{item.external_id!r} repeats line {first} (source {item.source!r}); "
                        f"line {first} is kept",
                    ),
                )
                continue
        yield line_no, item


class _Lines:
    """The file's physical lines, decoded one by one, numbered as an editor numbers them.

    Bytes that are not UTF-8 are kept as lone surrogates (``surrogateescape``) so the CSV parser still sees
    the row's shape; the row is then rejected naming the field and the byte. A bare ``\\r`` is handed to the
    parser as a line end (old Mac files use it), but counts as a new line only in a file whose first line
    ends with one: inside a quoted text of an ordinary file it is part of the text.
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.first_of_call: int | None = None
        self.last = 1

    def __iter__(self) -> Iterator[str]:
        cr_mode: bool | None = None
        line_no = 0
        for i, raw in enumerate(self._fh):
            if i == 0:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            text = raw.decode("utf-8", "surrogateescape")
            if cr_mode is None:
                cr_mode = _ends_with_bare_cr(text)
            line_no += 1
            for piece in _split_bare_cr(text):
                self.last = line_no
                if self.first_of_call is None:
                    self.first_of_call = line_no
                yield piece
                if cr_mode and piece.endswith("\r"):
                    line_no += 1


def _ends_with_bare_cr(text: str) -> bool | None:
    """Whether the first line end in ``text`` is a bare ``\\r``; ``None`` when there is none yet."""
    for i, ch in enumerate(text):
        if ch == "\n":
            return False
        if ch == "\r":
            return i + 1 >= len(text) or text[i + 1] != "\n"
    return None


def _split_bare_cr(text: str) -> list[str]:
    if "\r" not in text:
        return [text]
    return [p for p in re.split(r"(?<=\r)(?!\n)", text) if p]


def _csv(path: Path, default_source: str, kind: str) -> Iterator[tuple[int, Mention | ImportRowError]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open("rb") as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines, delimiter="\t" if kind == "tsv" else ",")
        header: list[str] | None = None
        while True:
            lines.first_of_call = None
            try:
                row = next(reader)
            except StopIteration:
                if header is None:
                    yield 1, ImportRowError(1, None, "the file is empty (a CSV needs a header line)")
                return
            except csv.Error as exc:
                line_no = lines.first_of_call or lines.last
                yield line_no, ImportRowError(line_no, None, f"malformed CSV: {exc}")
                if header is None:
                    return
                continue
            line_no = lines.first_of_call or lines.last
            if not row or (len(row) == 1 and not row[0].strip() and header is not None):
                continue
            if header is None:
                header = [h.strip() for h in row]
                problem = _header_problem(header)
                if problem:
                    yield line_no, ImportRowError(line_no, None, problem)
                    return
                continue
            if len(row) > len(header):
                yield (
                    line_no,
                    ImportRowError(
                        line_no, None, f"more values than columns ({len(row)}, the header has {len(header)})"
                    ),
                )
                continue
            if len(row) < len(header):
                yield (
                    line_no,
                    ImportRowError(
                        line_no, None, f"fewer values than columns ({len(row)}, the header has {len(header)})"
                    ),
                )
                continue
            values = {h: v for h, v in zip(header, row, strict=True) if h}
            yield line_no, _mention(line_no, values, default_source, from_bytes=True)


def _header_problem(header: list[str]) -> str | None:
    bad = [h for h in header if _SURROGATE.search(h)]
    if bad:
        return f"the header is not valid UTF-8 ({_show(bad[0])})"
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return f"missing columns: {', '.join(missing)}"
    unknown = [c for c in header if c and c not in COLUMNS]
    if unknown:
        return f"unknown columns: {', '.join(_show(c) for c in unknown[:5])}"
    repeated = sorted({c for c in header if c and header.count(c) > 1})
    if repeated:
        return f"repeated columns: {', '.join(repeated)}"
    return None


def _jsonl(path: Path, default_source: str) -> Iterator[tuple[int, Mention | ImportRowError]]:
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if line_no == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start]
                yield (
                    line_no,
                    ImportRowError(
                        line_no,
                        None,
                        f"not valid UTF-8 (byte 0x{bad:02X} at byte {exc.start + 1} of the line)",
                    ),
                )
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_no, ImportRowError(line_no, None, f"not JSON: {exc.msg} at column {exc.colno}")
                continue
            except RecursionError:
                yield line_no, ImportRowError(line_no, None, "not usable JSON: nested too deeply")
                continue
            except ValueError as exc:  # e.g. an integer of more than 4300 digits
                yield line_no, ImportRowError(line_no, None, f"not usable JSON: {str(exc)[:80]}")
                continue
            if not isinstance(row, dict):
                yield line_no, ImportRowError(line_no, None, f"expected a JSON object, got {_kind(row)}")
                continue
            unknown = [k for k in row if k not in COLUMNS]
            if unknown:
                shown = ", ".join(_show(k) for k in sorted(unknown)[:5])
                yield line_no, ImportRowError(line_no, None, f"unknown keys: {shown}")
                continue
            yield line_no, _mention(line_no, row, default_source, from_bytes=False)


def _mention(
    line_no: int, row: Mapping[str, Any], default_source: str, *, from_bytes: bool
) -> Mention | ImportRowError:
    """The one validation of a row, whatever file it came from: the first bad field is reported."""
    try:
        for col in REQUIRED:
            value = row.get(col)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise _FieldError(col, "required")
        external_id = _text("external_id", row["external_id"], from_bytes, allow_int=True)
        channel = _text("channel", row["channel"], from_bytes)
        text = _text("text", row["text"], from_bytes, strip=False)
        published = _time(row["published_at"])
        source = _text("source", row.get("source"), from_bytes) or default_source
        url = _text("url", row.get("url"), from_bytes)
        if url is not None and _SCHEME.match(url) and not url.lower().startswith(("http://", "https://")):
            raise _FieldError("url", f"expected an http(s) link, got {_show(url)}")
        author = _text("author", row.get("author"), from_bytes)
        counts = {col: _count(col, row.get(col)) for col in _INTS}
        brand = _text("brand", row.get("brand"), from_bytes)
        label = _label(row.get("label"))
        if external_id is None or channel is None or text is None:  # pragma: no cover - checked above
            raise _FieldError(None, "required")
    except _FieldError as exc:
        return ImportRowError(line_no, exc.field, exc.message)
    kind = LabelledMention if brand is not None or label is not None else Mention
    extra: dict[str, Any] = {"brand": brand, "label": label} if kind is LabelledMention else {}
    try:
        return kind(
            source=source,
            external_id=external_id,
            channel=channel,
            text=text,
            published_at=published,
            url=url,
            author=author,
            author_reach=counts["author_reach"],
            likes=counts["likes"],
            reposts=counts["reposts"],
            comments=counts["comments"],
            views=counts["views"],
            **extra,
        )
    except ValueError as exc:
        return ImportRowError(line_no, None, str(exc))


def _text(
    field: str, value: Any, from_bytes: bool, *, allow_int: bool = False, strip: bool = True
) -> str | None:
    """A text field: a string (or, for ids, a whole number), valid Unicode, no NUL, within the column."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FieldError(field, f"expected text, got {_kind(value)}")
    if isinstance(value, int):
        if not allow_int:
            raise _FieldError(field, f"expected text, got {_kind(value)}")
        value = str(value)
    bad = None if value.isascii() else _SURROGATE.search(value)
    if bad:
        code = ord(bad.group())
        if from_bytes and 0xDC80 <= code <= 0xDCFF:
            raise _FieldError(field, f"not valid UTF-8 (byte 0x{code - 0xDC00:02X})")
        raise _FieldError(
            field, f"a lone surrogate \\u{code:04x} at character {bad.start() + 1} (not Unicode)"
        )
    if "\x00" in value:
        raise _FieldError(field, f"contains a NUL character at {value.index(chr(0)) + 1}")
    if strip:
        value = value.strip()
    limit = _MAX_LEN.get(field)
    if limit is not None and len(value) > limit:
        raise _FieldError(field, f"longer than {limit} characters ({len(value)})")
    return value or None


def _label(value: Any) -> str | None:
    """A sentiment label: a word of :data:`LABELS` in any case, or -1 / 0 / 1 (text or a JSON number)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _FieldError("label", f"expected negative, neutral, positive or -1, 0, 1, got {_kind(value)}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = str(value).strip().lower()
    if key in LABELS:
        return key
    if key in _LABEL_NUMBERS:
        return _LABEL_NUMBERS[key]
    raise _FieldError("label", f"expected negative, neutral, positive or -1, 0, 1, got {_show(value)}")


def _count(field: str, value: Any) -> int | None:
    """A non-negative whole number that fits the database (``3.0`` is 3; ``3.7`` and ``true`` are errors)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int
    if isinstance(value, bool):
        raise _FieldError(field, f"expected a whole number, got {_kind(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise _FieldError(field, f"expected a whole number, got {_show(value)}")
        number = int(value)
    elif isinstance(value, str):
        s = value.strip()
        if not _WHOLE.fullmatch(s) or len(s) > 40:
            raise _FieldError(field, f"expected a whole number, got {_show(value)}")
        number = int(s.split(".")[0])
    else:
        raise _FieldError(field, f"expected a whole number, got {_kind(value)}")
    if not 0 <= number <= MAX_COUNT:
        raise _FieldError(field, f"{_show(number)} is outside 0 .. 2^63-1")
    return number


def _time(value: Any) -> datetime:
    """An aware UTC time in :data:`EARLIEST` .. :data:`LATEST`: ISO-8601 with a zone, or unix seconds."""
    field = "published_at"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _FieldError(field, f"expected an ISO-8601 time or unix seconds, got {_kind(value)}")
    if isinstance(value, str):
        s = value.strip()
        if _NUMERIC.fullmatch(s) and len(s) <= 40:
            value = float(s)
        else:
            return _iso(s)
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        seconds = math.inf
    if not math.isfinite(seconds) and not isinstance(value, int):
        raise _FieldError(field, f"expected a time, got {_show(value)}")
    low, high = EARLIEST.timestamp(), LATEST.timestamp()
    if not low <= seconds < high:
        hint = " (milliseconds? unix time is in seconds)" if low <= seconds / 1000 < high else ""
        raise _FieldError(field, f"unix time {_show(value)} is outside {_range()}{hint}")
    return datetime.fromtimestamp(seconds, UTC)


def _iso(s: str) -> datetime:
    field = "published_at"
    try:
        when = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _FieldError(field, f"not an ISO-8601 time: {_show(s)}") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise _FieldError(field, f"{_show(s)} has no time zone; add Z or an offset such as +03:00")
    try:
        when = when.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _FieldError(field, f"{_show(s)} is outside {_range()}") from None
    if not EARLIEST <= when < LATEST:
        raise _FieldError(field, f"{_show(s)} is outside {_range()}")
    return when


def _range() -> str:
    return f"{EARLIEST.date().isoformat()} .. {LATEST.date().isoformat()}"


def _kind(value: Any) -> str:
    """What a wrong value is, in the file's own terms (JSON names), without echoing a huge value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, int | float):
        return f"the number {_show(value)}"
    return _show(value)


def _show(value: Any) -> str:
    """A short, printable rendering of a value for an error line (``repr`` escapes surrogates)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() < 200:
            return str(value)
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = str(value)
    return repr(text[:40] + ("…" if len(text) > 40 else ""))
