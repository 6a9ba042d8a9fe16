"""Loyalty index series, rolling windows, share of voice and the CSV rows, aggregated in SQL.

The counting happens in one ``GROUP BY`` on ``mention_brands`` (served by the index on
``(brand, channel, published_at)``), on SQLite and PostgreSQL alike; Python only turns the few grouped rows
into points. Only ``counted`` links take part, so repost copies never count twice, and a person's
``corrected_label`` wins over the model's ``label``.

Day and week boundaries follow a time zone (a PR team in Moscow reads "Monday" in Moscow time). Neither
database is asked to know time zones: the zone's UTC offsets over the queried range are computed here with
:mod:`zoneinfo` and handed to SQL as a small ``CASE`` on ``published_at``, so both dialects bucket exactly
the same way, daylight-saving changes and half-hour zones included.

Usage::

    from loyalty_index import index_series
    points = index_series(store, brands=["Альфа"], bucket="week", tz="Europe/Moscow")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, case, func, literal_column, select, true
from sqlalchemy.sql.elements import ColumnElement

from loyalty_index.stats import DEFAULT_MIN_SUPPORT, DEFAULT_Z, loyalty_index
from storage.schema import IndexHourly, MentionBrand, effective_label

__all__ = [
    "INDEX_COLUMNS",
    "Bucket",
    "HasEngine",
    "IndexPoint",
    "ShareOfVoice",
    "bucket_start",
    "bucket_starts",
    "index_series",
    "index_table_rows",
    "index_window",
    "index_window_points",
    "rolling_index",
    "share_of_voice",
]

Bucket = Literal["hour", "day", "week"]

INDEX_COLUMNS = ("date", "brand", "channel", "positive", "negative", "neutral", "index")
"""Columns of :func:`index_table_rows`, in export order."""
_LABELS = ("positive", "negative", "neutral")


class HasEngine(Protocol):
    """Anything with an ``engine`` (the :class:`storage.store.Store`)."""

    @property
    def engine(self) -> Engine: ...


@dataclass(frozen=True, slots=True)
class IndexPoint:
    """The index of one brand in one channel (``None``: all channels together) and one bucket.

    ``bucket_start`` is aware UTC: the instant the bucket opens in the requested time zone. ``index`` and
    the interval are ``None`` when there were no positive or negative mentions; ``low_support`` is set
    whenever positive + negative is below the minimum support, so a single mention never reads as +1.
    """

    brand: str
    channel: str | None
    bucket_start: datetime
    positive: int
    negative: int
    neutral: int
    index: float | None
    ci_low: float | None
    ci_high: float | None
    low_support: bool

    @property
    def support(self) -> int:
        """Positive + negative: the mentions the index is made of."""
        return self.positive + self.negative


@dataclass(frozen=True, slots=True)
class ShareOfVoice:
    """A brand's counted mentions against all the compared brands' in the same channel and bucket."""

    brand: str
    channel: str | None
    bucket_start: datetime | None
    mentions: int
    total: int
    share: float | None
    positive: int
    negative: int


# -- time zones and buckets -------------------------------------------------------------------------------


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _offset_minutes(zone: ZoneInfo, at: datetime) -> int:
    off = at.astimezone(zone).utcoffset()
    assert off is not None
    return int(off.total_seconds() // 60)


def _offset_segments(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offset as ``(starts_at, minutes)`` pieces covering ``[lo, hi]``; the first has no start.

    Transitions are found by stepping a day at a time and bisecting to the second: zones change their
    offset at most a few times a year, so this is cheap even over a decade.
    """
    segments: list[tuple[datetime | None, int]] = [(None, _offset_minutes(zone, lo))]
    prev = lo
    step = timedelta(days=1)
    while prev < hi:
        nxt = min(prev + step, hi)
        if _offset_minutes(zone, nxt) != segments[-1][1]:
            a, b = int(prev.timestamp()), int(nxt.timestamp())
            base = segments[-1][1]
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_minutes(zone, datetime.fromtimestamp(mid, UTC)) == base:
                    a = mid
                else:
                    b = mid
            at = datetime.fromtimestamp(b, UTC)
            segments.append((at, _offset_minutes(zone, at)))
        prev = nxt
    return segments


