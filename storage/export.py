"""CSV and JSONL export of mentions, the index and alerts, shared by the CLI and the dashboard.

``excel=True`` writes what Russian analysts' Excel opens correctly by double-click: UTF-8 with a BOM, ``;``
as the separator and ``,`` as the decimal mark. In that mode text cells that Excel would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``) are prefixed with ``'``, because mention text is written by
strangers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Select, and_, select

from storage.schema import MentionBrand, MentionRow, effective_label
from storage.store import Store, text_search

__all__ = [
    "MENTION_COLUMNS",
    "Format",
    "mention_query",
    "mention_rows",
    "render",
    "write_rows",
]

Format = Literal["csv", "jsonl"]

MENTION_COLUMNS: tuple[str, ...] = (
    "mention_id",
    "published_at",
    "brand",
    "channel",
    "source",
    "place",
    "label",
    "score",
    "model_label",
    "model_version",
    "corrected",
    "author",
    "author_reach",
    "likes",
    "reposts",
    "comments",
    "views",
    "duplicate_of",
    "copies",
    "cluster_reach",
    "handled",
    "url",
    "text",
    "external_id",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def mention_query(
    *columns: Any,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    handled: bool | None = None,
    conn: Connection | None = None,
) -> Select[Any]:
    """``columns`` of each (mention, brand) link that passes the filters: the rows the export writes and the
    dashboard's feed shows. The caller orders and limits.

    ``labels`` are effective labels (:func:`storage.schema.effective_label`); ``until`` is exclusive;
    ``search`` matches the text case-insensitively with ``%`` and ``_`` taken literally; ``handled`` keeps
    only handled (``True``) or open (``False``) mentions. An empty or ``None`` filter lets everything through.

    ``conn``, the connection the query will run on, lets a search use SQLite's full-text index
    (:func:`storage.store.text_search` asks it how often the needle occurs); without it a search reads the
    text of every link in the window.
    """
    conds: list[ColumnElement[bool]] = []
    if brands:
        conds.append(MentionBrand.brand.in_(list(brands)))
    if channels:
        conds.append(MentionBrand.channel.in_(list(channels)))
    if labels:
        conds.append(effective_label().in_(list(labels)))
    if since is not None:
        conds.append(MentionBrand.published_at >= since)
    if until is not None:
        conds.append(MentionBrand.published_at < until)
    if search:
        conds.append(text_search(conn, search))
    if handled is not None:
        conds.append(MentionRow.handled_at.is_not(None) if handled else MentionRow.handled_at.is_(None))
    q = select(*columns).join(MentionRow, MentionRow.id == MentionBrand.mention_id)
    return q.where(and_(*conds)) if conds else q


def mention_rows(
    store: Store,
    *,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    tz: str = "UTC",
    limit: int | None = None,
    handled: bool | None = None,
) -> list[dict[str, Any]]:
    """One row per (mention, brand) link, newest first, times in ``tz`` with their offset.

    ``handled`` keeps only handled (``True``) or open (``False``) mentions, in SQL, before ``limit``.
    """
    zone = ZoneInfo(tz)
    with store.engine.connect() as conn:
        q = mention_query(
            MentionRow.id,
            MentionBrand.published_at,
            MentionBrand.brand,
            MentionBrand.channel,
            MentionRow.source,
            MentionRow.place,
            effective_label().label("label"),
            MentionBrand.score,
            MentionBrand.label.label("model_label"),
            MentionBrand.model_version,
            MentionBrand.corrected_label,
            MentionRow.author,
            MentionRow.author_reach,
            MentionRow.likes,
            MentionRow.reposts,
            MentionRow.comments,
            MentionRow.views,
            MentionRow.duplicate_of,
            MentionRow.handled_at,
            MentionRow.url,
            MentionRow.text,
            MentionRow.external_id,
            brands=brands,
            channels=channels,
            labels=labels,
            since=since,
            until=until,
            search=search,
            handled=handled,
            conn=conn,
        ).order_by(MentionBrand.published_at.desc(), MentionRow.id.desc(), MentionBrand.brand)
        if limit is not None:
            q = q.limit(limit)
        result = conn.execute(q).all()
    clusters = store.cluster_totals(r.duplicate_of or r.id for r in result)
    rows = []
    for r in result:
        copies, cluster_reach = clusters.get(r.duplicate_of or r.id, (1, r.author_reach or 0))
        rows.append(
            {
                "mention_id": r.id,
                "published_at": r.published_at.astimezone(zone).isoformat(),
                "brand": r.brand,
                "channel": r.channel,
                "source": r.source,
                "place": r.place,
                "label": r.label,
                "score": round(r.score, 4),
                "model_label": r.model_label,
                "model_version": r.model_version,
                "corrected": r.corrected_label is not None,
                "author": r.author,
                "author_reach": r.author_reach,
                "likes": r.likes,
                "reposts": r.reposts,
                "comments": r.comments,
                "views": r.views,
                "duplicate_of": r.duplicate_of,
                "copies": copies,
                "cluster_reach": cluster_reach,
                "handled": r.handled_at is not None,
                "url": r.url,
                "text": r.text,
                "external_id": r.external_id,
            }
        )
    return rows


def _cell(value: Any, excel: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Russian Excel reads "0.25" as text or a date; its decimal separator is the comma.
        return repr(value).replace(".", ",") if excel else repr(value)
    text = str(value)
    if excel and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_rows(
    out: io.TextIOBase | Any,
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: Format = "csv",
    *,
    excel: bool = False,
) -> int:
    """Write ``rows`` to a text stream; returns how many. Excel mode wants a utf-8-sig stream."""
    n = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False, default=str) + "\n")
            n += 1
        return n
    delimiter, end = (";", "\r\n") if excel else (",", "\n")
    out.write(_csv_line(columns, delimiter, end))
    for row in rows:
        out.write(_csv_line([_cell(row.get(c), excel) for c in columns], delimiter, end))
        n += 1
    return n


def _csv_line(cells: Sequence[str], delimiter: str, end: str) -> str:
    """One CSV record, RFC 4180 quoting: a cell with the separator, a quote, ``\n`` *or* ``\r`` is quoted.

    Python's ``csv.writer`` leaves a bare ``\r`` unquoted when the line ends with ``\n`` alone, and every
    reader then splits the row there; mention text is written by strangers and may start with one.
    """
    return delimiter.join(_quote(c, delimiter) for c in cells) + end


def _quote(cell: str, delimiter: str) -> str:
    if delimiter in cell or '"' in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def render(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: Format = "csv", *, excel: bool = False
) -> bytes:
    """The whole export as bytes (the dashboard's download button), with the BOM in Excel mode."""
    buf = io.StringIO()
    write_rows(buf, rows, columns, fmt, excel=excel)
    return buf.getvalue().encode("utf-8-sig" if excel and fmt == "csv" else "utf-8")
