"""``volume-check``: the seasonal volume test on a CSV of time,count, with bad rows named by line."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from alerts.settings import VolumeRule
from loyalty_monitor.cli import main
from loyalty_monitor.volume_cli import detect_episodes, read_counts

START = datetime(2026, 3, 2, tzinfo=UTC)


def hourly_csv(path: Path, burst_at: int | None = None) -> Path:
    """Three weeks of hourly counts with a daily rhythm; empty hours left out; an optional burst."""
    rng = np.random.default_rng(4)
    hours = np.arange(21 * 24)
    lam = 20 * (0.2 + np.sin(np.pi * ((hours + 3) % 24) / 24) ** 2)
    counts = rng.poisson(lam)
    if burst_at is not None:
        counts[burst_at] += 120
    with path.open("w", encoding="utf-8") as f:
        f.write("time,count\n")
        for h, c in zip(hours, counts, strict=True):
            if c:
                f.write(f"{(START + timedelta(hours=int(h))).isoformat()},{c}\n")
    return path


def test_a_burst_in_a_csv_is_one_episode(tmp_path: Path) -> None:
    path = hourly_csv(tmp_path / "counts.csv", burst_at=17 * 24 + 15)
    series = read_counts(path)
    assert series.step == timedelta(hours=1) and len(series.counts) == 21 * 24
    episodes = detect_episodes(series, VolumeRule())
    assert [e.start for e in episodes] == [START + timedelta(days=17, hours=15)]
    result = CliRunner().invoke(main, ["volume-check", str(path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["start"] for r in rows] == [(START + timedelta(days=17, hours=15)).isoformat()]
    assert float(rows[0]["count"]) >= 120 and float(rows[0]["p_value"]) < 1e-4


def test_points_and_settings(tmp_path: Path) -> None:
    path = hourly_csv(tmp_path / "counts.csv", burst_at=17 * 24 + 15)
    runner = CliRunner()
    points = runner.invoke(main, ["volume-check", str(path), "--points"])
    assert points.exit_code == 0, points.output
    rows = list(csv.DictReader(io.StringIO(points.stdout)))
    assert len(rows) == 21 * 24 and sum(int(r["alert"]) for r in rows) >= 1
    assert {r["drop"] for r in rows} <= {"0", "1"}
    strict = runner.invoke(main, ["volume-check", str(path), "--set", "min_count=1000"])
    assert strict.exit_code == 0 and strict.stdout.splitlines()[1:] == []
    bad = runner.invoke(main, ["volume-check", str(path), "--set", "max_p_value=2"])
    assert bad.exit_code != 0 and "max_p_value" in bad.output


def test_bad_rows_are_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time,count\n2026-03-02T00:00:00Z,3\n2026-03-02T01:00:00Z,many\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["volume-check", str(path)])
    assert result.exit_code != 0
    assert f"{path}:line 3: field count: not a number: 'many'" in result.output
    path.write_text("time,count\nyesterday,3\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["volume-check", str(path)])
    assert f"{path}:line 2: field time: not an ISO time: 'yesterday'" in result.output


def test_absurd_counts_and_spans_are_named(tmp_path: Path) -> None:
    """A count of infinity or a billion, or one row a century away from the rest, is a named error, not a
    crash or a grid that fills the memory."""
    path = tmp_path / "absurd.csv"
    for bad in ("inf", "nan", "-1", "1e12"):
        path.write_text(f"time,count\n2026-03-02T00:00:00Z,3\n2026-03-02T00:05:00Z,{bad}\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["volume-check", str(path)])
        assert result.exit_code != 0
        assert f"{path}:line 3: field count: must be a number from 0 to" in result.output, bad
    rows = "".join(f"2026-03-02T00:{m:02d}:00Z,1\n" for m in range(0, 30, 5))
    path.write_text(f"time,count\n{rows}2126-03-02T00:00:00Z,1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["volume-check", str(path)])
    assert result.exit_code != 0
    assert "points of 0:05:00" in result.output and "at most 5,000,000" in result.output
