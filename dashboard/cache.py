"""The dashboard's cached data access, shared by the page script and the server's warm-up.

Why a module and not functions in ``app.py``: Streamlit keys a cache by the function's module, name and
source. Functions defined in the page script live in ``__main__`` of a script run, so nothing outside a
session could fill them. Here they have one stable identity, so :mod:`dashboard.serve` can open the store
and run the default view's queries while the server starts, and the first visitor finds them done.

Every live query takes the refresh ``tick``: data is at most one refresh period old, and an open
dashboard's fragments re-query on their own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from alerts.render import as_language
from dashboard import data
from dashboard.settings import DashboardSetup
from loyalty_index.themes import Theme
from storage.store import Store

__all__ = [
    "alerts",
    "brands",
    "channels",
    "feed",
    "setup",
    "store",
    "summary",
    "theme_mentions",
    "themes",
    "tick",
]

_LIST_TTL_S = 300
_MAX_CACHE_ENTRIES = 64


def setup() -> DashboardSetup:
    """The setup the starting process handed over (:meth:`DashboardSetup.from_env`; a small JSON text read
    on every run, so a test or a restart with another setup is picked up). ``ValueError`` with one line when
    there is none or it does not parse: the page shows that line."""
    return DashboardSetup.from_env()


@st.cache_resource(show_spinner=False)
def store(url: str) -> Store:
    """One store (engine and connection pool) per database for all sessions."""
    return Store.open(url)


def tick(refresh_s: float) -> int:
    """The refresh period we are in: part of every live cache key, so data is at most one period old."""
    return int(time.time() // refresh_s)


@st.cache_data(ttl=3600, max_entries=_MAX_CACHE_ENTRIES, show_spinner=False)
def summary(url: str, f: data.Filters, tick: int) -> pd.DataFrame:
    """Counts per bucket, brand, channel and label: everything the overview draws."""
    return data.summary(store(url).engine, f)


@st.cache_data(ttl=3600, max_entries=_MAX_CACHE_ENTRIES, show_spinner=False)
def feed(url: str, f: data.Filters, limit: int, tick: int) -> pd.DataFrame:
    """The newest ``limit`` mention links that pass the filters."""
    return data.feed(store(url).engine, f, limit)


@st.cache_data(ttl=3600, max_entries=_MAX_CACHE_ENTRIES, show_spinner=False)
def alerts(url: str, f: data.Filters, tick: int, lang: str) -> pd.DataFrame:
    """Alerts in the window, with their delivery state, titled in ``lang``."""
    return data.alerts_frame(store(url), f, datetime.now(UTC), as_language(lang))


@st.cache_data(ttl=3600, max_entries=_MAX_CACHE_ENTRIES, show_spinner=False)
def themes(
    url: str, brands: tuple[str, ...], stop_terms: tuple[str, ...], f: data.Filters, tick: int
) -> list[Theme]:
    """Themes per brand for the period; seconds of work for a month of a busy brand, so cached per tick."""
    return data.themes(store(url).engine, brands, stop_terms, f)


@st.cache_data(ttl=3600, max_entries=_MAX_CACHE_ENTRIES, show_spinner=False)
def theme_mentions(url: str, brand: str, mention_ids: tuple[int, ...], limit: int, tick: int) -> pd.DataFrame:
    """The mentions of one theme, newest first."""
    return data.theme_mentions(store(url).engine, brand, mention_ids, limit)


@st.cache_data(ttl=_LIST_TTL_S, show_spinner=False)
def brands(url: str) -> list[str]:
    """Brands with stored mentions, for the filter list."""
    return data.distinct_brands(store(url).engine)


@st.cache_data(ttl=_LIST_TTL_S, show_spinner=False)
def channels(url: str) -> list[str]:
    """Channels with stored mentions, for the filter list."""
    return data.channels(store(url).engine)
