"""CSV downloads of the current view, in the CLI export's format.

``loyalty_monitor.export`` (the CLI's ``export``) owns the format: columns, and ``excel`` meaning a UTF-8 BOM
and ``;`` as the separator, which is what Excel in a Russian locale opens without mangling Cyrillic. Until
that module lands this is a faithful stand-in; when it does, :func:`mentions_csv` delegates to it.
"""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import pandas as pd

__all__ = ["MENTION_COLUMNS", "index_csv", "mentions_csv", "to_csv_bytes"]

MENTION_COLUMNS = (
    "id",
    "published_at",
    "source",
    "channel",
    "place",
    "brand",
    "label",
    "model_label",
    "corrected_label",
    "author",
    "author_reach",
    "likes",
    "reposts",
    "comments",
    "views",
    "handled",
    "url",
    "text",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula (CSV injection) with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv_bytes(df: pd.DataFrame, *, excel: bool = False) -> bytes:
    """``,`` and plain UTF-8, or with ``excel`` a BOM and ``;``; line ends are ``\\n`` either way."""
    buf = io.StringIO()
    out = df.map(_defuse) if excel else df
    out.to_csv(buf, index=False, sep=";" if excel else ",", lineterminator="\n")
    data = buf.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if excel else data


def mentions_csv(feed_df: pd.DataFrame, tz: str, *, excel: bool = False) -> bytes:
    """The mentions of the current filters, times in ISO 8601 with the user's UTC offset."""
    zone = ZoneInfo(tz)
    df = feed_df.copy()
    df["published_at"] = [t.astimezone(zone).isoformat() if t is not None else "" for t in df["published_at"]]
    df["handled"] = df["handled_at"].notna()
    return to_csv_bytes(df[list(MENTION_COLUMNS)], excel=excel)


def index_csv(index_df: pd.DataFrame, *, excel: bool = False) -> bytes:
    """The overview's index table: brand, local day, counts, index and its interval."""
    cols = ["brand", "bucket", "positive", "negative", "neutral", "index", "ci_low", "ci_high", "low_support"]
    return to_csv_bytes(index_df[cols].round({"index": 4, "ci_low": 4, "ci_high": 4}), excel=excel)
