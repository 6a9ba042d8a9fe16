"""``loyalty-monitor volume-check``: the seasonal volume test on a plain count series (a CSV of time,count).

For a team (or anyone comparing detectors) that has mention counts from elsewhere: the same decision the
``volume_spike`` settings describe (:mod:`alerts.rules.seasonal`), run over every point of the series, with
alert episodes as the product would open them (a trigger within ``--merge-hours`` of the last one updates
the episode instead of opening another).
"""

from __future__ import annotations

import csv
import itertools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from alerts.rules.seasonal import volume_scores
from alerts.settings import VolumeRule
from loyalty_monitor.cli import UserError

__all__ = [
    "MAX_COUNT",
    "MAX_POINTS",
    "CountSeries",
    "VolumeEpisode",
    "detect_episodes",
    "read_counts",
    "volume_check",
]

MAX_COUNT = 1e9
"""A count above this in one point is a broken row, not a storm (no brand has a billion mentions a minute)."""
MAX_POINTS = 5_000_000
"""Points the grid may hold: ten years of one-minute counts fit; a stray year in one row of a 5-minute series
would otherwise ask for an enormous grid."""


@dataclass(frozen=True, slots=True)
class CountSeries:
    """Counts on a regular grid from ``start``, ``step`` apart (missing points are 0)."""

    start: datetime
    step: timedelta
    counts: list[float]

    def time(self, i: int) -> datetime:
        return self.start + self.step * i


@dataclass(frozen=True, slots=True)
class VolumeEpisode:
    """An alert episode: first and last alerting point, and the numbers at its strongest point."""

    start: datetime
    end: datetime
    peak: datetime
    count: float
    expected: float
    p_value: float
    window_hours: float
    critical: bool


def _parse_time(value: str, where: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{where}: field time: not an ISO time: {value!r}") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def read_counts(path: Path) -> CountSeries:
    """A CSV with columns ``time`` (ISO; UTC when it has no zone) and ``count``, one row per point.

    The step is the most common gap between rows; rows may skip empty points (they count 0) and come in
    any order. A bad row is an error naming its line and field.
    """
    points: dict[datetime, float] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"time", "count"} <= set(reader.fieldnames):
            raise UserError(f"{path}: expected a header with columns time,count")
        for row in reader:
            where = f"{path}:line {reader.line_num}"
            at = _parse_time(row["time"] or "", where)
            try:
                count = float(row["count"] or "")
            except ValueError:
                raise UserError(f"{where}: field count: not a number: {row['count']!r}") from None
            if not math.isfinite(count) or count < 0 or count > MAX_COUNT:
                raise UserError(
                    f"{where}: field count: must be a number from 0 to {MAX_COUNT:g}, got {row['count']!r}"
                )
            points[at] = points.get(at, 0.0) + count
    if len(points) < 2:
        raise UserError(f"{path}: needs at least two rows")
    times = sorted(points)
    gaps: dict[timedelta, int] = {}
    for a, b in itertools.pairwise(times):
        gaps[b - a] = gaps.get(b - a, 0) + 1
    step = max(gaps, key=lambda g: (gaps[g], -g.total_seconds()))
    n = int((times[-1] - times[0]) / step) + 1
    if n > MAX_POINTS:
        raise UserError(
            f"{path}: {n:,} points of {step} from {times[0].isoformat()} to {times[-1].isoformat()}; "
            f"at most {MAX_POINTS:,} (a coarser step or a shorter span)"
        )
    counts = [0.0] * n
    for at, c in points.items():
        offset = (at - times[0]) / step
        if offset != int(offset):
            raise UserError(f"{path}: time {at.isoformat()} is off the {step} grid of the other rows")
        counts[int(offset)] += c
    return CountSeries(times[0], step, counts)


def detect_episodes(series: CountSeries, rule: VolumeRule, merge_hours: float = 3.0) -> list[VolumeEpisode]:
    """The test at every point, alerting points within ``merge_hours`` of each other merged into episodes."""
    minutes = series.step.total_seconds() / 60
    s = volume_scores(series.counts, minutes, rule.params())
    gap = max(1, round(merge_hours * 60 / minutes))
    episodes: list[VolumeEpisode] = []
    current: list[int] = []

    def close() -> None:
        if not current:
            return
        peak = min(current, key=lambda i: float(s.p_value[i]))
        episodes.append(
            VolumeEpisode(
                series.time(current[0]),
                series.time(current[-1]),
                series.time(peak),
                float(s.observed[peak]),
                round(float(s.expected[peak]), 2),
                float(f"{float(s.p_value[peak]):.2g}"),
                float(s.window_hours[peak]),
                bool(s.critical[current].any()),
            )
        )

    for i in (int(i) for i in s.fires.nonzero()[0]):
        if current and i - current[-1] > gap:
            close()
            current = []
        current.append(i)
    close()
    return episodes


def _rule(overrides: Sequence[str]) -> VolumeRule:
    # Imported here: the backtest module pulls in the alert engine, which no other command needs at start-up.
    from loyalty_monitor.backtest import setting_value

    data: dict[str, object] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. max_p_value=1e-4")
        data[key.strip()] = setting_value(raw.strip())
    try:
        return VolumeRule.model_validate(data)
    except ValueError as exc:
        first = str(exc).splitlines()
        raise UserError(f"--set: {' '.join(first[:3])}") from None


@click.command("volume-check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--set",
    "overrides",
    metavar="KEY=VALUE",
    multiple=True,
    help="A volume_spike setting for this run, e.g. max_p_value=1e-4 or windows_hours=[1,6] (repeatable).",
)
@click.option("--merge-hours", type=float, default=3.0, show_default=True, help="Alerts this close are one.")
@click.option(
    "--points", is_flag=True, help="One row per point (time,count,expected,p_value,alert,drop) instead."
)
def volume_check(file: Path, overrides: tuple[str, ...], merge_hours: float, points: bool) -> None:
    """Run the seasonal volume test on FILE, a CSV of time,count (a count every few minutes or hours).

    Prints the alert episodes as CSV: start, end, peak, count, expected, p_value, window_hours, severity.
    A week of history is needed before the first point can alert.
    """
    rule = _rule(overrides)
    series = read_counts(file)
    out = csv.writer(sys.stdout, lineterminator="\n")
    if points:
        s = volume_scores(series.counts, series.step.total_seconds() / 60, rule.params())
        out.writerow(["time", "count", "expected", "p_value", "window_hours", "alert", "drop"])
        for i, count in enumerate(series.counts):
            out.writerow(
                [
                    series.time(i).isoformat(),
                    f"{count:g}",
                    f"{float(s.expected[i]):.2f}",
                    f"{float(s.p_value[i]):.2g}",
                    f"{float(s.window_hours[i]):g}",
                    int(bool(s.fires[i])),
                    int(bool(s.drops[i])),
                ]
            )
        return
    out.writerow(["start", "end", "peak", "count", "expected", "p_value", "window_hours", "severity"])
    for e in detect_episodes(series, rule, merge_hours):
        out.writerow(
            [
                e.start.isoformat(),
                e.end.isoformat(),
                e.peak.isoformat(),
                f"{e.count:g}",
                f"{e.expected:g}",
                f"{e.p_value:.2g}",
                f"{e.window_hours:g}",
                "critical" if e.critical else "warning",
            ]
        )