def bucket_start(ts: datetime, bucket: Bucket, tz: str | ZoneInfo = "UTC") -> datetime:
    """The aware-UTC start of the bucket holding ``ts``: local hour, local midnight or local Monday."""
    zone = _zone(tz)
    local = ts.astimezone(zone)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if bucket == "week":
        day -= timedelta(days=day.weekday())
    elif bucket != "day":
        raise ValueError(f"bucket must be hour, day or week, not {bucket!r}")
    return _local_midnight(day, zone)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def bucket_starts(
    since: datetime, until: datetime, bucket: Bucket, tz: str | ZoneInfo = "UTC"
) -> list[datetime]:
    """Every bucket start from the bucket holding ``since`` up to (not including) ``until``."""
    zone = _zone(tz)
    out: list[datetime] = []
    cur = bucket_start(since, bucket, zone)
    if bucket == "hour":
        while cur < until:
            out.append(cur)
            cur = bucket_start(cur + timedelta(hours=1), "hour", zone)
        return out
    day = cur.astimezone(zone).date()
    step = timedelta(days=7 if bucket == "week" else 1)
    while cur < until:
        out.append(cur)
        day += step
        cur = _local_midnight(day, zone)
    return out


# -- SQL --------------------------------------------------------------------------------------------------


def _engine(source: Engine | HasEngine) -> Engine:
    return source if isinstance(source, Engine) else source.engine


def _time_literal(dialect: str, at: datetime) -> ColumnElement[Any]:
    """A UTC instant as SQL text in the form each dialect compares ``published_at`` with."""
    if dialect == "sqlite":
        return literal_column(f"'{at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' ')}'")
    return literal_column(f"CAST('{at.astimezone(UTC).isoformat()}' AS TIMESTAMP WITH TIME ZONE)")


def _bucket_key(
    dialect: str, bucket: Bucket, segments: list[tuple[datetime | None, int]], col: Any
) -> tuple[Any, Any]:
    """SQL for (offset minutes, local bucket key) of each row whose UTC time is ``col``."""
    offset: Any
    whens: list[tuple[Any, Any]] = []
    if len(segments) == 1:
        offset = literal_column(str(segments[0][1]))
    else:
        whens = [
            (col < _time_literal(dialect, start), literal_column(str(prev_off)))
            for (start, _), (_, prev_off) in zip(segments[1:], segments[:-1], strict=True)
            if start is not None
        ]
        offset = case(*whens, else_=literal_column(str(segments[-1][1])))
    if dialect == "sqlite":
        if len(segments) == 1 and segments[0][1] == 0:
            if bucket == "week":
                return offset, func.date(col, "-6 days", "weekday 1")
            return offset, func.substr(col, 1, 13 if bucket == "hour" else 10)
        # SQLite date functions take the offset as a modifier string such as '+180 minutes'.
        if len(segments) == 1:
            modifier: Any = literal_column(f"'{segments[0][1]:+d} minutes'")
        else:
            modifier = case(
                *[(cond, literal_column(f"'{int(str(off)):+d} minutes'")) for cond, off in whens],
                else_=literal_column(f"'{segments[-1][1]:+d} minutes'"),
            )
        if bucket == "hour":
            return offset, func.strftime("%Y-%m-%d %H", col, modifier)
        if bucket == "day":
            return offset, func.date(col, modifier)
        return offset, func.date(col, modifier, "-6 days", "weekday 1")
    local = func.timezone("UTC", col) + offset * literal_column("INTERVAL '1 minute'")
    return offset, func.date_trunc(bucket, local)


