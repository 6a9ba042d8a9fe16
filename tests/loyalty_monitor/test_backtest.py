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
    minute grid is read by the query itself), the brands' recent complaints (``recent_complaints``, and
    with their word sets as the text rules read them; complaints published at the same second may come in
    either order from the query), each author's complaints and mentions (the repeat-complainer
    rule's two queries) and each channel's usual engagement (the spreading rule's baseline)."""
    import random

    from alerts.engine import AlertEngine
    from alerts.rules.engagement_growth import EngagementGrowth
    from alerts.rules.queries import recent_complaints
    from loyalty_index.index import index_window
    from storage.store import BrandLabel

    cfg = config(competitor_alerts=True)
    store = bt._throwaway_store(tmp_path / "lane.db")
    try:
        engine = AlertEngine(store, cfg.alerts, cfg.alert_brands())
        live = AlertEngine(store, cfg.alerts, cfg.alert_brands())  # the rules' own queries
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
        usuals = 0

        def check(now: datetime) -> int:
            nonlocal usuals
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
                    if brand == engine.brands[0]:  # per channel, not per brand
                        for ch in ("vk", "telegram", "news"):
                            at = bt._floor_step(now, bt._BASELINE_EVERY)
                            want_u = EngagementGrowth(cfg.alerts, engine.brands).usual(conn, ch, at)
                            assert isinstance(engine.growth, bt._ReplayGrowth) and engine.growth.posts
                            assert engine.growth.posts.usual(ch, at) == want_u, (now, ch)
                            assert engine.growth.usual(conn, ch, now) == want_u, (now, ch)
                            usuals += want_u > 0
                    want_r = live.words.recent(
                        recent_complaints(conn, brand, now, live.recurring.history_days, 5000)
                    )
                    want_r.sort(key=lambda r: (r.published_at, r.id), reverse=True)
                    assert list(engine.recent_words(conn, brand, now)) == want_r, (now, brand)
                    for author in ("anna", "boris", f"u{rnd.randrange(3000)}"):
                        since = now - timedelta(days=7)
                        got = sorted(
                            (r.id, r.parent_external_id, r.channel)
                            for r in engine.repeat_complainer.negative_rows(conn, brand, author, since, now)
                        )
                        assert got == sorted(
                            (r.id, r.parent_external_id, r.channel)
                            for r in live.repeat_complainer.negative_rows(conn, brand, author, since, now)
                        ), (now, brand, author)
                        assert engine.repeat_complainer.all_count(
                            conn, brand, author, since, now
                        ) == live.repeat_complainer.all_count(conn, brand, author, since, now)
                        n += len(got)
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
                author_reach=rnd.choice((None, rnd.randrange(100_000))),
                reposts=rnd.choice((None, rnd.randrange(50))),
                comments=rnd.randrange(30),
                views=rnd.choice((None, rnd.randrange(10_000))),
            )
            m.collected_at = at
            pending.append((m, links))
            if rnd.random() < 0.3:  # stored a minute at a time, or together with later quiet minutes
                replay._store(lane, pending)
                pending = []
        assert compared > 10_000 and usuals > 50
        off = now - timedelta(seconds=30)
        assert twin.window(store, off - period, off, True) == index_window(
            store, off - period, off, engine.brands
        )
    finally:
        store.close()


