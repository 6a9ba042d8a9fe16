"""Every database read the dashboard makes, in one module.

The dashboard must paint in under two seconds with a million mentions, so the heavy lifting is a handful of
``GROUP BY`` queries that return a few thousand rows; pandas only reshapes them. The index counts come from
:mod:`loyalty_index` (which reads the hourly rollup); the feed selects its links with
:func:`storage.export.mention_query`, the filters the CSV export applies too; the freshness and
source queries are the dashboard's own, and this is the one module to change when ``alerts`` offers its
read functions.

Days are the user's days: a mention at 23:30 UTC belongs to the next day in Moscow; the index counting is
:mod:`loyalty_index`'s, which buckets in the user's zone across DST changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    func,
    select,
    text,
)

from alerts.export import ALERT_COLUMNS, alert_rows
from alerts.render import Language
from loyalty_index import Bucket, index_series
from loyalty_index.themes import Theme, brand_themes
from storage.export import mention_query
from storage.schema import MentionBrand, MentionRow, SourceHealth, effective_label
from storage.store import Store

__all__ = [
    "LABELS",
    "MIN_SUPPORT",
    "Filters",
    "alerts_frame",
    "brand_channel_index",
    "channels",
    "default_dates",
    "distinct_brands",
    "feed",
    "freshness",
    "index_frame",
    "mention_detail",
    "safe_url",
    "share_of_voice",
    "source_health_frame",
    "summary",
    "theme_mentions",
    "themes",
    "volume_frame",
    "wilson_index",
]

LABELS = ("negative", "neutral", "positive")
MIN_SUPPORT = 10
"""Below this many positive + negative mentions a point's index is flagged ``low_support``."""
_Z = 1.96


@dataclass(frozen=True, slots=True)
class Filters:
    """What the user picked. Times are aware UTC; ``until`` is exclusive. Empty tuples mean "all"."""

    since: datetime
    until: datetime
    brands: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    search: str = ""
    tz: str = "UTC"
    handled: str = "all"
    """``all``, ``open`` (not handled yet) or ``handled``."""

    @classmethod
    def days(cls, start: date, end: date, tz: str, **rest: Any) -> Filters:
        """Whole local days ``start``..``end`` (inclusive) in ``tz``, kept as the UTC instants they span."""
        zone = ZoneInfo(tz)
        since = datetime.combine(start, datetime.min.time(), zone).astimezone(UTC)
        until = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
        return cls(since=since, until=until, tz=tz, **rest)

    @classmethod
    def default(cls, days: int, tz: str, now: datetime | None = None) -> Filters:
        """The view a new session opens on: the last ``days`` local days, every brand and channel.

        The page's defaults and the server's warm-up both build it here, so the warm-up fills exactly the
        cache entries the first visitor asks for.
        """
        return cls.days(*default_dates(days, tz, now), tz)


def default_dates(days: int, tz: str, now: datetime | None = None) -> tuple[date, date]:
    """The first and last local day of the default view: the last ``days`` days up to today in ``tz``."""
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date()
    return today - timedelta(days=days - 1), today


def summary(engine: Engine, f: Filters, bucket: Bucket = "day") -> pd.DataFrame:
    """Counted links per (brand, channel, local bucket, effective label): the one query behind every chart.

    The counting is :func:`loyalty_index.index_series`, which sums the trigger-kept ``index_hourly`` rollup
    (whole hours) plus the ragged edges from the links, in the user's zone: a year of a million mentions is
    a few thousand rows. Duplicates do not count and a person's correction wins over the model's label.
    """
    points = index_series(
        engine,
        brands=list(f.brands) or None,
        channels=list(f.channels) or None,
        bucket=bucket,
        since=f.since,
        until=f.until,
        tz=f.tz,
        by_channel=True,
        min_support=MIN_SUPPORT,
    )
    zone = ZoneInfo(f.tz)
    fmt = "%Y-%m-%d" if bucket != "hour" else "%Y-%m-%d %H:00"
    rows = [
        (p.brand, p.channel, p.bucket_start.astimezone(zone).strftime(fmt), label, n)
        for p in points
        for label, n in (("negative", p.negative), ("neutral", p.neutral), ("positive", p.positive))
        if n
    ]
    df = pd.DataFrame(rows, columns=["brand", "channel", "bucket", "label", "n"])
    df["n"] = df["n"].astype("int64")
    return df


