"""The spreading rule's arithmetic, checked by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from alerts.rules.engagement_growth import (
    Growth,
    Snapshot,
    growth,
    quantile,
    reach_factor,
    weighted_engagement,
)
from alerts.settings import SpreadRule

T0 = datetime(2026, 5, 4, 12, tzinfo=UTC)
RULE = SpreadRule()  # weights 10 / 3 / 0.01, reach_scale 10 000


def test_weights_and_reach() -> None:
    assert weighted_engagement(2, 3, 100, RULE) == 2 * 10 + 3 * 3 + 100 * 0.01
    assert weighted_engagement(-5, 0, 0, RULE) == 0  # a counter that went down is no growth
    assert reach_factor(None, RULE) == 1.0
    assert math.isclose(reach_factor(90_000, RULE), 2.0)  # 1 + log10(1 + 9)


def test_quantile_interpolates() -> None:
    assert quantile([4, 1, 3, 2], 0.5) == 2.5
    assert quantile([1, 2, 3, 4, 5], 1.0) == 5
    assert quantile([], 0.9) == 0.0


def test_growth_over_about_the_last_hour() -> None:
    snaps = [
        Snapshot(T0 + timedelta(minutes=30), 10, 5, 200),
        Snapshot(T0 + timedelta(minutes=90), 40, 20, 1000),
    ]
    now = Snapshot(T0 + timedelta(minutes=100), 40, 20, 1000)
    # From the snapshot an hour before the last one: 30 reposts, 15 comments, 800 views in one hour.
    assert growth(T0, now, snaps, RULE) == Growth(30 * 10 + 15 * 3 + 800 * 0.01, 30.0, 15.0, 800.0)


def test_growth_of_a_young_post_is_measured_over_an_hour_at_least() -> None:
    # No snapshots: the stored counters at now, 30 minutes after publication, count as one hour's growth.
    assert growth(T0, Snapshot(T0 + timedelta(minutes=30), 5, 0, 0), [], RULE) == Growth(50.0, 5.0, 0.0, 0.0)


def test_nothing_observed_for_two_hours_is_not_spreading() -> None:
    snaps = [Snapshot(T0 + timedelta(minutes=30), 10, 5, 200)]
    assert growth(T0, Snapshot(T0 + timedelta(hours=3), 10, 5, 200), snaps, RULE) == Growth(0.0)
