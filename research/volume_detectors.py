"""The negative-spike test against a plain rolling z-score on seasonal count series with marked anomalies.

Builds hourly count series of eight weeks (daily peaks, a weekly rhythm, overdispersed noise) and injects
three kinds of anomaly, each with its marked window: short bursts, gradual rises over a day, and level shifts
that stay. Two detectors read the same series hour by hour:

* ``spike``: the decision of the ``negative_spike`` rule (:func:`alerts.rules.negative_spike.spike_test` with
  the default settings): the last ``window_hours`` hours against the same hours of up to four past weeks
  and an hour either side, shrunk towards the series' overall rate;
* ``zscore``: a plain rolling z-score of the last hour against the previous 168 hours, alerting at z >= 3.

An alert *episode* starts at an alerting hour that follows a quiet one. Per detector: recall (marked windows
with an episode starting inside them or within ``window_hours`` after), episodes started outside every
window (false alarms) per week, and the median delay from a window's start to its first alert.

    python -m research.volume_detectors [--series 30] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from dataclasses import dataclass

from alerts.rules.negative_spike import spike_test
from alerts.settings import SpikeRule

__all__ = ["Series", "evaluate", "make_series", "spike_alerts", "zscore_alerts"]

WEEKS = 8
HOURS = WEEKS * 7 * 24


@dataclass
class Series:
    """Hourly counts and the marked anomaly windows, as ``(first hour, last hour)`` inclusive."""

    counts: list[int]
    windows: list[tuple[int, int, str]]


def _nbinom(rnd: random.Random, mean: float, phi: float) -> int:
    """A negative-binomial draw (gamma-Poisson) with variance ``phi * mean``."""
    if mean <= 0:
        return 0
    if phi <= 1.0:
        lam = mean
    else:
        shape = mean / (phi - 1.0)
        lam = rnd.gammavariate(shape, (phi - 1.0))
    # Poisson by inversion (small means) or normal approximation (large).
    if lam > 60:
        return max(0, round(rnd.gauss(lam, math.sqrt(lam))))
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1


def make_series(rnd: random.Random) -> Series:
    """One series: a base rate from 0.5 to 20 an hour, daily and weekly shape, two to four anomalies."""
    base = math.exp(rnd.uniform(math.log(0.5), math.log(20)))
    phi = rnd.uniform(1.0, 2.5)
    rate = []
    for h in range(HOURS):
        local = (h + 3) % 24
        daily = 0.25 + 0.75 * math.sin(math.pi * (local - 7) / 17) if local >= 7 else 0.15
        weekly = 0.7 if (h // 24) % 7 >= 5 else 1.0
        rate.append(base * daily * weekly)
    windows: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for _ in range(rnd.randint(2, 4)):
        kind = rnd.choice(["burst", "rise", "shift"])
        length = {"burst": rnd.randint(2, 5), "rise": rnd.randint(12, 30), "shift": rnd.randint(48, 96)}[kind]
        for _attempt in range(20):
            start = rnd.randrange(2 * 7 * 24, HOURS - length - 1)
            if all(start > b + 48 or start + length < a - 48 for a, b in taken):
                break
        else:
            continue
        taken.append((start, start + length))
        size = rnd.uniform(3.0, 6.0) if kind == "burst" else rnd.uniform(2.0, 4.0)
        for i in range(length):
            h = start + i
            lift = size if kind != "rise" else 1.0 + (size - 1.0) * (i + 1) / length
            # A burst or rise also adds a floor, so a quiet series' storm is not lost in its zeros.
            rate[h] = rate[h] * lift + (3.0 if kind == "burst" else 1.0)
        if kind == "shift":
            for h in range(start + length, HOURS):
                rate[h] *= size  # the shift stays: only its first days are marked
        windows.append((start, start + length - 1, kind))
    counts = [_nbinom(rnd, r, phi) for r in rate]
    return Series(counts, windows)


def spike_alerts(counts: list[int], rule: SpikeRule) -> list[bool]:
    """Whether the ``negative_spike`` decision fires at the end of each hour (its hour-of-week sampling)."""
    w = rule.window_hours
    out = [False] * len(counts)
    prefix = [0]
    for c in counts:
        prefix.append(prefix[-1] + c)

    def window_sum(end: int) -> float:  # hours end-w+1 .. end
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
        history = prefix[t - w + 1]
        prior = history / max(1, t - w + 1) * w
        out[t] = spike_test(observed, samples, rule, prior_mean=prior).fires
    return out


def zscore_alerts(counts: list[int], window: int = 168, threshold: float = 3.0) -> list[bool]:
    """A plain rolling z-score of each hour against the previous ``window`` hours."""
    out = [False] * len(counts)
    for t in range(window, len(counts)):
        past = counts[t - window : t]
        mean = statistics.fmean(past)
        sd = statistics.pstdev(past)
        out[t] = sd > 0 and (counts[t] - mean) / sd >= threshold
    return out


def evaluate(series: list[Series], detect: list[list[bool]], slack: int) -> tuple[float, float, float]:
    """(recall of windows, false episodes per week, median delay in hours of the first alert)."""
    found = total = false = 0
    delays: list[int] = []
    for s, alerts in zip(series, detect, strict=True):
        starts = [t for t in range(len(alerts)) if alerts[t] and (t == 0 or not alerts[t - 1])]
        for a, b, _kind in s.windows:
            total += 1
            hits = [t for t in starts if a <= t <= b + slack] or [
                t for t in range(a, b + slack + 1) if alerts[t]
            ]
            if hits:
                found += 1
                delays.append(hits[0] - a)
        false += sum(1 for t in starts if not any(a <= t <= b + slack for a, b, _ in s.windows))
    weeks = len(series) * WEEKS
    return found / max(1, total), false / weeks, float(statistics.median(delays)) if delays else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    series = [make_series(rnd) for _ in range(args.series)]
    rule = SpikeRule()
    runs = {
        "spike (defaults)": [spike_alerts(s.counts, rule) for s in series],
        "zscore (168 h, z>=3)": [zscore_alerts(s.counts) for s in series],
    }
    kinds = sorted({k for s in series for *_, k in s.windows})
    print(f"{args.series} series x {WEEKS} weeks, {sum(len(s.windows) for s in series)} marked windows")  # noqa: T201
    print(f"{'detector':<22} {'recall':>6} {'false/wk':>8} {'delay h':>7}  " + "  ".join(kinds))  # noqa: T201
    for name, detect in runs.items():
        recall, false, delay = evaluate(series, detect, rule.window_hours)
        per_kind = []
        for kind in kinds:
            only = [Series(s.counts, [w for w in s.windows if w[2] == kind]) for s in series]
            r, _, _ = evaluate(only, detect, rule.window_hours)
            per_kind.append(f"{kind} {r:.2f}")
        print(f"{name:<22} {recall:>6.2f} {false:>8.2f} {delay:>7.1f}  " + "  ".join(per_kind))  # noqa: T201


if __name__ == "__main__":
    main()