def wilson_index(positive: pd.Series, negative: pd.Series) -> pd.DataFrame:
    """Index ``(P - N) / (P + N)`` with a 95 % Wilson interval, mapped from the share of positives.

    ``index = 2p - 1`` where ``p = P / (P + N)``, so the Wilson bounds of ``p`` give the index bounds; the
    interval stays inside [-1, 1] and is honest about small counts, which a normal approximation is not.
    """
    pos = positive.astype("float64")
    neg = negative.astype("float64")
    n = pos + neg
    safe_n = n.where(n > 0)
    p = pos / safe_n
    z2 = _Z * _Z
    centre = (p + z2 / (2 * safe_n)) / (1 + z2 / safe_n)
    half = (_Z / (1 + z2 / safe_n)) * ((p * (1 - p) / safe_n + z2 / (4 * safe_n * safe_n)) ** 0.5)
    return pd.DataFrame(
        {
            "index": 2 * p - 1,
            "ci_low": 2 * (centre - half) - 1,
            "ci_high": 2 * (centre + half) - 1,
            "low_support": n < MIN_SUPPORT,
        },
        index=positive.index,
    )


def _pivot_labels(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if df.empty:
        return pd.DataFrame(columns=[*keys, *LABELS])
    wide = df.pivot_table(index=keys, columns="label", values="n", aggfunc="sum", fill_value=0)
    for lab in LABELS:
        if lab not in wide.columns:
            wide[lab] = 0
    wide = wide[list(LABELS)].reset_index()
    wide.columns.name = None
    return wide


def index_frame(summary_df: pd.DataFrame) -> pd.DataFrame:
    """Loyalty index per brand and bucket, over the channels in the summary, with its interval."""
    wide = _pivot_labels(summary_df, ["brand", "bucket"])
    if wide.empty:
        return wide.assign(index=[], ci_low=[], ci_high=[], low_support=[])
    return pd.concat([wide, wilson_index(wide["positive"], wide["negative"])], axis=1)


def brand_channel_index(summary_df: pd.DataFrame) -> pd.DataFrame:
    """Loyalty index per brand and channel over the whole range: the heatmap."""
    wide = _pivot_labels(summary_df, ["brand", "channel"])
    if wide.empty:
        return wide.assign(index=[], ci_low=[], ci_high=[], low_support=[])
    return pd.concat([wide, wilson_index(wide["positive"], wide["negative"])], axis=1)


def volume_frame(summary_df: pd.DataFrame) -> pd.DataFrame:
    """Mentions per bucket and label, all selected brands together: the stacked volume chart."""
    if summary_df.empty:
        return pd.DataFrame(columns=["bucket", "label", "n"])
    return summary_df.groupby(["bucket", "label"], as_index=False)["n"].sum()


def share_of_voice(summary_df: pd.DataFrame) -> pd.DataFrame:
    """Each brand's share of all counted mentions in the range."""
    if summary_df.empty:
        return pd.DataFrame(columns=["brand", "n", "share"])
    per = summary_df.groupby("brand", as_index=False)["n"].sum()
    per["share"] = per["n"] / per["n"].sum()
    return per.sort_values("n", ascending=False, ignore_index=True)


def _loose_distinct(engine: Engine, table: str, column: str) -> list[str]:
    """Distinct values of an indexed column by hopping the index (``MIN(x) WHERE x > prev``).

    A plain ``SELECT DISTINCT`` reads every row; this reads one index entry per value, which keeps the
    filter lists instant at a million mentions.
    """
    # ``table`` and ``column`` are constants of this module, never user input.
    sql = text(
        f"WITH RECURSIVE d(v) AS (SELECT MIN({column}) FROM {table}"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > d.v)"
        f" FROM d WHERE d.v IS NOT NULL) SELECT v FROM d WHERE v IS NOT NULL"
    )
    with engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(sql)]


def distinct_brands(engine: Engine) -> list[str]:
    """Brands present in the data (config brands are added by the caller)."""
    return _loose_distinct(engine, "mention_brands", "brand")


def channels(engine: Engine) -> list[str]:
    """Channels present in the data."""
    return _loose_distinct(engine, "mentions", "channel")


_FEED_COLUMNS = (
    "id",
    "published_at",
    "brand",
    "channel",
    "source",
    "place",
    "author",
    "author_reach",
    "likes",
    "reposts",
    "comments",
    "views",
    "label",
    "model_label",
    "corrected_label",
    "handled_at",
    "counted",
    "url",
    "text",
)


def _feed_select() -> tuple[Any, ...]:
    """The selected columns, in the order of :data:`_FEED_COLUMNS`."""
    return (
        MentionRow.id,
        MentionBrand.published_at,
        MentionBrand.brand,
        MentionBrand.channel,
        MentionRow.source,
        MentionRow.place,
        MentionRow.author,
        MentionRow.author_reach,
        MentionRow.likes,
        MentionRow.reposts,
        MentionRow.comments,
        MentionRow.views,
        effective_label().label("label"),
        MentionBrand.label.label("model_label"),
        MentionBrand.corrected_label,
        MentionRow.handled_at,
        MentionBrand.counted,
        MentionRow.url,
        MentionRow.text,
    )


#: ``Filters.handled`` as :func:`mention_query`'s ``handled`` (``all`` and anything else: ``None``).
_HANDLED = {"open": False, "handled": True}


