"""``backtest``: a history replayed on a virtual clock fires the alerts the rules would have raised, then.

The streams come from :mod:`tests.alerts.stream` (a calm stream with a daily and weekly rhythm) with
scripted storms on top, written as import files with ``brand`` and ``label`` columns so no model runs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from alerts.settings import AlertsSettings
from core.mention import Mention
from loyalty_monitor import backtest as bt
from loyalty_monitor.cli import main
from loyalty_monitor.config import ConfigError
from loyalty_monitor.tagging import Tagger
from sentiment.base import SentimentModel
from storage.schema import Alert
from storage.store import Store
from tests.alerts.stream import START, Event, calm_stream, config, mention

CONFIG = """
[storage]
url = "sqlite:///{db}"
[[brands]]
name = "Альфа"
aliases = ["альфа"]
own = true
people = ["Пётр Сидоров"]
[[brands]]
name = "Бета"
aliases = ["бета"]
[alerts.recurring_problem]
enabled = false
[alerts.index_drop]
enabled = false
"""


def write_file(path: Path, events: Iterable[Event], *, brand_column: bool = True) -> Path:
    """``events`` as a JSONL import file, labels (and brands) in their own columns."""
    with path.open("w", encoding="utf-8") as out:
        for e in events:
            m = e.mention
            row = {
                "source": m.source,
                "external_id": m.external_id,
                "channel": m.channel,
                "text": m.text,
                "published_at": m.published_at.isoformat(),
                "author": m.author,
                "author_reach": m.author_reach,
            }
            if e.brand:  # the first brand the text names, with its label; other brands are left out
                row["label"] = e.label
                if brand_column:
                    row["brand"] = e.brand.lower()  # an alias: linked without text matching
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def spike(t0: datetime, n: int = 24, channel: str = "telegram") -> list[Event]:
    """``n`` complaints about our brand from different people, seven minutes apart, from ``t0``."""
    return [
        Event(
            mention(
                f"s{i}",
                t0 + timedelta(minutes=7 * i),
                f"Альфа не проходят платежи {i} {'x' * (i % 5)} терминал номер {i * 37}",
                author=f"sp{i}",
                channel=channel,
            ),
            "Альфа",
            "negative",
        )
        for i in range(n)
    ]


DAYS = 8
ESC_AT = START + timedelta(days=DAYS, hours=15, seconds=30)
ESCALATION = (
    "Альфа, верните мои деньги! Пишу жалобу в Роспотребнадзор и в ЦБ, журналистам уже написала. "
    "Пётр Сидорову лично тоже отправлю скриншоты"
)


def replay(
    path: Path, settings: AlertsSettings | None = None, *, exact: bool = False, until: datetime | None = None
) -> bt.BacktestResult:
    cfg = config(recurring_problem={"enabled": False}, index_drop={"enabled": False})
    lane = bt.Lane("config", settings or cfg.alerts)

    def no_model() -> SentimentModel:
        raise AssertionError("every row is labelled; the model must not load")

    return bt.run_backtest(
        cfg,
        lambda tagger, errors: bt.file_rows(path, tagger, errors),
        [lane],
        model=no_model,
        exact=exact,
        until=until,
    )


def opened(result: bt.BacktestResult, lane: str = "config") -> list[bt.AlertEvent]:
    return [e for e in result.events[lane] if e.event == "opened"]


@pytest.fixture(scope="module")
def storm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A calm week and a day, then a spike of complaints at 11:00 on day 9 and an escalation at 15:00."""
    events, _ = calm_stream(DAYS)
    t0 = START + timedelta(days=DAYS, hours=11)
    esc = Event(mention("esc", ESC_AT, ESCALATION), "Альфа", "negative")
    after, _ = calm_stream(1, start=START + timedelta(days=DAYS), seed=99)
    calm_after = [
        Event(replace(e.mention, external_id=f"d{e.mention.external_id}"), e.brand, e.label) for e in after
    ]
    # Written out of time order: the replay sorts by publication.
    return write_file(
        tmp_path_factory.mktemp("storm") / "storm.jsonl", [esc, *spike(t0), *events, *calm_after]
    )


@pytest.fixture(scope="module")
def storm(storm_file: Path) -> bt.BacktestResult:
    return replay(storm_file)


