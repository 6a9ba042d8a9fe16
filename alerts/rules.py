"""The arithmetic of the rules, free of SQL: baselines, overdispersion, growth, text similarity.

Kept apart from :mod:`alerts.engine` so each number an alert reports can be checked by hand in a test.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alerts.settings import SpikeRule, SpreadRule

__all__ = [
    "SpikeResult",
    "cap_storms",
    "jaccard",
    "quantile",
    "reach_factor",
    "spike_test",
    "weighted_engagement",
]


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
    Poisson would fire on every busy evening. An exact tail probability, not a z-score, decides, because
    small counts are skewed and a z of 4 on a mean of 1 happens every few days.
    """
    from scipy import stats

    capped = cap_storms(samples)
    n = len(capped)
    prior = prior_mean if prior_mean is not None else (statistics.fmean(capped) if capped else 0.0)
    mean = (sum(capped) + _PRIOR_WEIGHT * prior) / (n + _PRIOR_WEIGHT) if n or prior else 0.0
    mu = max(mean, 0.3)
    var = statistics.variance(capped) if n > 2 else mu
    phi = min(10.0, max(1.0, var / mu))
    sd = math.sqrt(phi * mu)
    z = (observed - mean) / sd
    k = math.ceil(observed) - 1
    if phi <= 1.0 + 1e-9:
        p = float(stats.poisson.sf(k, mu))
    else:
        p = float(stats.nbinom.sf(k, mu / (phi - 1.0), 1.0 / phi))
    fires = observed >= rule.min_count and observed >= rule.min_ratio * mean and p <= rule.max_p_value
    return SpikeResult(observed, mean, sd, z, phi, p, fires, fires and p <= rule.critical_p_value)


def reach_factor(reach: int | None, rule: SpreadRule) -> float:
    """``1 + log10(1 + reach / reach_scale)``: a big author's post spreads further per repost."""
    return 1.0 + math.log10(1.0 + max(0, reach or 0) / rule.reach_scale)


def weighted_engagement(reposts: float, comments: float, views: float, rule: SpreadRule) -> float:
    """Reposts, comments and views folded into one number with the rule's weights."""
    return (
        max(0.0, reposts) * rule.repost_weight
        + max(0.0, comments) * rule.comment_weight
        + max(0.0, views) * rule.view_weight
    )


def quantile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile (linear interpolation); 0 for no values."""
    data = sorted(values)
    if not data:
        return 0.0
    pos = q * (len(data) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0 for two empty sets."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)
