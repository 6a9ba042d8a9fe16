"""The seasonal volume test: a count series against the same hours of past weeks, at several window lengths.

Mention volume has a daily peak, a weekly rhythm, days busier than others and, now and then, a new level
that stays (a campaign, a new collector, a brand in the news for a month). An anomaly is a window whose
count is far above what the same hours of past weeks, *scaled to the recent level*, make of it:

* **Samples**: the sum over the window at the same time of week one, two, ... ``baseline_weeks`` weeks ago
  and an hour either side. Past storms are capped (median plus three robust deviations).
* **Level**: each past week's sample is multiplied by how much busier the ``level_days`` before the window
  were than the same days of that week (clipped to 1/5..5). A level shift is therefore alerted while it
  is new, then becomes the baseline within about ``level_days``: no alert forever after it. The days
  compared end where the window begins, so the window's own excess never excuses itself.
* **Several windows** (``windows_hours``, default 1, 6 and 24 hours): a burst shows in the hour, a gradual
  rise over a day only in the longer windows, where a modest excess per hour adds up (as a CUSUM would).
* **Spread**: the variance is the larger of the samples' own variance and ``mean + (relative_sd * mean)**2``
  (a busy brand's ordinary days differ by a tenth or more, not by a square root), inflated for the few
  weeks the mean is estimated from; a negative binomial with that mean and variance gives an exact tail
  probability. A window fires when its count is at least ``min_count``, at least ``min_ratio`` times the
  expectation and its tail probability at most ``max_p_value`` divided by the number of windows tested.

:func:`volume_scores` runs it over a whole series (for a CSV of counts, a benchmark, a backtest);
:func:`volume_test` decides the last point only (for a rule at one moment).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "SeasonalParams",
    "VolumeScores",
    "history_hours",
    "nb_head",
    "nb_tail",
    "volume_scores",
    "volume_test",
]

_WEEK_H = 7 * 24
_LEVEL_CLIP = 5.0
_PRIOR_DOF = 3.0
_LEVEL_PSEUDO = 2.0
"""Pseudo-count added to both sides of a level ratio: a quiet series' 0 against 1 is not a five-fold fall."""


@dataclass(frozen=True, slots=True)
class SeasonalParams:
    """What the test needs to know; :class:`alerts.settings.VolumeRule` carries the same names."""

    windows_hours: tuple[float, ...] = (0.25, 1.0, 3.0, 6.0, 24.0)
    baseline_weeks: int = 4
    level_days: float = 3.0
    min_count: int = 10
    min_ratio: float = 1.5
    relative_sd: float = 0.2
    max_p_value: float = 1e-4
    critical_p_value: float = 1e-7


@dataclass(frozen=True, slots=True)
class VolumeScores:
    """Per point of the series: the strongest window's numbers (``p_value`` 1 where nothing was tested).

    ``window_hours`` is the window that decided (the smallest p-value), ``fires`` whether any window
    fired and ``drops`` whether a window of three hours or more fell far below its expectation.
    """

    observed: npt.NDArray[np.float64]
    expected: npt.NDArray[np.float64]
    p_value: npt.NDArray[np.float64]
    window_hours: npt.NDArray[np.float64]
    fires: npt.NDArray[np.bool_]
    critical: npt.NDArray[np.bool_]
    drops: npt.NDArray[np.bool_]