@pytest.mark.slow
def test_spike_and_escalation_fire_at_their_virtual_times(storm: bt.BacktestResult) -> None:
    events = opened(storm)
    rules = [(e.rule, e.brand) for e in events]
    assert ("negative_spike", "Альфа") in rules, events
    assert ("escalation_terms", "Альфа") in rules, events
    esc = next(e for e in events if e.rule == "escalation_terms")
    # Published at 15:00:30; its minute ends at 15:01, when `run` would have had it for a minute at most.
    assert esc.time == ESC_AT.replace(second=0) + timedelta(minutes=1)
    assert esc.severity == "critical" and esc.time.tzinfo is not None
    first_spike = next(e for e in events if e.rule == "negative_spike")
    t0 = START + timedelta(days=DAYS, hours=11)
    assert t0 < first_spike.time <= t0 + timedelta(hours=3), first_spike
    assert first_spike.numbers["negative"] >= 5 and "p_value" in first_spike.numbers
    assert {e.rule for e in events} <= {"negative_spike", "escalation_terms"}, events
    assert storm.errors == []


@pytest.mark.slow
def test_skipping_quiet_minutes_changes_nothing(tmp_path: Path) -> None:
    """Every minute evaluated (as `run` does) gives the very same events, resolutions included, as the
    replay that skips quiet minutes."""
    events, _ = calm_stream(1)
    esc = Event(mention("esc", START + timedelta(hours=9), ESCALATION), "Альфа", "negative")
    path = write_file(tmp_path / "day.jsonl", [*events, esc])
    until = START + timedelta(days=2, hours=12)
    fast, exact = replay(path, until=until), replay(path, until=until, exact=True)
    assert [e.event for e in fast.events["config"]] == ["opened", "resolved"]
    assert [e.row() for e in exact.events["config"]] == [e.row() for e in fast.events["config"]]
    opened_at, resolved_at = (e.time for e in fast.events["config"])
    assert resolved_at - opened_at >= timedelta(hours=AlertsSettings().resolve_after_hours)


@pytest.mark.slow
def test_the_fast_replay_fires_exactly_what_every_minute_evaluated_fires(
    storm_file: Path, storm: bt.BacktestResult
) -> None:
    """The storm stream (a spike of complaints, an escalation, alerts resolving a day later) replayed with
    every rule run every minute on the rules' own queries (``exact``, what `run` does) gives the very same
    events as the replay that skips quiet minutes and keeps ended hours of the rollup."""
    until = START + timedelta(days=DAYS + 2, hours=12)
    fast, exact = replay(storm_file, until=until), replay(storm_file, until=until, exact=True)
    rows = [e.row() for e in fast.events["config"]]
    assert {r["event"] for r in rows} == {"opened", "updated", "resolved"} or {"opened", "resolved"} <= {
        r["event"] for r in rows
    }, rows
    assert [e.row() for e in exact.events["config"]] == rows
    assert [e.row() for e in storm.events["config"]] == [r for r in rows if r["time"] < until.isoformat()][
        : len(storm.events["config"])
    ]


@pytest.mark.slow
def test_calm_seasonal_eight_weeks_fire_nothing(tmp_path: Path) -> None:
    events, _ = calm_stream(56)
    assert len(events) > 10_000
    result = replay(write_file(tmp_path / "calm.jsonl", events))
    assert result.mentions == len(events)
    assert result.events["config"] == []


