"""Queries, index arithmetic, CSV export, the launch command and the translations, without Streamlit."""

from __future__ import annotations

import ast
import csv
import io
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from core.mention import Mention
from dashboard import data, export, launch
from dashboard.i18n import TRANSLATIONS, translate
from dashboard.settings import DashboardSettings, DashboardSetup
from storage.schema import MentionBrand
from storage.store import BrandLabel, Store, TaggedMention
from tests.dashboard.fixtures import BRANDS, OWN

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def _store_with(tmp_path: Path, items: list[tuple[datetime, str]]) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'd.db'}")
    store.upsert_mentions([Mention("vk", f"e{i}", "vk", f"text {i}", at) for i, (at, _) in enumerate(items)])
    labels = {f"text {i}": label for i, (_, label) in enumerate(items)}
    store.save_tags([TaggedMention(p, [BrandLabel("A", labels[p.text], 0.9, "t")]) for p in store.untagged()])
    return store


def test_days_are_the_users_days(tmp_path: Path) -> None:
    # 21:30 UTC on 1 March is 00:30 on 2 March in Moscow (UTC+3).
    store = _store_with(tmp_path, [(datetime(2025, 3, 1, 21, 30, tzinfo=UTC), "positive")])
    since, until = datetime(2025, 2, 27, tzinfo=UTC), datetime(2025, 3, 4, tzinfo=UTC)
    moscow = data.summary(store.engine, data.Filters(since, until, tz="Europe/Moscow"))
    utc = data.summary(store.engine, data.Filters(since, until, tz="UTC"))
    assert list(moscow["bucket"]) == ["2025-03-02"]
    assert list(utc["bucket"]) == ["2025-03-01"]


def test_day_buckets_follow_daylight_saving_changes(tmp_path: Path) -> None:
    # Berlin: UTC+1 until 30 March 2025 01:00 UTC, UTC+2 after. 22:30 UTC is 23:30 before, 00:30 after.
    items = [
        (datetime(2025, 3, 28, 22, 30, tzinfo=UTC), "positive"),
        (datetime(2025, 4, 1, 22, 30, tzinfo=UTC), "negative"),
    ]
    store = _store_with(tmp_path, items)
    f = data.Filters(datetime(2025, 3, 20, tzinfo=UTC), datetime(2025, 4, 10, tzinfo=UTC), tz="Europe/Berlin")
    assert sorted(data.summary(store.engine, f)["bucket"]) == ["2025-03-28", "2025-04-02"]


def test_corrections_win_and_duplicates_do_not_count(tmp_path: Path) -> None:
    at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    store = _store_with(tmp_path, [(at, "negative"), (at, "negative")])
    store.correct_label(1, "A", "positive")
    store.upsert_mentions([Mention("tg", "copy", "vk", "text 0", at)])  # same text: a duplicate
    store.save_tags([TaggedMention(p, [BrandLabel("A", "negative", 0.9, "t")]) for p in store.untagged()])
    f = data.Filters(at - timedelta(days=1), at + timedelta(days=1), tz="UTC")
    idx = data.index_frame(data.summary(store.engine, f))
    row = idx.iloc[0]
    assert (row["positive"], row["negative"]) == (1, 1)
    assert row["index"] == 0.0


def test_wilson_index_bounds_and_empty_counts() -> None:
    out = data.wilson_index(pd.Series([30, 0, 0, 5]), pd.Series([10, 0, 4, 5]))
    assert out["index"].iloc[0] == pytest.approx(0.5)
    assert -1 <= out["ci_low"].iloc[0] < 0.5 < out["ci_high"].iloc[0] <= 1
    assert pd.isna(out["index"].iloc[1])  # P + N = 0: no index, not zero
    assert out["index"].iloc[2] == -1.0
    assert out["ci_low"].iloc[2] == pytest.approx(-1.0)
    assert out["ci_high"].iloc[2] > -0.5  # four opinions prove little
    assert list(out["low_support"]) == [False, True, True, False]


def test_distinct_lists_come_from_the_index(tmp_path: Path) -> None:
    store = _store_with(tmp_path, [(datetime(2025, 3, 1, tzinfo=UTC), "neutral")])
    assert data.channels(store.engine) == ["vk"]
    assert data.distinct_brands(store.engine) == ["A"]


def test_search_treats_percent_and_underscore_literally(tmp_path: Path) -> None:
    store = _store_with(tmp_path, [(datetime(2025, 3, 1, tzinfo=UTC), "neutral")])
    f = data.Filters(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
    assert len(data.feed(store.engine, f, 10)) == 1
    from dataclasses import replace

    assert data.feed(store.engine, replace(f, search="text 0"), 10)["id"].tolist() == [1]
    assert data.feed(store.engine, replace(f, search="%"), 10).empty
    assert data.feed(store.engine, replace(f, search="text_0"), 10).empty


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://vk.com/wall1_2", "https://vk.com/wall1_2"),
        ("http://x.ru", "http://x.ru"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("data:text/html,<script>", None),
        (None, None),
    ],
)
def test_only_http_links_are_shown(url: str | None, shown: str | None) -> None:
    assert data.safe_url(url) == shown


def _last_30_days(**kw: object) -> data.Filters:
    now = datetime.now(UTC)
    return data.Filters(now - timedelta(days=31), now + timedelta(minutes=1), tz="Europe/Moscow", **kw)  # type: ignore[arg-type]


