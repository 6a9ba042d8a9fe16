"""The whole demo through the real pipeline: it raises exactly the alerts it scripts, and no others.

``run_demo`` replays the 30 days of history and the live part with the shipped sentiment model, the brand
matcher, storage and the alert engine, as ``loyalty-monitor demo`` does. Every alert must match one of
:data:`~loyalty_monitor.demo.EXPECTED_ALERT_RULES` (rule, brand, channel where it matters, time window,
severity at least), and every expectation must be met. The history's app incident is expected to alert;
everything else in the background is calm, so any other alert is either noise in the demo or a rule that
fires on ordinary traffic.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts.message import SEVERITY_RANK
from loyalty_monitor.demo import EXPECTED_ALERT_RULES, ExpectedAlert
from loyalty_monitor.replay import run_demo
from storage.schema import Alert
from storage.store import Store

pytestmark = pytest.mark.slow

# A Wednesday 09:00 UTC (12:00 in Moscow): the live part runs through a working day's afternoon.
LIVE_START = datetime(2026, 6, 10, 9, tzinfo=UTC)


def _matches(alert: Any, exp: ExpectedAlert, live_start: datetime, *, required: bool = False) -> bool:
    """``alert`` is one ``exp`` allows; ``required``: one that meets it (opened by ``within_minutes``)."""
    opened = alert.opened_at if alert.opened_at.tzinfo else alert.opened_at.replace(tzinfo=UTC)
    minutes = (opened - live_start) / timedelta(minutes=1)
    last = exp.within_minutes if required else exp.last_minute
    return (
        alert.rule == exp.rule
        and alert.brand == exp.brand
        and (exp.channel is None or alert.channel == exp.channel)
        and exp.after_minutes <= minutes <= last
        and SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[exp.severity]
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """One replay of the whole demo for every test here (minutes of work with the real model)."""
    tmp_path = tmp_path_factory.mktemp("demo")
    return tmp_path, run_demo(tmp_path, dashboard=False, live_start=LIVE_START)


def test_whole_demo_raises_exactly_its_expected_alerts(demo: tuple[Path, Any]) -> None:
    tmp_path, summary = demo
    store = Store.open(f"sqlite:///{(tmp_path / 'demo.db').resolve()}")
    try:
        with store.engine.connect() as conn:
            alerts = conn.execute(
                select(Alert.rule, Alert.brand, Alert.channel, Alert.severity, Alert.opened_at, Alert.title)
            ).all()
    finally:
        store.close()
    listing = "\n".join(
        f"  {a.opened_at} {a.rule} {a.channel or '*'} {a.severity}: {a.title}" for a in alerts
    )
    unexpected = [a for a in alerts if not any(_matches(a, e, LIVE_START) for e in EXPECTED_ALERT_RULES)]
    assert not unexpected, f"alerts the demo does not script:\n{listing}"
    missing = [
        e for e in EXPECTED_ALERT_RULES if not any(_matches(a, e, LIVE_START, required=True) for a in alerts)
    ]
    assert not missing, (
        "expected but not raised: " + "; ".join(f"{e.rule} ({e.why})" for e in missing) + f"\n{listing}"
    )
    assert summary.alerts and len(summary.alerts) == len(alerts)


def test_demo_has_themes_of_our_brand_and_a_digest_naming_every_brand(demo: tuple[Path, Any]) -> None:
    """What a PR lead sees on day one: our brand's themes in Russian words, and a digest that fits."""
    import csv
    import io

    from click.testing import CliRunner

    from loyalty_monitor.cli import main
    from loyalty_monitor.config import load_config
    from loyalty_monitor.demo import OWN_BRAND

    tmp_path, _ = demo
    config = tmp_path / "loyalty.toml"
    since = (LIVE_START - timedelta(days=7)).isoformat()
    until = (LIVE_START + timedelta(days=1)).isoformat()
    result = CliRunner().invoke(
        main, ["export", "themes", "--config", str(config), "--since", since, "--until", until]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    ours = [r for r in rows if r["brand"] == OWN_BRAND.name]
    assert len(ours) >= 3, rows
    assert all(re.fullmatch(r"[а-я-]+( / [а-я-]+){0,2}", r["theme"]) for r in ours), ours
    digest = CliRunner().invoke(main, ["digest", "--print", "--config", str(config), "--since", since])
    assert digest.exit_code == 0, digest.output
    assert len(digest.stdout) <= 4096
    for brand in load_config(config).brands:
        assert f"• {brand.name}" in digest.stdout, digest.stdout


def test_demo_responses_show_brands_answering_and_complaints_left_unanswered(demo: tuple[Path, Any]) -> None:
    """The one-window story after the demo: the brands answer part of the complaints and questions, at
    their own speed, and leave some unanswered (what the queue and the reply-time chart show)."""
    import csv
    import io

    from click.testing import CliRunner

    from loyalty_index.responses import RESPONSE_COLUMNS
    from loyalty_monitor.cli import main

    tmp_path, _ = demo
    result = CliRunner().invoke(
        main, ["export", "responses", "--format", "csv", "--config", str(tmp_path / "loyalty.toml")]
    )
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert tuple(reader.fieldnames or ()) == RESPONSE_COLUMNS
    rows = list(reader)
    answered = {r["brand"] for r in rows if int(r["answered"]) > 0}
    assert len(answered) >= 3, rows
    assert any(int(r["answered"]) < int(r["needs_answer"]) for r in rows), rows
    assert all(r["median_first_response_min"] for r in rows if int(r["answered"]) > 0)


def test_backtest_of_the_demo_history_reproduces_its_alerts(demo: tuple[Path, Any]) -> None:
    """``backtest --from-db --step 60`` over the demo's stored history, on the demo's own cadence (an hour
    at a time from its first mention, every rule run each time), opens the alerts the demo's replay opened
    in its history: the same rules and brands, at times within a minute.

    ``sla_breach`` is left out on both sides: a backtest opens no response cases (it replays mentions, not
    the brands' reply tracking), so it cannot be late with one.
    """
    from sqlalchemy import func

    from loyalty_monitor import backtest as bt
    from loyalty_monitor.config import load_config
    from storage.schema import MentionRow

    tmp_path, _ = demo
    config = load_config(tmp_path / "loyalty.toml")
    store = Store.open(config.storage.url)
    try:
        with store.engine.connect() as conn:
            first, last = conn.execute(
                select(func.min(MentionRow.published_at), func.max(MentionRow.published_at)).where(
                    MentionRow.published_at < LIVE_START
                )
            ).one()
            first, last = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (first, last))
            hour = timedelta(hours=1)
            history_end = first + ((last - first) // hour + 1) * hour  # the demo's last history slice
            raised = conn.execute(select(Alert.rule, Alert.brand, Alert.opened_at)).all()
        lane = bt.Lane("config", config.alerts)
        result = bt.run_backtest(
            config,
            lambda tagger, errors: bt.db_rows(store, None, LIVE_START),
            [lane],
            model=lambda: pytest.fail("the stored labels need no model"),
            step=hour,
            exact=True,
        )
    finally:
        store.close()

    def at(t: datetime) -> datetime:
        return t if t.tzinfo else t.replace(tzinfo=UTC)

    demo_side = sorted(
        (a.rule, a.brand, at(a.opened_at))
        for a in raised
        if at(a.opened_at) <= history_end and a.rule != "sla_breach"
    )
    backtest_side = sorted(
        (e.rule, e.brand, e.time)
        for e in result.events["config"]
        if e.event == "opened" and e.rule != "sla_breach"
    )
    assert demo_side, "the demo's history raises its incident's alerts"
    assert [(r, b) for r, b, _ in backtest_side] == [(r, b) for r, b, _ in demo_side], (
        backtest_side,
        demo_side,
    )
    for (_, _, ours), (_, _, theirs) in zip(backtest_side, demo_side, strict=True):
        assert abs(ours - theirs) <= timedelta(minutes=1), (backtest_side, demo_side)