def _feed_query(f: Filters, conn: Connection) -> Any:
    return mention_query(
        *_feed_select(),
        brands=f.brands,
        channels=f.channels,
        labels=f.sentiments,
        since=f.since,
        until=f.until,
        search=f.search.strip(),
        handled=_HANDLED.get(f.handled),
        conn=conn,
    ).order_by(MentionBrand.published_at.desc(), MentionBrand.mention_id.desc())


def safe_url(url: object) -> str | None:
    """Only ``http(s)`` links are shown: a ``javascript:`` URL from a scraped page must never be clickable."""
    if not isinstance(url, str):
        return None
    stripped = url.strip()
    return stripped if stripped.lower().startswith(("http://", "https://")) else None


def _frame(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    if "url" in df.columns:
        df["url"] = df["url"].map(safe_url)
    return df


def feed(engine: Engine, f: Filters, limit: int) -> pd.DataFrame:
    """The newest ``limit`` brand links that pass the filters (a mention naming two brands shows twice)."""
    with engine.connect() as conn:
        rows = conn.execute(_feed_query(f, conn).limit(limit)).all()
    return _frame(rows, _FEED_COLUMNS)


def themes(engine: Engine, brands: Sequence[str], stop_terms: Sequence[str], f: Filters) -> list[Theme]:
    """Themes of each brand in the filter's period, over every channel: a theme is about the brand."""
    out: list[Theme] = []
    for brand in brands:
        out.extend(brand_themes(engine, brand, f.since, f.until, stop_terms=stop_terms))
    return out


def theme_mentions(engine: Engine, brand: str, mention_ids: Sequence[int], limit: int) -> pd.DataFrame:
    """The newest ``limit`` of a theme's mentions, as feed rows of that brand."""
    ids = list(mention_ids)[-limit:] if len(mention_ids) > limit else list(mention_ids)
    q = (
        select(*_feed_select())
        .join(MentionRow, MentionRow.id == MentionBrand.mention_id)
        .where(MentionBrand.brand == brand, MentionRow.id.in_(ids))
        .order_by(MentionBrand.published_at.desc(), MentionRow.id.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return _frame(rows, _FEED_COLUMNS)


def mention_detail(engine: Engine, mention_id: int) -> pd.DataFrame:
    """One mention with all its brand links, for the correction panel."""
    q = (
        select(*_feed_select())
        .join(MentionRow, MentionRow.id == MentionBrand.mention_id)
        .where(MentionRow.id == mention_id)
        .order_by(MentionBrand.brand)
    )
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return _frame(rows, _FEED_COLUMNS)


def freshness(engine: Engine) -> dict[str, datetime | None]:
    """How fresh the data is: the newest mention's time, the last stored mention and the last poll.

    Each is an indexed lookup (newest ``published_at``, highest id, ``source_health``), never a table scan,
    because this runs on every live refresh.
    """
    with engine.connect() as conn:
        newest = conn.execute(
            select(MentionRow.published_at).order_by(MentionRow.published_at.desc()).limit(1)
        ).scalar_one_or_none()
        stored = conn.execute(
            select(MentionRow.collected_at).order_by(MentionRow.id.desc()).limit(1)
        ).scalar_one_or_none()
        polled = conn.execute(select(func.max(SourceHealth.last_success_at))).scalar_one_or_none()
    if polled is not None:  # func.max bypasses the column type on SQLite: a string or a naive value
        polled = _parse_utc(polled)
    return {"newest_mention": newest, "last_stored": stored, "last_poll": polled}


def _parse_utc(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def source_health_frame(engine: Engine) -> pd.DataFrame:
    """Each source's last success, last error and failure streak."""
    cols = [
        "source",
        "last_success_at",
        "last_error_at",
        "last_error",
        "consecutive_failures",
        "auth_failed",
        "mentions_total",
    ]
    with engine.connect() as conn:
        rows = conn.execute(select(*(getattr(SourceHealth, c) for c in cols)).order_by(SourceHealth.source))
        return pd.DataFrame(rows.all(), columns=cols)


def alerts_frame(store: Store, f: Filters, now: datetime, language: Language = "ru") -> pd.DataFrame:
    """Alerts triggered in the range for the selected brands, newest first (:func:`alerts.export.alert_rows`).

    ``state`` reads ``muted`` while ``muted_until`` is in the future; ``delivery`` is each destination's
    state for the alert's current version. ``triggered_at`` is turned back into an aware UTC time so the page
    can show it in whatever zone the user picks. Titles are worded in ``language``, the page's.
    """
    rows = alert_rows(
        store, f.since, f.until, brands=list(f.brands) or None, tz="UTC", now=now, language=language
    )
    df = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    df["triggered_at"] = [datetime.fromisoformat(v) for v in df["triggered_at"]]
    return df
