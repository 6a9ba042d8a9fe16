"""Our volume decisions against a plain rolling z-score, on seasonal mention counts with marked anomalies.

The series imitate brand-mention volume as a public benchmark gives it: a count every five minutes over
eight weeks, a daily peak and a quiet night, quieter weekends, days busier or calmer than others (a
gamma-distributed day factor), overdispersed counts (negative binomial), from a few mentions a day to
thousands. Each series gets two to four marked anomalies from its second week on:

* ``burst``: 15 minutes to 3 hours at 3 to 8 times the usual rate (plus a floor, so a quiet brand's burst
  is not lost among its zeros);
* ``rise``: the rate climbs linearly to 2 to 4 times the usual over 6 to 30 hours (the whole climb marked);
* ``shift``: the level jumps 1.8 to 3 times and stays (its first 24 to 72 hours marked);
* ``drop``: 3 to 24 hours at 0 to 30 % of the usual (a collector that died, a source gone quiet).

Detectors, each run on every series:

* ``volume``: :func:`alerts.rules.seasonal.volume_scores` with the ``volume_spike`` defaults (windows of
  15 minutes to 24 hours against the same hours of past weeks scaled to the recent level); its ``drops``
  answer for the ``drop`` windows;
* ``negative_spike``: the ``negative_spike`` decision on the hourly sums (as the rule reads them), alerting
  at each hour's end;
* ``zscore 1d`` / ``zscore 1w``: a plain rolling z-score of each 5-minute count against the previous day
  or week of counts, alerting at z >= 3 (and at z <= -3 for the ``drop`` windows).

An *episode* starts at an alerting point after a quiet one. Recall: marked windows with an alert inside
them or within ``--slack-hours`` after (a ``drop`` by the detector's low-side flags, the others by its
alerts); false alarms: alert episodes starting outside every (window + slack), per series-week
(``fa/wk``), and low-side episodes outside every drop window (``drop fa/wk``); delay: hours from a
window's start to its first alert (median). Per anomaly kind, and for low-volume (under 200 a day)
and high-volume series::

    python -m research.volume_detectors [--series 30] [--seed 1] [--step 5]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.rules.negative_spike import spike_test
from alerts.rules.seasonal import volume_scores
from alerts.settings import SpikeRule, VolumeRule

__all__ = ["Series", "evaluate", "make_series", "spike_alerts", "volume_alerts", "zscore_alerts"]

WEEKS = 8
Alerts = npt.NDArray[np.bool_]


@dataclass
class Series:
    """Counts per step and the marked windows ``(first step, last step, kind)``, inclusive."""

    counts: npt.NDArray[np.float64]
    windows: list[tuple[int, int, str]]
    daily: float
    step: float


def _shape(local_hour: float) -> float:
    """Daily rhythm: quiet night, a morning climb, an evening peak (mean about 1 over the day)."""
    if local_hour < 7:
        return 0.15
    return 0.25 + 0.95 * math.pow(math.sin(math.pi * (local_hour - 7) / 17), 1.5)


def make_series(rnd: random.Random, step: float = 5.0) -> Series:
    """One series of ``WEEKS`` weeks at ``step`` minutes, with its marked anomalies."""
    per_hour = 60.0 / step
    n = round(WEEKS * 7 * 24 * per_hour)
    daily = math.exp(rnd.uniform(math.log(15), math.log(5000)))
    phi = rnd.uniform(1.0, 3.0)
    day_cv = rnd.uniform(0.08, 0.25)
    weekend = rnd.uniform(0.55, 0.9)
    nprng = np.random.default_rng(rnd.randrange(2**32))
    t = np.arange(n)
    hours = t / per_hour
    local = (hours + 3) % 24
    shape = np.array([_shape(h) for h in np.arange(0, 24, 1 / per_hour)])
    shape /= shape.mean()
    day = (hours // 24).astype(int)
    day_factor = nprng.gamma(1 / day_cv**2, day_cv**2, size=WEEKS * 7 + 1)[day]
    week_factor = np.where(day % 7 >= 5, weekend, 1.0)
    base = daily / (24 * per_hour)
    rate = base * shape[(local * per_hour).astype(int) % len(shape)] * week_factor * day_factor
    windows: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    gap = round(48 * per_hour)
    for _ in range(rnd.randint(2, 4)):
        kind = rnd.choice(["burst", "rise", "shift", "drop"])
        length_h = {
            "burst": rnd.uniform(0.25, 3),
            "rise": rnd.uniform(6, 30),
            "shift": rnd.uniform(24, 72),
            "drop": rnd.uniform(3, 24),
        }[kind]
        length = max(1, round(length_h * per_hour))
        for _attempt in range(30):
            start = rnd.randrange(round(8 * 24 * per_hour), n - length - 1)
            if all(start > b + gap or start + length < a - gap for a, b in taken):
                break
        else:
            continue
        taken.append((start, start + length))
        span = slice(start, start + length)
        if kind == "burst":
            size = rnd.uniform(3.0, 8.0)
            rate[span] = rate[span] * size + step / 5.0  # plus a mention every five minutes
        elif kind == "rise":
            size = rnd.uniform(2.0, 4.0)
            ramp = 1.0 + (size - 1.0) * (np.arange(1, length + 1) / length)
            rate[span] = rate[span] * ramp + 0.05 * ramp
        elif kind == "shift":
            size = rnd.uniform(1.8, 3.0)
            rate[start:] = rate[start:] * size
        else:
            rate[span] = rate[span] * rnd.uniform(0.0, 0.3)
        windows.append((start, start + length - 1, kind))
    lam = nprng.gamma(rate / (phi - 1.0), phi - 1.0) if phi > 1.0 else rate
    counts = nprng.poisson(lam).astype(float)
    return Series(counts, windows, daily, step)


def volume_alerts(s: Series, rule: VolumeRule) -> tuple[Alerts, Alerts]:
    """The ``volume_spike`` decision at every point, and its drop flags."""
    scores = volume_scores(s.counts, s.step, rule.params())
    return scores.fires, scores.drops


def spike_alerts(s: Series, rule: SpikeRule) -> Alerts:
    """The ``negative_spike`` decision on hourly sums, at the end of each hour."""
    per_hour = round(60 / s.step)
    hourly = s.counts[: len(s.counts) // per_hour * per_hour].reshape(-1, per_hour).sum(axis=1)
    counts = [int(c) for c in hourly]
    w = rule.window_hours
    out = np.zeros(len(s.counts), dtype=bool)
    prefix = [0]
    for c in counts:
        prefix.append(prefix[-1] + c)

    def window_sum(end: int) -> float:
        lo = max(0, end - w + 1)
        return float(prefix[end + 1] - prefix[lo]) if end >= 0 else 0.0

    for t in range(7 * 24, len(counts)):
        observed = window_sum(t)
        if observed < rule.min_count:
            continue
        samples = [
            window_sum(t - k * 168 + off)
            for k in range(1, rule.baseline_weeks + 1)
            for off in (-1, 0, 1)
            if t - k * 168 + off - w + 1 >= 0
        ]
        prior = prefix[t - w + 1] / max(1, t - w + 1) * w
        out[(t + 1) * per_hour - 1] = spike_test(observed, samples, rule, prior_mean=prior).fires
    return out


def zscore_alerts(
    counts: npt.NDArray[np.float64], window: int, threshold: float = 3.0
) -> tuple[Alerts, Alerts]:
    """A plain rolling z-score of each point against the previous ``window`` points: (z >= t, z <= -t)."""
    prefix = np.concatenate(([0.0], np.cumsum(counts)))
    prefix2 = np.concatenate(([0.0], np.cumsum(counts**2)))
    out = np.zeros(len(counts), dtype=bool)
    low = np.zeros(len(counts), dtype=bool)
    t = np.arange(window, len(counts))
    s1 = prefix[t] - prefix[t - window]
    s2 = prefix2[t] - prefix2[t - window]
    mean = s1 / window
    sd = np.sqrt(np.maximum(s2 / window - mean**2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (counts[window:] - mean) / sd
        out[window:] = (sd > 1e-12) & (z >= threshold)
        low[window:] = (sd > 1e-12) & (z <= -threshold)
    return out, low


@dataclass
class Score:
    found: int = 0
    total: int = 0
    false: int = 0
    weeks: float = 0.0
    delays: list[float] | None = None

    def add_delay(self, d: float) -> None:
        if self.delays is None:
            self.delays = []
        self.delays.append(d)

    def row(self) -> str:
        recall = self.found / self.total if self.total else math.nan
        delay = statistics.median(self.delays) if self.delays else math.nan
        return f"{recall:>6.2f} {delay:>6.1f}"


def episode_starts(alerts: Alerts, gap: int) -> npt.NDArray[np.intp]:
    """Where alert episodes start: an alerting point with no alert in the ``gap`` points before it (an
    open alert that triggers again is updated, not opened anew, as the product does)."""
    hits = np.flatnonzero(alerts)
    if not len(hits):
        return hits
    keep = np.concatenate(([True], np.diff(hits) > gap))
    return hits[keep]


def evaluate(
    series: list[Series],
    detect: list[tuple[Alerts, Alerts]],
    slack_hours: float,
    kinds: list[str],
    merge_hours: float = 0.0,
) -> tuple[Score, dict[str, Score], int]:
    """Overall score (recall, false episodes per week, delay), recall/delay per kind, false drop episodes."""
    total = Score(weeks=len(series) * WEEKS)
    per_kind = {k: Score() for k in kinds}
    false_drops = 0
    for s, (alerts, drops) in zip(series, detect, strict=True):
        per_hour = 60 / s.step
        slack = round(slack_hours * per_hour)
        for a, b, kind in s.windows:
            total.total += 1
            per_kind[kind].total += 1
            flags = drops if kind == "drop" else alerts
            hit = np.flatnonzero(flags[a : b + slack + 1])
            if len(hit):
                total.found += 1
                per_kind[kind].found += 1
                total.add_delay(hit[0] / per_hour)
                per_kind[kind].add_delay(hit[0] / per_hour)
        covered = np.zeros(len(alerts), dtype=bool)
        dropped = np.zeros(len(alerts), dtype=bool)
        for a, b, kind in s.windows:
            covered[a : b + slack + 1] = True
            if kind == "drop":
                dropped[a : b + slack + 1] = True
        starts = episode_starts(alerts, round(merge_hours * per_hour))
        total.false += int(np.sum(~covered[starts]))
        low = episode_starts(drops, round(merge_hours * per_hour))
        false_drops += int(np.sum(~dropped[low]))
    return total, per_kind, false_drops


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--series", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--step", type=float, default=5.0, help="minutes between counts")
    parser.add_argument("--slack-hours", type=float, default=2.0)
    parser.add_argument(
        "--merge-hours", type=float, default=3.0, help="alerts this close are one episode (one alert updated)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a volume_spike setting for this run, e.g. --set max_p_value=1e-4",
    )
    parser.add_argument("--only", default="", help="run only detectors whose name starts with this")
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    series = [make_series(rnd, args.step) for _ in range(args.series)]
    per_day = round(24 * 60 / args.step)
    import json

    volume = VolumeRule.model_validate(
        {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.overrides)}
    )
    spike = SpikeRule()
    detectors: dict[str, Callable[[Series], tuple[Alerts, Alerts]]] = {
        "volume (defaults)": lambda s: volume_alerts(s, volume),
        "negative_spike": lambda s: (spike_alerts(s, spike), np.zeros(len(s.counts), dtype=bool)),
        "zscore 1d z>=3": lambda s: zscore_alerts(s.counts, per_day),
        "zscore 1w z>=3": lambda s: zscore_alerts(s.counts, 7 * per_day),
    }
    detectors = {k: f for k, f in detectors.items() if k.startswith(args.only)}
    kinds = sorted({k for s in series for *_, k in s.windows})
    groups = {
        "all": list(range(len(series))),
        "low (<200/day)": [i for i, s in enumerate(series) if s.daily < 200],
        "high": [i for i, s in enumerate(series) if s.daily >= 200],
    }
    print(  # noqa: T201
        f"{len(series)} series x {WEEKS} weeks every {args.step:g} min, "
        f"{sum(len(s.windows) for s in series)} marked windows "
        f"({', '.join(f'{k} {sum(w[2] == k for s in series for w in s.windows)}' for k in kinds)}), "
        f"slack {args.slack_hours:g} h"
    )
    head = f"{'series':<15} {'detector':<18} {'recall':>6} {'fa/wk':>6} {'drop fa/wk':>10} {'delay':>6}"
    print(head + "".join(f"  {k + ' rec/delay':>15}" for k in kinds))  # noqa: T201
    results = {name: [f(s) for s in series] for name, f in detectors.items()}
    for group, idx in groups.items():
        if not idx:
            continue
        members = [series[i] for i in idx]
        for name in detectors:
            total, per_kind, false_drops = evaluate(
                members, [results[name][i] for i in idx], args.slack_hours, kinds, args.merge_hours
            )
            fa = total.false / total.weeks
            recall = total.found / max(1, total.total)
            delay = statistics.median(total.delays) if total.delays else math.nan
            dfa = false_drops / total.weeks
            line = f"{group:<15} {name:<18} {recall:>6.2f} {fa:>6.2f} {dfa:>10.2f} {delay:>6.1f}"
            print(line + "".join(f"  {per_kind[k].row():>15}" for k in kinds))  # noqa: T201


if __name__ == "__main__":
    main()