def test_set_overrides_a_setting_typed_and_by_key_path() -> None:
    base = AlertsSettings()
    tuned = bt.apply_overrides(base, ["alerts.negative_spike.max_p_value=1e-6", "alerts.cooldown_minutes=5"])
    assert tuned.negative_spike.max_p_value == 1e-6 and tuned.cooldown_minutes == 5
    assert base.negative_spike.max_p_value != 1e-6
    with pytest.raises(ConfigError, match=r"alerts\.negative_spike has no setting 'max_pvalue'"):
        bt.apply_overrides(base, ["alerts.negative_spike.max_pvalue=1"])
    with pytest.raises(ConfigError, match=r"alerts\.negative_spike\.min_count"):
        bt.apply_overrides(base, ["alerts.negative_spike.min_count=many"])
    with pytest.raises(ConfigError, match=r"alerts\.negative_spike\.max_p_value"):
        bt.apply_overrides(base, ["alerts.negative_spike.max_p_value=2"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        bt.apply_overrides(base, ["alerts.negative_spike.min_count"])


@pytest.mark.slow
def test_cli_set_and_compare_change_what_fires(tmp_path: Path, storm_file: Path) -> None:
    cfg = tmp_path / "loyalty.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "live.db"), encoding="utf-8")
    runner = CliRunner()
    strict = runner.invoke(
        main,
        ["backtest", "--config", str(cfg), str(storm_file), "--set", "alerts.negative_spike.min_count=1000"],
    )
    assert strict.exit_code == 0, strict.output
    rows = list(csv.DictReader(io.StringIO(strict.stdout)))
    assert list(rows[0]) == list(bt.COLUMNS)
    assert {r["rule"] for r in rows} == {"escalation_terms"}
    assert "escalation_terms" in strict.stderr and "week of" in strict.stderr
    assert not (tmp_path / "live.db").exists(), "the backtest must not touch the live database"

    other = tmp_path / "quiet.toml"
    other.write_text("[alerts.negative_spike]\nenabled = false\n", encoding="utf-8")
    cmp = runner.invoke(
        main,
        ["backtest", "--config", str(cfg), str(storm_file), "--compare", str(other), "--format", "jsonl"],
    )
    assert cmp.exit_code == 0, cmp.output
    only = [json.loads(line) for line in cmp.stdout.splitlines()]
    assert only and all(r["rule"] == "negative_spike" and r["only_in"] == "config" for r in only), only
    assert isinstance(only[0]["numbers"], dict)

    bad = runner.invoke(main, ["backtest", "--config", str(cfg), str(storm_file), "--set", "alerts.nope=1"])
    assert bad.exit_code == 2 and "alerts.nope" in bad.output and "has no setting" in bad.output


def test_bad_rows_are_reported_by_line_and_the_rest_replayed(tmp_path: Path) -> None:
    events, _ = calm_stream(1)
    esc = Event(mention("esc", START + timedelta(hours=20), ESCALATION), "Альфа", "negative")
    path = write_file(tmp_path / "bad.jsonl", [*events[:20], esc])
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = json.dumps({**json.loads(lines[1]), "label": "furious"}, ensure_ascii=False)
    lines[2] = json.dumps({**json.loads(lines[2]), "brand": "Омега"}, ensure_ascii=False)
    lines[3] = "{broken"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = tmp_path / "loyalty.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "live.db"), encoding="utf-8")
    result = CliRunner().invoke(main, ["backtest", "--config", str(cfg), str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}:line 2: field label: expected negative, neutral, positive or -1, 0, 1, got 'furious'" in (
        result.stderr
    )
    assert f"{path}:line 3: field brand: 'Омега' is not a configured brand or alias" in result.stderr
    assert f"{path}:line 4: not JSON" in result.stderr
    assert f"replayed {len(lines) - 3} mentions" in result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["event"], r["rule"], r["time"]) for r in rows] == [
        ("opened", "escalation_terms", (START + timedelta(hours=20, minutes=1)).isoformat())
    ]


def test_unsorted_long_files_are_sorted_on_disk(tmp_path: Path) -> None:
    """Runs of a few rows spilled and merged give the same order as one sort in memory."""
    events, _ = calm_stream(2)
    path = write_file(tmp_path / "calm.jsonl", reversed(events))
    errors: list[str] = []
    rows = list(bt.file_rows(path, Tagger(config().brands, None), errors))  # type: ignore[arg-type]
    merged, total = bt.sorted_rows(iter(rows), run=50)
    order = [m.external_id for _, m, _ in merged]
    assert total == len(events) and errors == []
    assert order == [m.external_id for _, m, _ in sorted(rows, key=lambda r: (r[1].published_at, r[0]))]


def test_from_db_replays_stored_labels_and_leaves_the_database_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loyalty_monitor import service
    from tests.fakes import FakeSentimentModel

    monkeypatch.setattr(service, "load_sentiment", lambda config: FakeSentimentModel())
    events, _ = calm_stream(1)
    esc = Event(mention("esc", START + timedelta(hours=20), ESCALATION), "Альфа", "negative")
    path = write_file(tmp_path / "day.jsonl", [*events[:30], esc])
    cfg = tmp_path / "loyalty.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "live.db"), encoding="utf-8")
    runner = CliRunner()
    imported = runner.invoke(main, ["import", "--config", str(cfg), str(path)])
    assert imported.exit_code == 0, imported.output
    monkeypatch.setattr(service, "load_sentiment", lambda config: pytest.fail("stored labels need no model"))
    result = runner.invoke(main, ["backtest", "--from-db", "--config", str(cfg), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["event"], r["rule"]) for r in rows] == [("opened", "escalation_terms")]
    assert "replayed 31 mentions" in result.stderr
    live = Store.open(f"sqlite:///{tmp_path / 'live.db'}")
    try:
        assert live.counts()["mentions"] == 31
        with live.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Alert)).scalar_one() == 0
    finally:
        live.close()