def test_mentions_csv_is_the_cli_format_with_the_dashboard_filters(db: tuple[str, Store]) -> None:
    _, store = db
    out = export.mentions_csv(store, _last_30_days(brands=(BRANDS[1],), sentiments=("negative",)), 1000)
    header, *rows = csv.reader(io.StringIO(out.decode("utf-8")))
    assert header == list(export.MENTION_COLUMNS)
    assert rows
    brand, label, when = header.index("brand"), header.index("label"), header.index("published_at")
    assert {r[brand] for r in rows} == {BRANDS[1]}
    assert {r[label] for r in rows} == {"negative"}
    assert rows[0][when].endswith("+03:00")  # times in the chosen zone, with the offset


def test_mentions_csv_for_excel_has_bom_and_semicolons(db: tuple[str, Store]) -> None:
    _, store = db
    raw = export.mentions_csv(store, _last_30_days(), 5, excel=True)
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw[3:].decode("utf-8")), delimiter=";"))
    assert lines[0] == list(export.MENTION_COLUMNS)
    assert len(lines) == 6


def test_mentions_csv_honours_the_handled_filter(db: tuple[str, Store]) -> None:
    _, store = db
    with store.engine.connect() as conn:
        mention_id = conn.execute(select(MentionBrand.mention_id).limit(1)).scalar_one()
    store.mark_handled(mention_id)
    out = export.mentions_csv(store, _last_30_days(handled="handled"), 1000).decode("utf-8")
    _header, *rows = csv.reader(io.StringIO(out))
    assert rows
    assert {row[0] for row in rows} == {str(mention_id)}


def test_index_csv_rows_per_brand_channel_and_day(db: tuple[str, Store]) -> None:
    _, store = db
    out = export.index_csv(store, _last_30_days(brands=(OWN,)), excel=True)
    header, *rows = out[3:].decode("utf-8").splitlines()
    assert header.split(";") == list(export.INDEX_COLUMNS)
    assert {r.split(";")[1] for r in rows} == {OWN}


def test_launch_command_binds_the_configured_address() -> None:
    argv = launch.command(DashboardSettings())
    assert argv[:5] == [sys.executable, "-m", "dashboard.serve", "run", str(DASHBOARD / "app.py")]
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == "8501"
    assert argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    shared = launch.command(DashboardSettings(host="0.0.0.0", port=9000))
    assert shared[shared.index("--server.address") + 1] == "0.0.0.0"


def test_the_setup_reaches_the_server_through_its_environment_not_its_command_line() -> None:
    """A PostgreSQL URL may hold a password: a command line is visible to every user, an environment not."""
    secret_url = "postgresql+psycopg://monitor:s3cret@db/loyalty"
    setup = DashboardSetup(db_url=secret_url, brands=("А", "Б"), own_brands=("А",))
    env = setup.environment({"PATH": "/bin"})
    assert env["PATH"] == "/bin"
    assert DashboardSetup.from_env(env) == setup
    assert not any("s3cret" in arg for arg in launch.command(setup.dashboard))


def test_a_missing_or_broken_setup_is_one_line() -> None:
    with pytest.raises(ValueError, match="loyalty-monitor dashboard"):
        DashboardSetup.from_env({})
    with pytest.raises(ValueError, match=r"^LOYALTY_DASHBOARD_SETUP: language: .*$"):
        DashboardSetup.from_env({DashboardSetup.ENV: '{"db_url": "sqlite://", "language": "fr"}'})


def test_both_languages_have_the_same_keys() -> None:
    assert set(TRANSLATIONS["ru"]) == set(TRANSLATIONS["en"])
    for key in TRANSLATIONS["ru"]:
        ru_fields = set(re.findall(r"{(\w+)}", TRANSLATIONS["ru"][key]))
        assert ru_fields == set(re.findall(r"{(\w+)}", TRANSLATIONS["en"][key])), key


def test_every_literal_key_used_in_the_code_exists() -> None:
    used: set[str] = set()
    for path in DASHBOARD.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"t", "translate"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                used.add(node.args[0].value)
    assert used, "the scan found no keys: it is broken"
    assert used <= set(TRANSLATIONS["ru"]), used - set(TRANSLATIONS["ru"])


def test_translate_fills_values_and_rejects_unknown_keys() -> None:
    assert translate("feed.count", "en", n=3, limit=200) == "Showing the 3 newest mentions (at most 200)"
    with pytest.raises(KeyError):
        translate("no.such.key", "ru")


def test_alert_titles_are_in_the_pages_language(tmp_path: Path) -> None:
    from alerts.lifecycle import Candidate, raise_alert
    from alerts.settings import AlertsSettings

    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    at = datetime(2026, 5, 4, 12, tzinfo=UTC)
    spike = Candidate(
        rule="negative_spike",
        brand="A",
        channel=None,
        key="negative",
        severity="warning",
        numbers={"negative": 9},
        facts={"channel": None, "negative": 9, "window_hours": 3},
        mention_ids=[],
    )
    with store.engine.begin() as conn:
        raise_alert(conn, spike, AlertsSettings(), at)
    f = data.Filters(at - timedelta(days=1), at + timedelta(days=1))
    assert list(data.alerts_frame(store, f, at, "en")["title"]) == [
        "A: negative spike (all channels: 9 in 3 h)"
    ]
    assert list(data.alerts_frame(store, f, at)["title"]) == ["A: всплеск негатива (все каналы: 9 за 3 ч)"]
    store.close()
