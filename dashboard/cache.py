"""The dashboard's cached data access, shared by the page script and the server's warm-up.

Why a module and not functions in ``app.py``: Streamlit keys a cache by the function's module, name and
source. Functions defined in the page script live in ``__main__`` of a script run, so nothing outside a
session could fill them. Here they have one stable identity, so :mod:`dashboard.serve` can open the store
and run the default view's queries while the server starts, and the first visitor finds them done.

Every live query takes the refresh ``tick``: data is at most one refresh period old, and an open
dashboard's fragments re-query on their own.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboard import data
from loyalty_monitor.config import Config, load_config
from storage.store import Store

__all__ = [
    "ENV_CONFIG",
    "ENV_DB",
    "alerts",
    "app_args",
    "brands",
    "channels",
    "config",
    "feed",
    "store",
    "summary",
    "tick",
]

ENV_CONFIG = "LOYALTY_DASHBOARD_CONFIG"
ENV_DB = "LOYALTY_DASHBOARD_DB"
_LIST_TTL_S = 300
_MAX_CACHE_ENTRIES = 64


def app_args(argv: list[str] | None = None) -> tuple[str | None, str | None]:
    """``--config`` and ``--db`` from the arguments after ``--``; the environment wins (tests use it)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config", default=None)
    parser.add_argument("--db", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return os.environ.get(ENV_CONFIG, args.config), os.environ.get(ENV_DB, args.db)


@st.cache_resource(show_spinner=False)
def config(config_path: str | None, db_url: str | None) -> Config:
    """The loaded config, once per process (a ``ConfigError`` is not cached, so a fix is picked up)."""
    return load_config(config_path, db_url)


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
def alerts(url: str, f: data.Filters, tick: int) -> pd.DataFrame:
    """Alerts in the window, with their delivery state."""
    return data.alerts_frame(store(url), f, datetime.now(UTC))


@st.cache_data(ttl=_LIST_TTL_S, show_spinner=False)
def brands(url: str) -> list[str]:
    """Brands with stored mentions, for the filter list."""
    return data.distinct_brands(store(url).engine)


@st.cache_data(ttl=_LIST_TTL_S, show_spinner=False)
def channels(url: str) -> list[str]:
    """Channels with stored mentions, for the filter list."""
    return data.channels(store(url).engine)
