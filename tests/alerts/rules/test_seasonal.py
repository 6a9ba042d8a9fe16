"""The seasonal volume test on realistic count series: calm ones stay quiet, bursts, rises and new levels
are caught, and a new level stops alerting once it is the baseline."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from alerts.rules.seasonal import SeasonalParams, nb_tail, volume_scores, volume_test
from alerts.settings import VolumeRule

STEP = 5.0  # minutes
PER_HOUR = 12
DAY = 24 * PER_HOUR
WEEKS = 8


def rate(daily: float, seed: int) -> npt.NDArray[np.float64]:
    """Expected counts per 5 minutes: a night trough, an evening peak, quieter weekends, and days that
    are busier or calmer than others (a gamma day factor with a 15 % spread)."""
    rng = np.random.default_rng(seed)
    n = WEEKS * 7 * DAY
    hours = np.arange(n) / PER_HOUR
    local = (hours + 3) % 24
    shape = np.where(local < 7, 0.15, 0.25 + 0.95 * np.sin(np.pi * np.clip(local - 7, 0, 17) / 17) ** 1.5)
    shape = shape / shape.mean()
    day = (hours // 24).astype(int)
    factor = rng.gamma(1 / 0.15**2, 0.15**2, size=WEEKS * 7 + 1)[day]
    weekend = np.where(day % 7 >= 5, 0.7, 1.0)
    return np.asarray(daily / DAY * shape * weekend * factor, dtype=float)


def draw(lam: npt.NDArray[np.float64], seed: int, phi: float = 2.0) -> npt.NDArray[np.float64]:
    """Overdispersed counts: variance ``phi`` times the mean (gamma-Poisson)."""
    rng = np.random.default_rng(seed + 1000)
    return rng.poisson(rng.gamma(lam / (phi - 1), phi - 1)).astype(float)


def episodes(fires: npt.NDArray[np.bool_], gap: int = 3 * PER_HOUR) -> list[int]:
    hits = np.flatnonzero(fires)
    return [int(h) for i, h in enumerate(hits) if i == 0 or h - hits[i - 1] > gap]


PARAMS = VolumeRule().params()


@pytest.mark.parametrize("daily", [30, 300, 3000])
def test_calm_seasonal_series_stay_almost_quiet(daily: float) -> None:
    """Eight calm weeks (overdispersed, daily peaks, weekends, uneven days) open at most one episode."""
    counts = draw(rate(daily, seed=daily), seed=daily)
    fired = episodes(volume_scores(counts, STEP, PARAMS).fires)
    assert len(fired) <= 1, [(h // DAY, h % DAY / PER_HOUR) for h in fired]


@pytest.mark.parametrize("daily", [30, 3000])
def test_a_burst_is_caught_within_the_hour(daily: float) -> None:
    lam = rate(daily, seed=3)
    at = 30 * DAY + 14 * PER_HOUR
    lam[at : at + PER_HOUR] = lam[at : at + PER_HOUR] * 5 + 1
    fires = volume_scores(draw(lam, seed=3), STEP, PARAMS).fires
    assert fires[at : at + PER_HOUR + 1].any()
    assert not fires[at - 2 * DAY : at].any()


@pytest.mark.xfail(
    reason="issue 20, open: at the defaults (max_p_value 1e-4, relative_sd 0.2) a rise to three times over a "
    "day on a uneven-day series is missed; python -m research.volume_detectors --series 30 reports rise "
    "recall 0.45",
    strict=False,
)
def test_a_gradual_rise_is_caught_before_it_ends() -> None:
    lam = rate(400, seed=5)
    at, length = 33 * DAY + 6 * PER_HOUR, 24 * PER_HOUR
    lam[at : at + length] *= 1 + 2 * np.arange(1, length + 1) / length  # to three times over a day
    fires = volume_scores(draw(lam, seed=5), STEP, PARAMS).fires
    assert fires[at : at + length].any()


def test_a_new_level_alerts_while_new_then_becomes_the_baseline() -> None:
    lam = rate(500, seed=9)
    at = 25 * DAY + 10 * PER_HOUR
    lam[at:] *= 2.5
    fires = volume_scores(draw(lam, seed=9), STEP, PARAMS).fires
    assert fires[at : at + DAY].any()
    settled = at + round((PARAMS.level_days + 2) * DAY)
    assert len(episodes(fires[settled:])) <= 1, "a level that stays must stop alerting"


def test_nb_tail_matches_poisson_and_widens_with_variance() -> None:
    from scipy import stats

    assert nb_tail(10, 2.0, 2.0)[()] == pytest.approx(stats.poisson.sf(9, 2.0))
    assert nb_tail(10, 2.0, 6.0)[()] > nb_tail(10, 2.0, 2.0)[()] * 10


def test_volume_test_decides_the_last_point_of_an_hourly_series() -> None:
    hourly = draw(rate(300, seed=11), seed=11).reshape(-1, PER_HOUR).sum(axis=1)
    calm = volume_test(hourly, 60, SeasonalParams())
    assert calm[0] is False and calm[2]["expected"] > 0
    stormy = hourly.copy()
    stormy[-1] = stormy[-1] * 4 + 30
    fires, _critical, numbers = volume_test(stormy, 60, SeasonalParams())
    assert fires and numbers["count"] >= 30 and numbers["ratio"] > 2


def test_a_source_going_silent_is_a_drop_never_a_fire() -> None:
    lam = rate(600, seed=13)
    at = 40 * DAY + 9 * PER_HOUR  # a collector dies at noon in Moscow, for a day
    lam[at : at + DAY] *= 0.05
    s = volume_scores(draw(lam, seed=13), STEP, PARAMS)
    assert s.drops[at : at + 8 * PER_HOUR].any()
    assert not s.fires[at : at + DAY].any()
    calm = volume_scores(draw(rate(600, seed=14), seed=14), STEP, PARAMS)
    assert len(episodes(calm.drops)) <= 1, "ordinary quiet days are not drops"
