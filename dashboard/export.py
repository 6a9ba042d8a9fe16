"""CSV downloads of the current view, in exactly the CLI export's format.

The format belongs to :mod:`storage.export` (columns; ``excel`` = UTF-8 BOM, ``;`` and formula
cells defused) and the index rows to :func:`loyalty_index.index_table_rows`; this module only maps the
dashboard's filters onto them, so a file downloaded here and one written by ``loyalty-monitor export`` match.
"""

from __future__ import annotations

from dashboard.data import Filters
from loyalty_index import INDEX_COLUMNS, index_table_rows
from storage.export import MENTION_COLUMNS, mention_rows, render
from storage.store import Store

__all__ = ["INDEX_COLUMNS", "MENTION_COLUMNS", "index_csv", "mentions_csv"]


def mentions_csv(store: Store, f: Filters, limit: int, *, excel: bool = False) -> bytes:
    """The mentions matching the current filters, newest first, at most ``limit`` rows."""
    rows = mention_rows(
        store,
        brands=list(f.brands) or None,
        channels=list(f.channels) or None,
        labels=list(f.sentiments) or None,
        since=f.since,
        until=f.until,
        search=f.search.strip() or None,
        tz=f.tz,
        limit=limit,
        handled=None if f.handled == "all" else f.handled == "handled",
    )
    return render(rows, MENTION_COLUMNS, excel=excel)


def index_csv(store: Store, f: Filters, *, excel: bool = False) -> bytes:
    """The index per brand, channel and local day over the current filters."""
    rows = index_table_rows(
        store,
        brands=list(f.brands) or None,
        channels=list(f.channels) or None,
        since=f.since,
        until=f.until,
        tz=f.tz,
    )
    return render(rows, INDEX_COLUMNS, excel=excel)
