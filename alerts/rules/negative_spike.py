"""``negative_spike``: negative mentions of the last hours far above the same hours of past weeks.

Per brand and channel, and for the brand over all channels ("*") when no channel explains the storm:
the count over the last ``window_hours`` (the current partial hour weighted by how much of it has passed)
against the same window one, two, ... ``baseline_weeks`` weeks ago and an hour either side, tested by
:func:`spike_test`. A series needs a week of history. Numbers: ``negative``, ``expected``, ``z``,
``p_value``, ``dispersion``, ``window_hours``; facts: ``channel``, ``negative``, ``window_hours``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select, true
from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.rules.queries import top_mentions
from alerts.settings import AlertsSettings, SpikeRule
from core.clock import floor_hour
from storage.schema import Alert, IndexHourly, MentionBrand, effective_label

__all__ = ["RULE", "NegativeSpike", "SpikeResult", "cap_storms", "spike_test"]

RULE = "negative_spike"


def cap_storms(samples: Sequence[float]) -> list[float]:
    """Samples with outliers (past storms) cut down to the median plus three robust deviations.

    A crisis last Tuesday must not raise the bar for this Tuesday; capping at median + 3 * 1.4826 * MAD
    (or + 3 * sqrt(median) when most hours are equal, as with sparse counts) keeps it from doing so.
    """
    if not samples:
        return []
    med = statistics.median(samples)
    mad = statistics.median(abs(s - med) for s in samples)
    cap = med + max(3 * 1.4826 * mad, 3 * math.sqrt(max(med, 1.0)))
    return [min(s, cap) for s in samples]


@dataclass(frozen=True, slots=True)
class SpikeResult:
    """The spike test's numbers: what was seen, what was expected, the dispersion and the tail probability."""

    observed: float
    expected: float
    sd: float
    z: float
    phi: float
    p_value: float
    fires: bool
    critical: bool


_PRIOR_WEIGHT = 3.0
"""How many samples' worth of weight the series' overall rate gets when estimating one hour of week:
four past weeks are few, and one quiet Tuesday would otherwise make an ordinary one look like a storm."""


def spike_test(
    observed: float, samples: Sequence[float], rule: SpikeRule, prior_mean: float | None = None
) -> SpikeResult:
    """Negative-binomial (quasi-Poisson) tail test of ``observed`` against comparable past ``samples``.

    Past storms are capped first (:func:`cap_storms`). The expectation is the samples' mean shrunk towards
    ``prior_mean`` (the series' overall rate for a window this long). The variance is ``phi * mean`` with
    ``phi >= 1`` from the samples: reposts and threads make complaint counts overdispersed, and plain
    Poisson would fire on every busy evening. ``phi`` also carries the uncertainty of the mean (``1 /``
    the weeks and prior it rests on), which matters most where the history holds few complaints. An exact
    tail probability, not a z-score, decides, because small counts are skewed and a z of 4 on a mean of 1
    happens every few days.
    """
    from scipy import stats

    capped = cap_storms(samples)
    n = len(capped)
    prior = prior_mean if prior_mean is not None else (statistics.fmean(capped) if capped else 0.0)
    mean = (sum(capped) + _PRIOR_WEIGHT * prior) / (n + _PRIOR_WEIGHT) if n or prior else 0.0
    mu = max(mean, 0.3)
    var = statistics.variance(capped) if n > 2 else mu
    # The mean itself is an estimate from a few weeks (three samples a week, overlapping) and the prior: a
    # gamma posterior on the rate makes the next window's count negative binomial with its variance
    # ``mu * (1 + 1 / weight)`` even for Poisson counts. A quiet channel's six complaints in three hours
    # against 0.5 expected are then p = 1e-4, not 1e-5: its 0.5 is a guess from about three past events.
    weight = n / 3.0 + _PRIOR_WEIGHT
    phi = min(10.0, max(1.0, var / mu) + 1.0 / weight)
    sd = math.sqrt(phi * mu)
    z = (observed - mean) / sd
    k = math.ceil(observed) - 1
    if phi <= 1.0 + 1e-9:
        p = float(stats.poisson.sf(k, mu))
    else:
        p = float(stats.nbinom.sf(k, mu / (phi - 1.0), 1.0 / phi))
    fires = observed >= rule.min_count and observed >= rule.min_ratio * mean and p <= rule.max_p_value
    return SpikeResult(observed, mean, sd, z, phi, p, fires, fires and p <= rule.critical_p_value)


