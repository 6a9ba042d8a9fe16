"""The SQL index against the plain-Python reference, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_index import (
    bucket_start,
    bucket_starts,
    index_series,
    index_table_rows,
    index_window,
    loyalty_index,
    rolling_index,
    share_of_voice,
    wilson_interval,
)
from storage.store import Store
from tests.loyalty_index.links import Link, reference_series, write_links

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_index_undefined_without_positive_or_negative() -> None:
    v = loyalty_index(0, 0, 5)
    assert v.index is None and v.ci_low is None and v.low_support


def test_one_mention_is_flagged_and_its_interval_is_wide() -> None:
    v = loyalty_index(1, 0)
    assert v.index == 1.0
    assert v.low_support
    assert v.ci_low is not None and v.ci_low < -0.5
    assert not loyalty_index(40, 10).low_support


@given(st.integers(0, 500), st.integers(0, 500))
def test_wilson_interval_contains_the_estimate(p: int, n: int) -> None:
    if p + n == 0:
        return
    lo, hi = wilson_interval(p, p + n)
    assert 0.0 <= lo <= p / (p + n) <= hi <= 1.0
    v = loyalty_index(p, n)
    assert v.ci_low is not None and v.ci_high is not None and v.index is not None
    assert v.ci_low - 1e-12 <= v.index <= v.ci_high + 1e-12


def test_daily_series_counts_corrections_and_skips_copies(store: Store) -> None:
    write_links(
        store,
        [
            Link("A", "vk", T0 + timedelta(hours=1), "positive"),
            Link("A", "vk", T0 + timedelta(hours=2), "positive"),
            Link("A", "vk", T0 + timedelta(hours=3), "positive", corrected_label="negative"),
            Link("A", "vk", T0 + timedelta(hours=4), "negative", counted=False),
            Link("A", "vk", T0 + timedelta(hours=5), "neutral"),
            Link("A", "tg", T0 + timedelta(days=1), "neutral"),
            Link("B", "vk", T0 + timedelta(days=1, hours=1), "negative"),
        ],
    )
    pts = index_series(store, bucket="day")
    got = [(p.brand, p.channel, p.bucket_start, p.positive, p.negative, p.neutral, p.index) for p in pts]
    assert got == [
        ("A", "tg", T0 + timedelta(days=1), 0, 0, 1, None),
        ("A", "vk", T0, 2, 1, 1, pytest.approx(1 / 3)),
        ("B", "vk", T0 + timedelta(days=1), 0, 1, 0, -1.0),
    ]
    assert all(p.low_support for p in pts)
    all_channels = index_series(store, brands=["A"], bucket="week", by_channel=False)
    # 1 March 2026 is a Sunday: the Monday after opens a new week.
    assert [(p.channel, p.bucket_start, p.positive, p.negative, p.neutral) for p in all_channels] == [
        (None, T0 - timedelta(days=6), 2, 1, 1),
        (None, T0 + timedelta(days=1), 0, 0, 1),
    ]


def test_day_boundaries_follow_the_time_zone(store: Store) -> None:
    # 22:30 UTC on 1 March is 01:30 on 2 March in Moscow (UTC+3).
    write_links(store, [Link("A", "vk", T0 + timedelta(hours=22, minutes=30), "positive")])
    (utc,) = index_series(store, bucket="day")
    (msk,) = index_series(store, bucket="day", tz="Europe/Moscow")
    assert utc.bucket_start == T0
    assert msk.bucket_start == datetime(2026, 3, 1, 21, tzinfo=UTC)


def test_daylight_saving_day_in_new_york(store: Store) -> None:
    # 8 March 2026 is 23 hours long in New York: 05:00 UTC to 04:00 UTC next day.
    write_links(
        store,
        [
            Link("A", "vk", datetime(2026, 3, 8, 5, 30, tzinfo=UTC), "positive"),
            Link("A", "vk", datetime(2026, 3, 9, 3, 30, tzinfo=UTC), "negative"),
            Link("A", "vk", datetime(2026, 3, 9, 4, 30, tzinfo=UTC), "negative"),
        ],
    )
    pts = index_series(store, bucket="day", tz="America/New_York")
    assert [(p.bucket_start, p.positive, p.negative) for p in pts] == [
        (datetime(2026, 3, 8, 5, tzinfo=UTC), 1, 1),
        (datetime(2026, 3, 9, 4, tzinfo=UTC), 0, 1),
    ]


_TZS = ["UTC", "Europe/Moscow", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Europe/London"]
_link = st.builds(
    Link,
    brand=st.sampled_from(["A", "B", "C"]),
    channel=st.sampled_from(["vk", "telegram", "news"]),
    published_at=st.integers(0, 400 * 24 * 3600).map(
        lambda s: datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
    ),
    label=st.sampled_from(["positive", "negative", "neutral"]),
    corrected_label=st.none() | st.sampled_from(["positive", "negative", "neutral"]),
    counted=st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    links=st.lists(_link, max_size=60),
    bucket=st.sampled_from(["hour", "day", "week"]),
    tz=st.sampled_from(_TZS),
    by_channel=st.booleans(),
    bounded=st.booleans(),
    brand_filter=st.none() | st.just(["A", "C"]),
)
def test_sql_matches_reference(
    store: Store,
    links: list[Link],
    bucket: str,
    tz: str,
    by_channel: bool,
    bounded: bool,
    brand_filter: list[str] | None,
) -> None:
    write_links(store, links)
    since = datetime(2025, 3, 28, 17, 13, tzinfo=UTC) if bounded else None
    until = datetime(2025, 11, 2, 6, 59, tzinfo=UTC) if bounded else None
    pts = index_series(
        store,
        brands=brand_filter,
        bucket=bucket,
        tz=tz,
        by_channel=by_channel,
        since=since,
        until=until,  # type: ignore[arg-type]
    )
    got = {
        (p.brand, p.channel, p.bucket_start): (p.positive, p.negative, p.neutral, p.index, p.low_support)
        for p in pts
    }
    want = reference_series(
        links, bucket, tz, by_channel=by_channel, since=since, until=until, brands=brand_filter
    )
    assert got == want


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(links=st.lists(_link, max_size=40), window=st.integers(1, 10), tz=st.sampled_from(_TZS))
def test_rolling_index_sums_the_window(store: Store, links: list[Link], window: int, tz: str) -> None:
    write_links(store, links)
    since, until = datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
    pts = rolling_index(store, since, until, window=window, bucket="week", tz=tz, by_channel=False)
    starts = bucket_starts(since - timedelta(weeks=window), until, "week", tz)
    for p in pts:
        i = starts.index(p.bucket_start)
        covered = set(starts[i - window + 1 : i + 1])
        ref = [
            link
            for link in links
            if link.counted
            and link.brand == p.brand
            and link.published_at < until
            and bucket_start(link.published_at, "week", tz) in covered
        ]
        labels = [link.corrected_label or link.label for link in ref]
        assert (p.positive, p.negative, p.neutral) == (
            labels.count("positive"),
            labels.count("negative"),
            labels.count("neutral"),
        )
    assert all(since - timedelta(weeks=1) < p.bucket_start < until for p in pts)


def test_fill_draws_gaps_as_none(store: Store) -> None:
    write_links(store, [Link("A", "vk", T0 + timedelta(days=2), "positive")])
    pts = index_series(store, since=T0, until=T0 + timedelta(days=4), fill=True)
    assert [(p.bucket_start.day, p.positive, p.index) for p in pts] == [
        (1, 0, None),
        (2, 0, None),
        (3, 1, 1.0),
        (4, 0, None),
    ]


def test_window_and_share_of_voice(store: Store) -> None:
    links = [Link("A", "vk", T0 + timedelta(hours=i), "positive" if i % 3 else "negative") for i in range(30)]
    links += [Link("B", "vk", T0 + timedelta(hours=i), "negative") for i in range(10)]
    links += [Link("B", "tg", T0 + timedelta(hours=i), "neutral") for i in range(10)]
    links += [Link("B", "tg", T0 + timedelta(hours=i), "neutral", counted=False) for i in range(10)]
    write_links(store, links)
    (a,) = index_window(store, T0, T0 + timedelta(days=2), brands=["A"], by_channel=False)
    assert (a.positive, a.negative, a.index, a.low_support) == (20, 10, pytest.approx(1 / 3), False)
    sov = {s.brand: s for s in share_of_voice(store, since=T0, until=T0 + timedelta(days=2))}
    assert sov["A"].mentions == 30 and sov["B"].mentions == 20
    assert sov["A"].share == pytest.approx(0.6) and sov["A"].total == 50
    per_channel = share_of_voice(store, by_channel=True)
    assert {(s.brand, s.channel): s.share for s in per_channel} == {
        ("A", "vk"): pytest.approx(0.75),
        ("B", "vk"): pytest.approx(0.25),
        ("B", "tg"): 1.0,
    }
    day1 = [s for s in share_of_voice(store, bucket="day") if s.bucket_start == T0]
    assert {s.brand: (s.mentions, s.total) for s in day1} == {"A": (24, 44), "B": (20, 44)}


def test_csv_rows_leave_undefined_index_empty(store: Store) -> None:
    write_links(
        store,
        [
            Link("A", "vk", T0 + timedelta(hours=20), "positive"),
            Link("A", "vk", T0 + timedelta(hours=22), "negative"),
            Link("A", "vk", T0 + timedelta(hours=23), "positive"),
            Link("A", "tg", T0 + timedelta(hours=1), "neutral"),
        ],
    )
    rows = index_table_rows(store, tz="Europe/Moscow")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    assert buf.getvalue() == (
        "date,brand,channel,positive,negative,neutral,index\n"
        "2026-03-01,A,tg,0,0,1,\n"
        "2026-03-01,A,vk,1,0,0,1.0\n"
        "2026-03-02,A,vk,1,1,0,0.0\n"
    )


def test_empty_store_gives_no_points(store: Store) -> None:
    assert index_series(store) == []
    assert index_table_rows(store) == []
    assert share_of_voice(store) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    links=st.lists(_link, min_size=1, max_size=30),
    edits=st.lists(
        st.tuples(
            st.integers(0, 29),
            st.none() | st.sampled_from(["positive", "negative", "neutral"]),
            st.booleans(),
        ),
        max_size=15,
    ),
    deletes=st.lists(st.integers(0, 29), max_size=5),
)
def test_hourly_rollup_follows_corrections_copies_and_deletes(
    store: Store, links: list[Link], edits: list[tuple[int, str | None, bool]], deletes: list[int]
) -> None:
    """The triggers behind index_hourly must keep it equal to a fresh count after any edit."""
    from dataclasses import replace

    from sqlalchemy import delete, update

    from storage.schema import MentionBrand

    write_links(store, links)
    current = {i: link for i, link in enumerate(links)}
    with store.engine.begin() as conn:
        for i, corrected, counted in edits:
            if i not in current:
                continue
            conn.execute(
                update(MentionBrand)
                .where(MentionBrand.mention_id == i + 1)
                .values(corrected_label=corrected, counted=counted)
            )
            current[i] = replace(current[i], corrected_label=corrected, counted=counted)
        for i in deletes:
            conn.execute(delete(MentionBrand).where(MentionBrand.mention_id == i + 1))
            current.pop(i, None)
    pts = index_series(store, bucket="day", tz="Europe/Moscow")
    got = {
        (p.brand, p.channel, p.bucket_start): (p.positive, p.negative, p.neutral, p.index, p.low_support)
        for p in pts
    }
    assert got == reference_series(list(current.values()), "day", "Europe/Moscow")