def test_replay_text_scans_answer_as_the_rules_scans(tmp_path: Path) -> None:
    """The replay's recurring-problem and copies scans (word sets pre-filtered by hashed masks) give the
    rules' own scans' candidates, fresh complaint by fresh complaint, on a random stream of complaints
    built from a small vocabulary: variants of a few problems (some rising in the last days), long posts
    and their near copies by other authors, replies in shared threads and unrelated complaints."""
    import random

    from alerts.rules.copies_across_channels import CopiesAcrossChannels, CopiesScan
    from alerts.rules.queries import FirstSeen, Link
    from alerts.rules.recurring_problem import RecurringProblem, RecurringScan
    from alerts.rules.texts import WordSets
    from loyalty_monitor.backtest_text import ReplayComplaints, ReplayCopies, ReplayRecurring

    class Seen(FirstSeen):
        def __call__(self, conn: object, brand: str) -> datetime | None:
            return START

    cfg = config(recurring_problem={"min_authors": 4, "rise": 2.0}, copies_across_channels={"min_copies": 2})
    settings = cfg.alerts
    words = WordSets(cfg.alert_brands())
    rnd = random.Random(5)
    vocab = [f"слово{chr(0x430 + i // 20)}{chr(0x430 + i % 20)}" for i in range(120)]
    problems = [rnd.sample(vocab, rnd.choice((4, 6, 8))) for _ in range(6)]
    posts = [rnd.sample(vocab, rnd.randrange(20, 34)) for _ in range(8)]
    end = START + timedelta(days=20)
    complaints = ReplayComplaints(["Альфа"], 17.0, words, 5000)
    links: list[Link] = []
    for i in range(2500):
        at = START + timedelta(seconds=rnd.randrange(20 * 86400))
        late = at > end - timedelta(days=3)
        kind = rnd.random()
        if kind < (0.5 if late else 0.2):
            base = list(rnd.choice(problems[:3] if late else problems))
            for _ in range(rnd.randrange(3)):
                base[rnd.randrange(len(base))] = rnd.choice(vocab)
            text = base + rnd.sample(vocab, rnd.randrange(2))
        elif kind < 0.65:
            post = rnd.choice(posts)
            text = rnd.sample(post, int(len(post) * rnd.uniform(0.7, 1.0))) + rnd.sample(vocab, 2)
        else:
            text = rnd.sample(vocab, rnd.randrange(1, 30))
        links.append(
            Link(
                id=i + 1,
                brand="Альфа",
                channel=rnd.choice(("vk", "telegram", "news")),
                label="negative",
                counted=True,
                text="Альфа " + " ".join(text),
                author=rnd.choice((None, f"a{rnd.randrange(40)}", f"u{i}")),
                reach=100,
                url=None,
                published_at=at,
                duplicate_of=None,
                source="t",
                parent_external_id=f"p{rnd.randrange(30)}" if rnd.random() < 0.2 else None,
            )
        )
    links.sort(key=lambda lk: (lk.published_at, lk.id))
    for lk in links:
        m = Mention(
            source="t",
            external_id=str(lk.id),
            channel=lk.channel,
            text=lk.text,
            published_at=lk.published_at,
            author=lk.author,
            parent_external_id=lk.parent_external_id,
        )
        complaints.add("Альфа", "negative", lk.id, lk.published_at, m)
    store = bt._throwaway_store(tmp_path / "lane.db")
    try:
        copies, fast_copies = CopiesAcrossChannels(settings), ReplayCopies(settings)
        rule = RecurringProblem(settings, Seen(), copies.copies)
        fast_rule = ReplayRecurring(settings, Seen(), fast_copies.copies)
        found = {"copies": 0, "recurring": 0}
        with store.engine.connect() as conn:
            for hours in range(0, 7 * 24, 5):
                now = end - timedelta(hours=hours)
                recent = complaints.recent_words(conn, "Альфа", now)
                plain = list(recent)
                fresh = [lk for lk in links if now - timedelta(hours=2) < lk.published_at <= now]
                scans: list[tuple[CopiesScan | RecurringScan, CopiesScan | RecurringScan]] = [
                    (copies.scan(conn, "Альфа", plain, now), fast_copies.scan(conn, "Альфа", recent, now)),
                    (rule.scan(conn, "Альфа", plain, now), fast_rule.scan(conn, "Альфа", recent, now)),
                ]
                assert type(scans[0][1]) is not type(scans[0][0])  # the fast scan is the one compared
                for lk in fresh:
                    w = words.of(lk.id, lk.text)
                    for (slow, fast), name in zip(scans, ("copies", "recurring"), strict=True):
                        want = slow.check(lk, w)
                        assert fast.check(lk, w) == want, (now, lk.id, name)
                        found[name] += want is not None
        assert found["copies"] > 5 and found["recurring"] > 5, found
    finally:
        store.close()


def test_replay_store_links_threads_as_the_store_does_and_skips_only_while_no_reply_is_stored(
    tmp_path: Path,
) -> None:
    """The throwaway store skips thread linking only while it holds no reply, and stores what ``Store`` does.

    Replies arrive after a reply-free start, to a parent stored before them (the parent was stored while
    linking was skipped) and to one stored after them, so skipping too long or too widely leaves a
    ``parent_id`` unset that the plain store sets; repeated texts check duplicate marking along the way.
    """
    from sqlalchemy import event

    from storage.schema import MentionRow

    def m(i: int, text: str, parent: str | None = None) -> Mention:
        at = START + timedelta(minutes=i)
        return Mention(
            source="t" if i % 3 else "vk",
            external_id=f"p{i}",
            channel="telegram",
            text=text,
            published_at=at,
            parent_external_id=parent,
            collected_at=at,
        )

    batches = [
        [m(1, "one"), m(2, "two"), m(3, "one")],
        [m(4, "four"), m(5, "two")],  # p4 (source "t") is the parent the first reply finds stored
        [
            m(7, "reply to p4", parent="p4"),
            m(8, "reply to p10", parent="p10"),
            m(11, "again to p4", parent="p4"),
        ],
        [m(10, "ten"), m(13, "four")],  # p10 arrives after its reply
        [m(14, "more"), m(16, "reply to p3", parent="p3")],  # p3 is "vk", p16 "t": no link
    ]
    fast = bt._throwaway_store(tmp_path / "fast.db")
    plain = Store.open(f"sqlite:///{tmp_path / 'plain.db'}")
    linking: list[str] = []

    @event.listens_for(fast.engine, "before_cursor_execute")
    def _seen(_conn: object, _cur: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE") and "parent_id" in statement:
            linking.append(statement)

    try:
        assert isinstance(fast, bt.ReplayStore)
        for n, batch in enumerate(batches):
            assert fast.upsert_mentions(batch) == plain.upsert_mentions(batch)
            if n < 2:
                assert not fast.threaded and not linking, "nothing can link yet: no statement is needed"
        assert fast.threaded and linking

        def stored(store: Store) -> list[tuple[object, ...]]:
            cols = (MentionRow.id, MentionRow.source, MentionRow.external_id)
            extra = (MentionRow.parent_external_id, MentionRow.parent_id, MentionRow.duplicate_of)
            with store.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(select(*cols, *extra).order_by(MentionRow.id)).all()]

        want = stored(plain)
        assert stored(fast) == want
        parents = {ext: pid for _i, _s, ext, _p, pid, _d in want}
        ids = {(s, ext): i for i, s, ext, *_ in want}
        assert parents["p7"] == parents["p11"] == ids[("t", "p4")]
        assert parents["p8"] == ids[("t", "p10")]
        assert parents["p16"] is None
        assert sum(d is not None for *_, d in want) == 3  # p3, p5 and p13 repeat earlier texts
    finally:
        fast.close()
        plain.close()