class NegativeSpike:
    """The rule, run periodically over the hourly rollup (``index_hourly``)."""

    def __init__(self, settings: AlertsSettings, brands: Sequence[str]) -> None:
        self.settings = settings
        self.rule = settings.negative_spike
        self.brands = list(brands)

    def _series(
        self, conn: Connection, start: datetime, last: datetime
    ) -> tuple[dict[tuple[str, str], dict[datetime, int]], dict[tuple[str, str], datetime]]:
        """Negative counts per (brand, channel) and (brand, "*") per hour, and each series' first hour."""
        rows = conn.execute(
            select(IndexHourly.brand, IndexHourly.channel, IndexHourly.hour, IndexHourly.negative).where(
                and_(IndexHourly.brand.in_(self.brands), IndexHourly.hour >= start, IndexHourly.hour <= last)
            )
        ).all()
        series: dict[tuple[str, str], dict[datetime, int]] = defaultdict(dict)
        first_seen: dict[tuple[str, str], datetime] = {}
        for r in rows:
            # Each channel, and "*" for the brand over all channels: a storm spread thin over many
            # channels may pass every channel's bar and still be far above the brand's usual.
            for key in ((r.brand, r.channel), (r.brand, "*")):
                series[key][r.hour] = series[key].get(r.hour, 0) + int(r.negative)
                if key not in first_seen or r.hour < first_seen[key]:
                    first_seen[key] = r.hour
        return series, first_seen

    def find(self, conn: Connection, now: datetime) -> list[Candidate]:
        """Negative counts of the last hours against the same hours of past weeks (hour of week)."""
        rule = self.rule
        last = floor_hour(now - timedelta(microseconds=1))
        frac = min(1.0, (now - last).total_seconds() / 3600)
        window = [last - timedelta(hours=h) for h in range(rule.window_hours)]
        start = last - timedelta(weeks=rule.baseline_weeks, hours=rule.window_hours + 2)
        series, first_seen = self._series(conn, start, last)
        out: list[Candidate] = []
        # Brands whose storm a channel already explains (now, or in an alert still open): one alert, not two.
        fired: set[str] = set(
            conn.execute(
                select(Alert.brand).where(
                    and_(
                        Alert.rule == RULE,
                        Alert.channel.is_not(None),
                        Alert.state.in_(("open", "acknowledged")),
                    )
                )
            )
            .scalars()
            .all()
        )
        for brand, channel in sorted(series, key=lambda k: (k[0], k[1] == "*", k[1])):
            counts = series[(brand, channel)]
            if channel == "*" and brand in fired:
                continue
            first = first_seen[(brand, channel)]
            if last - first < timedelta(days=7):
                continue  # no week of history yet: nothing to compare with

            def total(shift: timedelta, counts: dict[datetime, int] = counts) -> float:
                s = 0.0
                for i, h in enumerate(window):
                    weight = frac if i == 0 else 1.0
                    s += counts.get(h - shift, 0) * weight
                return s

            observed = float(sum(counts.get(h, 0) for h in window))
            if observed < rule.min_count:
                continue
            samples = [
                total(timedelta(weeks=k, hours=off))
                for k in range(1, rule.baseline_weeks + 1)
                for off in (-1, 0, 1)
                if last - timedelta(weeks=k, hours=off) >= first
            ]
            history = [n for h, n in counts.items() if h < window[-1]]
            hours_seen = max(1.0, (window[-1] - first).total_seconds() / 3600)
            prior = sum(history) / hours_seen * (len(window) - 1 + frac)
            res = spike_test(observed, samples, rule, prior_mean=prior)
            if not res.fires:
                continue
            fired.add(brand)
            where = None if channel == "*" else channel
            ids = self._negative_ids(conn, brand, where, window[-1], now)
            out.append(
                Candidate(
                    rule=RULE,
                    brand=brand,
                    channel=where,
                    key="negative",
                    severity="critical" if res.critical else "warning",
                    numbers={
                        "negative": int(observed),
                        "expected": round(res.expected, 2),
                        "z": round(res.z, 1),
                        "p_value": float(f"{res.p_value:.2g}"),
                        "dispersion": round(res.phi, 2),
                        "window_hours": rule.window_hours,
                    },
                    facts={"channel": where, "negative": int(observed), "window_hours": rule.window_hours},
                    mention_ids=ids,
                    magnitude=observed,
                    top=top_mentions(conn, ids, self.settings.top_mentions),
                )
            )
        return out

    def _negative_ids(
        self, conn: Connection, brand: str, channel: str | None, since: datetime, until: datetime
    ) -> list[int]:
        """The counted negative mentions behind a spike, to show with it."""
        return list(
            conn.execute(
                select(MentionBrand.mention_id).where(
                    and_(
                        MentionBrand.brand == brand,
                        MentionBrand.channel == channel if channel is not None else true(),
                        MentionBrand.counted.is_(True),
                        effective_label() == "negative",
                        MentionBrand.published_at >= since,
                        MentionBrand.published_at <= until,
                    )
                )
            )
            .scalars()
            .all()
        )