def test_replay_twins_answer_as_the_queries_they_replace(tmp_path: Path) -> None:
    """What the replay keeps as it stores links answers as the rules' queries over the same store, every
    hour of a random stream with copies (not counted), replies, mentions of no brand, unlabelled links and
    quiet hours: the index-drop windows (``index_window``, per brand and per channel; a window off the
    minute grid is read by the query itself) and the brands' recent complaints (``recent_complaints``;
    complaints published at the same second may come in either order from the query)."""
    import random

    from alerts.engine import AlertEngine
    from alerts.rules.queries import recent_complaints
    from loyalty_index.index import index_window
    from storage.store import BrandLabel

    cfg = config(competitor_alerts=True)
    store = bt._throwaway_store(tmp_path / "lane.db")
    try:
        engine = AlertEngine(store, cfg.alerts, cfg.alert_brands())
        lane = bt.Lane("config", cfg.alerts, store=store, engine=engine)
        bt._fit_for_replay(lane, exact=False)
        twin = engine.index_drop
        assert isinstance(twin, bt._ReplayIndexDrop)

        def no_model() -> SentimentModel:
            raise AssertionError("no model")

        tagger = Tagger(cfg.brands, bt._LabelModel(no_model))
        replay = bt._Replay(tagger, [lane], bt.BacktestResult(events={"config": []}), None)
        rnd = random.Random(11)
        times = sorted(START + timedelta(seconds=rnd.randrange(4 * 86400)) for _ in range(3000))
        times = [t for t in times if not START + timedelta(hours=30) <= t < START + timedelta(hours=41)]
        texts: list[str] = []
        pending: list[tuple[Mention, Sequence[BrandLabel]]] = []
        labels = ("negative", "neutral", "positive", "mixed")
        period = timedelta(days=1)
        now = START + timedelta(hours=1)
        compared = 0

        def check(now: datetime) -> int:
            n = 0
            for since, until in ((now - period, now), (now - 2 * period, now - period)):
                for by_channel in (False, True):
                    want = index_window(store, since, until, engine.brands, by_channel=by_channel)
                    assert twin.window(store, since, until, by_channel) == want, (since, by_channel)
                    n += sum(p.positive + p.negative + p.neutral for p in want)
            with store.engine.connect() as conn:
                for brand in engine.brands:
                    for days, limit in ((2.0, 5000), (0.5, 40)):
                        want_c = recent_complaints(conn, brand, now, days, limit)
                        want_c.sort(key=lambda c: (c.published_at, c.id), reverse=True)
                        assert engine.complaints(conn, brand, now, days, limit) == want_c, (now, brand, days)
                        n += len(want_c)
            return n

        for i, at in enumerate([*times, START + timedelta(days=5)]):
            while at >= now:
                if pending:
                    replay._store(lane, pending)
                    pending = []
                compared += check(now)
                now += timedelta(hours=1)
            copy = texts and rnd.random() < 0.15
            text = rnd.choice(texts) if copy else f"text {i} {rnd.random()}"
            texts.append(text)
            links = [
                BrandLabel(b, rnd.choice(labels), 0.9, "file")
                for b in ("Альфа", "Бета", "Гамма")
                if rnd.random() < 0.5
            ]
            m = Mention(
                source="t",
                external_id=str(i),
                channel=rnd.choice(("vk", "telegram", "news")),
                text=text,
                published_at=at,
                author=rnd.choice((None, "anna", "boris", f"u{i}")),
                parent_external_id=str(rnd.randrange(i)) if i and rnd.random() < 0.2 else None,
            )
            m.collected_at = at
            pending.append((m, links))
            if rnd.random() < 0.3:  # stored a minute at a time, or together with later quiet minutes
                replay._store(lane, pending)
                pending = []
        assert compared > 10_000
        off = now - timedelta(seconds=30)
        assert twin.window(store, off - period, off, True) == index_window(
            store, off - period, off, engine.brands
        )
    finally:
        store.close()