def _parse_key(value: Any, bucket: Bucket) -> datetime:
    """A bucket key from SQL as a naive local wall-clock time (zoned by the caller)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)  # noqa: DTZ001 - a local wall-clock time
    text = str(value)
    hour = int(text[11:13]) if bucket == "hour" else 0
    return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), hour)  # noqa: DTZ001 - same


Counts = dict[tuple[str, str | None, datetime], list[int]]


def _data_range(engine: Engine) -> tuple[datetime, datetime] | None:
    with engine.connect() as conn:
        lo, hi = conn.execute(
            select(func.min(MentionBrand.published_at), func.max(MentionBrand.published_at))
        ).one()
    if lo is None or hi is None:
        return None
    return lo, hi


def _floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(at: datetime) -> datetime:
    floor = _floor_hour(at)
    return floor if floor == at else floor + timedelta(hours=1)


def _grouped(
    engine: Engine,
    *,
    rollup: bool,
    brands: Sequence[str] | None,
    channels: Sequence[str] | None,
    lo: datetime | None,
    hi: datetime | None,
    bucket: Bucket | None,
    segments: list[tuple[datetime | None, int]],
    by_channel: bool,
) -> list[Any]:
    """Rows (brand, channel, offset, key, positive, negative, neutral) from one GROUP BY.

    ``rollup`` reads the per-hour counts in ``index_hourly``, otherwise the links themselves; both have
    the same shape, so a query can take whole hours from the one and the ragged edges from the other.
    """
    conds: list[ColumnElement[bool]] = []
    flags: list[Any]
    if rollup:
        tbl: Any = IndexHourly
        time_col: Any = IndexHourly.hour
        flags = [IndexHourly.positive, IndexHourly.negative, IndexHourly.neutral]
    else:
        tbl = MentionBrand
        time_col = MentionBrand.published_at
        label = effective_label()
        flags = [case((label == lbl, 1), else_=0) for lbl in _LABELS]
        conds.append(MentionBrand.counted == true())
    if brands is not None:
        conds.append(tbl.brand.in_(list(brands)))
    if channels is not None:
        conds.append(tbl.channel.in_(list(channels)))
    if lo is not None:
        conds.append(time_col >= lo)
    if hi is not None:
        conds.append(time_col < hi)
    if bucket is None:
        offset: Any = literal_column("0")
        key: Any = literal_column("0")
    else:
        offset, key = _bucket_key(engine.dialect.name, bucket, segments, tbl.__table__.c[time_col.key])
    channel_col: Any = tbl.channel if by_channel else literal_column("NULL")
    inner = (
        select(
            tbl.brand.label("b"),
            channel_col.label("c"),
            offset.label("o"),
            key.label("k"),
            flags[0].label("p"),
            flags[1].label("n"),
            flags[2].label("u"),
        )
        .where(and_(true(), *conds))
        .subquery("links")
    )
    q = select(
        inner.c.b,
        inner.c.c,
        inner.c.o,
        inner.c.k,
        func.sum(inner.c.p),
        func.sum(inner.c.n),
        func.sum(inner.c.u),
    ).group_by(inner.c.b, inner.c.c, inner.c.o, inner.c.k)
    with engine.connect() as conn:
        return list(conn.execute(q).all())


def _counts(
    engine: Engine,
    *,
    brands: Sequence[str] | None,
    channels: Sequence[str] | None,
    bucket: Bucket | None,
    since: datetime | None,
    until: datetime | None,
    tz: str | ZoneInfo,
    by_channel: bool,
) -> dict[tuple[str, str | None, datetime | None], list[int]]:
    """(brand, channel or None, bucket start) -> [positive, negative, neutral].

    Whole UTC hours come from ``index_hourly``; the partial hours at either end of ``[since, until)`` and
    zones whose offset is not a whole number of hours (India, Nepal) read the links directly.
    """
    zone = _zone(tz)
    if since is not None and until is not None and since >= until:
        return {}
    segments: list[tuple[datetime | None, int]] = [(None, 0)]
    if bucket is not None and str(zone.key) != "UTC":
        if since is None or until is None:
            rng = _data_range(engine)
            if rng is None:
                return {}
            lo_t = since if since is not None else rng[0]
            hi_t = until if until is not None else rng[1] + timedelta(seconds=1)
        else:
            lo_t, hi_t = since, until
        segments = _offset_segments(zone, lo_t - timedelta(days=1), hi_t + timedelta(days=1))
    common: dict[str, Any] = {
        "brands": brands,
        "channels": channels,
        "bucket": bucket,
        "segments": segments,
        "by_channel": by_channel,
    }
    rows: list[Any] = []
    if any(off % 60 for _, off in segments):
        rows += _grouped(engine, rollup=False, lo=since, hi=until, **common)
    else:
        lo_h = None if since is None else _ceil_hour(since)
        hi_h = None if until is None else _floor_hour(until)
        if lo_h is not None and hi_h is not None and lo_h >= hi_h:
            rows += _grouped(engine, rollup=False, lo=since, hi=until, **common)
        else:
            rows += _grouped(engine, rollup=True, lo=lo_h, hi=hi_h, **common)
            if since is not None and lo_h is not None and since < lo_h:
                rows += _grouped(engine, rollup=False, lo=since, hi=lo_h, **common)
            if until is not None and hi_h is not None and hi_h < until:
                rows += _grouped(engine, rollup=False, lo=hi_h, hi=until, **common)
    out: dict[tuple[str, str | None, datetime | None], list[int]] = {}
    parsed: dict[tuple[Any, int], datetime | None] = {}
    for brand, channel, off, raw_key, p, n, u in rows:
        p, n, u = int(p or 0), int(n or 0), int(u or 0)
        if not (p or n or u):
            continue
        start = parsed.get((raw_key, off), _MISSING)
        if start is _MISSING:
            if bucket is None:
                start = None
            else:
                local = _parse_key(raw_key, bucket)
                if bucket == "hour":
                    start = (local - timedelta(minutes=int(off))).replace(tzinfo=UTC)
                else:
                    start = _local_midnight(local.date(), zone)
            parsed[(raw_key, off)] = start
        k = (brand, channel if by_channel else None, start)
        acc = out.get(k)
        if acc is None:
            out[k] = [p, n, u]
        else:
            acc[0] += p
            acc[1] += n
            acc[2] += u
    return out


_MISSING: Any = object()


def _dated(
    counts: dict[tuple[str, str | None, datetime | None], list[int]],
) -> dict[tuple[str, str | None, datetime], list[int]]:
    return {(b, c, s): v for (b, c, s), v in counts.items() if s is not None}


def _point(
    brand: str, channel: str | None, start: datetime, c: Sequence[int], z: float, min_support: int
) -> IndexPoint:
    v = loyalty_index(c[0], c[1], c[2], z=z, min_support=min_support)
    return IndexPoint(brand, channel, start, c[0], c[1], c[2], v.index, v.ci_low, v.ci_high, v.low_support)


def _sorted_points(points: Iterable[IndexPoint]) -> list[IndexPoint]:
    return sorted(points, key=lambda p: (p.brand, p.channel or "", p.bucket_start))


# -- public API -------------------------------------------------------------------------------------------


def index_series(
    source: Engine | HasEngine,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    bucket: Bucket = "day",
    since: datetime | None = None,
    until: datetime | None = None,
    tz: str | ZoneInfo = "UTC",
    *,
    by_channel: bool = True,
    fill: bool = False,
    min_support: int = DEFAULT_MIN_SUPPORT,
    z: float = DEFAULT_Z,
) -> list[IndexPoint]:
    """The index per brand, channel (or all channels when ``by_channel`` is false) and bucket.

    ``since`` / ``until`` bound ``published_at`` (``[since, until)``). Buckets with no mentions are left
    out unless ``fill`` is set (it needs both bounds): then they appear with zero counts and ``index`` None,
    which is what a chart needs to draw a gap instead of a line through it.
    """
    if bucket not in ("hour", "day", "week"):
        raise ValueError(f"bucket must be hour, day or week, not {bucket!r}")
    counts = _dated(
        _counts(
            _engine(source),
            brands=brands,
            channels=channels,
            bucket=bucket,
            since=since,
            until=until,
            tz=tz,
            by_channel=by_channel,
        )
    )
    if fill:
        if since is None or until is None:
            raise ValueError("fill needs both since and until")
        series = {(b, c) for b, c, _ in counts}
        if not by_channel and brands is not None:
            series |= {(b, None) for b in brands}
        for start in bucket_starts(since, until, bucket, tz):
            for b, c in series:
                counts.setdefault((b, c, start), [0, 0, 0])
    return _sorted_points(_point(b, c, s, v, z, min_support) for (b, c, s), v in counts.items())


def index_window(
    source: Engine | HasEngine,
    since: datetime,
    until: datetime,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    *,
    by_channel: bool = True,
    min_support: int = DEFAULT_MIN_SUPPORT,
    z: float = DEFAULT_Z,
) -> list[IndexPoint]:
    """The index over one window ``[since, until)`` per brand (and channel); ``bucket_start`` is ``since``."""
    counts = _counts(
        _engine(source),
        brands=brands,
        channels=channels,
        bucket=None,
        since=since,
        until=until,
        tz="UTC",
        by_channel=by_channel,
    )
    acc = {(b, c): v for (b, c, _), v in counts.items()}
    return index_window_points(acc, since, brands, by_channel=by_channel, min_support=min_support, z=z)


def index_window_points(
    counts: Mapping[tuple[str, str | None], Sequence[int]],
    since: datetime,
    brands: Sequence[str] | None = None,
    *,
    by_channel: bool = True,
    min_support: int = DEFAULT_MIN_SUPPORT,
    z: float = DEFAULT_Z,
) -> list[IndexPoint]:
    """:func:`index_window`'s points from counts already summed: (brand, channel or None) ->
    [positive, negative, neutral], keys with no mention left out.

    One shaping for the query and for a caller that keeps the counts itself (a backtest adds each stored
    link to running window sums instead of asking the database every hour).
    """
    acc = {k: list(v) for k, v in counts.items()}
    if not by_channel and brands is not None:
        for b in brands:
            acc.setdefault((b, None), [0, 0, 0])
    return _sorted_points(_point(b, c, since, v, z, min_support) for (b, c), v in acc.items())


def rolling_index(
    source: Engine | HasEngine,
    since: datetime,
    until: datetime,
    window: int = 7,
    bucket: Bucket = "day",
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    tz: str | ZoneInfo = "UTC",
    *,
    by_channel: bool = True,
    min_support: int = DEFAULT_MIN_SUPPORT,
    z: float = DEFAULT_Z,
) -> list[IndexPoint]:
    """The index over a rolling window of ``window`` buckets ending with each bucket in ``[since, until)``.

    A 7-day rolling index smooths the weekday rhythm that a daily index shows; the point for a bucket
    counts that bucket and the ``window - 1`` before it (which may lie before ``since``).
    """
    if window < 1:
        raise ValueError("window must be at least 1 bucket")
    zone = _zone(tz)
    first = bucket_start(since, bucket, zone)
    lookback = first
    for _ in range(window - 1):
        lookback = bucket_start(lookback - timedelta(seconds=1), bucket, zone)
    counts = _dated(
        _counts(
            _engine(source),
            brands=brands,
            channels=channels,
            bucket=bucket,
            since=lookback,
            until=until,
            tz=zone,
            by_channel=by_channel,
        )
    )
    starts = bucket_starts(lookback, until, bucket, zone)
    series = {(b, c) for b, c, _ in counts}
    if not by_channel and brands is not None:
        series |= {(b, None) for b in brands}
    out: list[IndexPoint] = []
    for b, c in series:
        run = [0, 0, 0]
        trail: list[list[int]] = []
        for start in starts:
            cur = counts.get((b, c, start), [0, 0, 0])
            trail.append(cur)
            run = [r + x for r, x in zip(run, cur, strict=True)]
            if len(trail) > window:
                old = trail.pop(0)
                run = [r - x for r, x in zip(run, old, strict=True)]
            if start >= first:
                out.append(_point(b, c, start, run, z, min_support))
    return _sorted_points(out)


def share_of_voice(
    source: Engine | HasEngine,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: Bucket | None = None,
    tz: str | ZoneInfo = "UTC",
    *,
    by_channel: bool = False,
) -> list[ShareOfVoice]:
    """Each brand's share of the counted mentions of ``brands`` (all brands when ``None``).

    Pass our brand and its competitors to compare them on the same channels and period; with ``bucket``
    the share is per bucket, otherwise over the whole period (``bucket_start`` None). Repost copies are
    excluded, so a syndicated press release does not buy a brand its voice.
    """
    counts = _counts(
        _engine(source),
        brands=brands,
        channels=channels,
        bucket=bucket,
        since=since,
        until=until,
        tz=tz,
        by_channel=by_channel,
    )
    totals: dict[tuple[str | None, datetime | None], int] = defaultdict(int)
    for (_, c, s), v in counts.items():
        totals[(c, s)] += sum(v)
    out = [
        ShareOfVoice(
            b,
            c,
            s,
            sum(v),
            totals[(c, s)],
            sum(v) / totals[(c, s)] if totals[(c, s)] else None,
            v[0],
            v[1],
        )
        for (b, c, s), v in counts.items()
        if sum(v) or totals[(c, s)]
    ]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return sorted(out, key=lambda x: (x.bucket_start or epoch, x.channel or "", x.brand))


def index_table_rows(
    source: Engine | HasEngine,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tz: str | ZoneInfo = "UTC",
) -> list[dict[str, Any]]:
    """Rows for the CSV export: one per brand, channel and local day.

    Keys: ``date`` (ISO local date), ``brand``, ``channel``, ``positive``, ``negative``, ``neutral``,
    ``index`` (rounded to 4 places; ``None`` when positive + negative is 0, which :mod:`csv` writes as an
    empty cell, never as 0).
    """
    zone = _zone(tz)
    points = index_series(source, brands, channels, "day", since, until, zone)
    rows = [
        {
            "date": p.bucket_start.astimezone(zone).date().isoformat(),
            "brand": p.brand,
            "channel": p.channel,
            "positive": p.positive,
            "negative": p.negative,
            "neutral": p.neutral,
            "index": None if p.index is None else round(p.index, 4),
        }
        for p in points
    ]
    return sorted(rows, key=lambda r: (r["date"], r["brand"], r["channel"] or ""))