def nb_tail(observed: npt.ArrayLike, mean: npt.ArrayLike, var: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """P(X >= observed) for a negative binomial with this mean and variance (Poisson when not above it).

    Counts are integers, so a window of 7.4 (a partial hour weighted) is tested as 8 or more.
    """
    from scipy import stats

    obs = np.ceil(np.asarray(observed, dtype=float)) - 1
    mu = np.maximum(np.asarray(mean, dtype=float), 1e-9)
    v = np.maximum(np.asarray(var, dtype=float), mu * (1 + 1e-9))
    p = mu / v
    n = mu * p / (1 - p)
    out: npt.NDArray[np.float64] = np.asarray(stats.nbinom.sf(obs, n, p), dtype=float)
    poisson = v <= mu * (1 + 1e-6)
    if np.any(poisson):
        out = np.where(poisson, stats.poisson.sf(obs, mu), out)
    return out


def nb_head(observed: npt.ArrayLike, mean: npt.ArrayLike, var: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """P(X <= observed) for the same negative binomial as :func:`nb_tail` (a window of 7.4 is 7 or less)."""
    from scipy import stats

    obs = np.floor(np.asarray(observed, dtype=float))
    mu = np.maximum(np.asarray(mean, dtype=float), 1e-9)
    v = np.maximum(np.asarray(var, dtype=float), mu * (1 + 1e-9))
    p = mu / v
    n = mu * p / (1 - p)
    out: npt.NDArray[np.float64] = np.asarray(stats.nbinom.cdf(obs, n, p), dtype=float)
    return out


def _window_sums(prefix: npt.NDArray[np.float64], w: int) -> npt.NDArray[np.float64]:
    """``out[t]`` = sum of the ``w`` points ending at ``t`` (NaN where the series is shorter)."""
    n = len(prefix) - 1
    out = np.full(n, np.nan)
    if w <= n:
        out[w - 1 :] = prefix[w:] - prefix[:-w]
    return out


def _shift(a: npt.NDArray[np.float64], by: int) -> npt.NDArray[np.float64]:
    """``out[t] = a[t - by]`` (NaN before the start)."""
    out = np.full(len(a), np.nan)
    if by < len(a):
        out[by:] = a[: len(a) - by]
    return out


def _expectation(
    prefix: npt.NDArray[np.float64], w: int, per_hour: float, params: SeasonalParams
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """For windows of ``w`` steps ending at each point: (observed, expected, variance, tested)."""
    n = len(prefix) - 1
    week = round(_WEEK_H * per_hour)
    hour = max(1, round(per_hour))
    level_len = max(1, round(params.level_days * 24 * per_hour))
    obs = _window_sums(prefix, w)
    ref = _shift(_window_sums(prefix, level_len), w)  # the level_days just before the window
    rows = []
    for k in range(1, params.baseline_weeks + 1):
        ref_k = _shift(ref, k * week)
        ratio = np.clip((ref + _LEVEL_PSEUDO) / (ref_k + _LEVEL_PSEUDO), 1 / _LEVEL_CLIP, _LEVEL_CLIP)
        ratio = np.where(np.isnan(ref_k) | np.isnan(ref), 1.0, ratio)
        for off in (-hour, 0, hour):
            rows.append(_shift(obs, k * week + off) * ratio)
    samples = np.vstack(rows) if rows else np.full((1, n), np.nan)
    have = np.sum(~np.isnan(samples), axis=0)
    ok = (have >= 2) & ~np.isnan(obs)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: points without history
        med = np.nanmedian(samples, axis=0)
        mad = np.nanmedian(np.abs(samples - med), axis=0)
        cap = med + np.maximum(3 * 1.4826 * mad, 3 * np.sqrt(np.maximum(med, 1.0)))
        capped = np.minimum(samples, cap)
        mean = np.nanmean(capped, axis=0)
        var = np.nanvar(capped, axis=0, ddof=1)
    weeks_seen = np.maximum(1.0, have / 3.0)
    mu = np.maximum(np.nan_to_num(mean), 0.3)
    # Four weeks give a variance with three degrees of freedom: often a third of the truth. It is
    # pooled with a prior (twice Poisson, plus relative_sd of the mean) worth _PRIOR_DOF of them.
    prior = 2.0 * mu + (params.relative_sd * mu) ** 2
    dof = np.maximum(weeks_seen - 1, 0.0)
    v = (dof * np.maximum(np.nan_to_num(var), mu) + _PRIOR_DOF * prior) / (dof + _PRIOR_DOF)
    v = np.maximum(v, mu + (params.relative_sd * mu) ** 2) * (1 + 1 / weeks_seen)
    return obs, mu, v, ok


def volume_scores(
    counts: Sequence[float] | npt.NDArray[np.float64], step_minutes: float, params: SeasonalParams
) -> VolumeScores:
    """The seasonal test at every point of a regular count series (``step_minutes`` apart, gaps as 0).

    A point is tested once a week of history lies before its window; the windows' results are combined
    by taking the smallest p-value against ``max_p_value`` divided by the number of distinct windows.
    Falls are
    flagged in ``drops`` (windows of three hours or more holding at most 1 / ``min_ratio`` of the
    expectation, at least ``min_count`` expected, with a lower tail probability at most the same bar):
    they are reported, never part of ``fires``.
    """
    x = np.asarray(counts, dtype=float)
    n = len(x)
    per_hour = 60.0 / step_minutes
    prefix = np.concatenate(([0.0], np.cumsum(x)))
    # Windows shorter than a step, or equal once rounded to steps (15 minutes on hourly counts), are one.
    spans = sorted(
        {max(1, round(h * per_hour)): h for h in sorted(params.windows_hours, reverse=True)}.items()
    )
    alpha = params.max_p_value / len(spans)
    alpha_crit = params.critical_p_value / len(spans)
    best_p = np.ones(n)
    best_obs = np.zeros(n)
    best_exp = np.zeros(n)
    best_w = np.zeros(n)
    fires = np.zeros(n, dtype=bool)
    critical = np.zeros(n, dtype=bool)
    drops = np.zeros(n, dtype=bool)
    for w, _hours in spans:
        obs, mu, v, ok = _expectation(prefix, w, per_hour, params)
        # A long window keeps a burst for a day after it ended; it fires only while its latest quarter
        # is itself above the expectation (as a CUSUM that has reset would no longer alarm).
        q = max(1, w // 4)
        fresh = _window_sums(prefix, q) >= (q / w) * mu * (1 + (params.min_ratio - 1) / 2) if w > 1 else ok
        gate = ok & fresh & (obs >= params.min_count) & (obs >= params.min_ratio * mu)
        p = np.ones(n)
        idx = np.flatnonzero(gate)
        if len(idx):
            p[idx] = nb_tail(obs[idx], mu[idx], v[idx])
        better = ok & (p < best_p) | (ok & (best_w == 0))
        best_p = np.where(better, p, best_p)
        best_obs = np.where(better, np.nan_to_num(obs), best_obs)
        best_exp = np.where(better, mu, best_exp)
        best_w = np.where(better, w / per_hour, best_w)  # the window as tested (whole steps)
        fires |= gate & (p <= alpha)
        critical |= gate & (p <= alpha_crit)
        if w >= 3 * per_hour - 1e-9:
            low = ok & (mu >= params.min_count) & (np.nan_to_num(obs) * params.min_ratio <= mu)
            idx = np.flatnonzero(low)
            if len(idx):
                drops[idx] |= nb_head(obs[idx], mu[idx], v[idx]) <= alpha
    return VolumeScores(best_obs, best_exp, best_p, best_w, fires, critical, drops)


def history_hours(params: SeasonalParams) -> float:
    """Hours of history the test reads before a point: the past weeks, the level days, the longest window."""
    return params.baseline_weeks * _WEEK_H + params.level_days * 24 + max(params.windows_hours) + 2


def volume_test(
    counts: Sequence[float] | npt.NDArray[np.float64], step_minutes: float, params: SeasonalParams
) -> tuple[bool, bool, dict[str, float]]:
    """The test at the series' last point: (fires, critical, numbers) for a rule deciding now.

    Only as much history as the test reads is kept, so a rule can pass a long series cheaply.
    """
    per_hour = 60.0 / step_minutes
    need = round(history_hours(params) * per_hour)
    tail = np.asarray(counts, dtype=float)[-need:]
    s = volume_scores(tail, step_minutes, params)
    numbers = {
        "count": float(s.observed[-1]),
        "expected": round(float(s.expected[-1]), 2),
        "p_value": float(f"{float(s.p_value[-1]):.2g}"),
        "window_hours": float(s.window_hours[-1]),
        "ratio": round(float(s.observed[-1]) / max(float(s.expected[-1]), 1e-9), 2),
    }
    return bool(s.fires[-1]), bool(s.critical[-1]), numbers
