"""The dashboard script driven through Streamlit's AppTest: pages, filters, corrections, login, escaping."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard.settings import DashboardSetup
from storage.schema import MentionBrand, MentionRow
from storage.store import Store
from tests.dashboard.fixtures import BRANDS, EVIL_TEXT, OWN

MakeApp = Callable[..., AppTest]


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _goto(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(page)
    return _run(at)


def _feed_df(at: AppTest):  # type: ignore[no-untyped-def]
    return at.dataframe[0].value


def test_overview_draws_four_charts_metrics_and_alert_states(make_app: MakeApp) -> None:
    at = _run(make_app())
    assert at.title[0].value == "Монитор лояльности"
    assert len(at.get("vega_lite_chart")) == 4
    labels = [m.label for m in at.metric]
    assert f"Индекс: {OWN}" in labels
    assert "Открытых алертов" in labels
    open_alerts = next(m for m in at.metric if m.label == "Открытых алертов")
    assert open_alerts.value == "1"  # one open, one acknowledged, one muted until later today
    alerts = at.dataframe[0].value
    assert sorted(alerts["Статус"]) == ["заглушён", "открыт", "принят"]
    assert "slack: failed v1 (1 attempts); telegram: sent v1" in list(alerts["Доставка"])


def test_index_chart_has_fixed_axis_zero_line_and_alert_markers(make_app: MakeApp) -> None:
    import json

    at = _run(make_app())
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    layers = spec["layer"]
    assert any(
        layer.get("encoding", {}).get("y", {}).get("scale", {}).get("domain") == [-1, 1] for layer in layers
    )
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layers]
    assert marks.count("rule") == 2  # the zero line and the alert markers
    assert "area" in marks  # the confidence band


def test_language_switch_translates_the_page(make_app: MakeApp) -> None:
    at = _run(make_app())
    at.sidebar.radio(key="lang").set_value("en")
    _run(at)
    assert at.title[0].value == "Loyalty monitor"
    assert "Open alerts" in [m.label for m in at.metric]
    assert sorted(at.dataframe[0].value["State"]) == ["acknowledged", "muted", "open"]
    page = at.sidebar.radio(key="page")
    assert page.options == ["Overview", "Mentions", "Queue", "Themes", "Sources"]


def test_feed_is_newest_first_and_filters_by_brand_and_sentiment(make_app: MakeApp) -> None:
    at = _goto(_run(make_app()), "feed")
    rows = _feed_df(at)
    assert rows["text"].iloc[0] == EVIL_TEXT  # published a minute ago: the newest
    ids_in_order = list(rows["id"])
    assert len(ids_in_order) == 200

    at.sidebar.multiselect(key="brands").set_value([BRANDS[1]])
    _run(at)
    assert set(_feed_df(at)["brand"]) == {BRANDS[1]}

    at.sidebar.multiselect(key="sentiments").set_value(["negative"])
    _run(at)
    assert set(_feed_df(at)["label"]) == {"негатив"}

    at.sidebar.multiselect(key="channels").set_value(["vk"])
    _run(at)
    assert set(_feed_df(at)["channel"]) == {"vk"}


def test_feed_search_ignores_case_of_cyrillic(make_app: MakeApp) -> None:
    at = _goto(_run(make_app()), "feed")
    at.sidebar.text_input(key="search").set_value("цб")
    _run(at)
    texts = list(_feed_df(at)["text"])
    assert any("ЦБ" in text for text in texts)  # found by a lower-case needle
    assert all("цб" in text.lower() for text in texts)


def test_date_range_excludes_older_mentions(make_app: MakeApp) -> None:
    at = _goto(_run(make_app()), "feed")
    _start, end = at.sidebar.date_input(key="dates").value
    at.sidebar.date_input(key="dates").set_value((end, end))
    _run(at)
    times = list(_feed_df(at)["time"])
    assert times
    assert all(t.startswith(end.strftime("%d.%m.%Y")) for t in times)


def test_correcting_a_label_is_stored_for_training(make_app: MakeApp, db: tuple[str, Store]) -> None:
    _, store = db
    at = _goto(_run(make_app()), "feed")
    mention_id = at.selectbox(key="pick").value
    with store.engine.connect() as conn:
        brand, label = conn.execute(
            select(MentionBrand.brand, MentionBrand.label).where(MentionBrand.mention_id == mention_id)
        ).one()
    new = "positive" if label != "positive" else "negative"
    at.radio(key=f"label_{mention_id}_{brand}").set_value(new)
    at.button(key=f"save_{mention_id}_{brand}").click()
    _run(at)
    assert at.success[0].value == "Исправление сохранено и попадёт в обучающие данные"
    with store.engine.connect() as conn:
        stored = conn.execute(
            select(MentionBrand.corrected_label).where(MentionBrand.mention_id == mention_id)
        ).scalar_one()
    assert stored == new
    assert any(row[1] == new for row in store.corrections())


def test_marking_handled_is_stored_and_filters_it_out(make_app: MakeApp, db: tuple[str, Store]) -> None:
    _, store = db
    at = _goto(_run(make_app()), "feed")
    mention_id = at.selectbox(key="pick").value
    at.button(key=f"handle_{mention_id}").click()
    _run(at)
    with store.engine.connect() as conn:
        handled_at = conn.execute(
            select(MentionRow.handled_at).where(MentionRow.id == mention_id)
        ).scalar_one()
    assert handled_at is not None
    at.sidebar.radio(key="handled").set_value("open")
    _run(at)
    assert mention_id not in set(_feed_df(at)["id"])
    at.sidebar.radio(key="handled").set_value("handled")
    _run(at)
    assert list(_feed_df(at)["id"]) == [mention_id]


def test_mention_text_is_shown_as_text_never_markup(make_app: MakeApp) -> None:
    at = _goto(_run(make_app()), "feed")
    assert at.selectbox(key="pick").value == _feed_df(at)["id"].iloc[0]
    assert EVIL_TEXT in [t.value for t in at.text]  # st.text: rendered verbatim, no markdown, no HTML
    assert EVIL_TEXT in list(_feed_df(at)["text"])
    for md in [*at.markdown, *at.caption, *at.subheader, *at.title, *at.info, *at.success]:
        assert getattr(md.proto, "allow_html", False) is False
        assert "<script>" not in md.value
        assert "javascript:" not in md.value
    # the javascript: URL of the evil mention is not offered as a link
    assert pd.isna(_feed_df(at)["url"].iloc[0])
    assert not at.get("link_button")


def test_sources_page_shows_health_with_last_error_as_text(make_app: MakeApp) -> None:
    at = _goto(_run(make_app()), "sources")
    health = at.dataframe[0].value
    assert list(health["Источник"]) == ["otzovik", "telegram", "vk"]
    otzovik = health.iloc[0]
    assert otzovik["Состояние"] == "сбой"
    assert otzovik["Текст ошибки"] == "HTTP 503 <b>Service Unavailable</b>"
    assert health.iloc[2]["Состояние"] == "работает"


def test_freshness_follows_the_chosen_time_zone(make_app: MakeApp) -> None:
    from datetime import UTC, datetime, timedelta

    at = _run(make_app())
    moscow = datetime.strptime(at.caption[0].value, "%d.%m.%Y %H:%M").replace(tzinfo=UTC)
    ago = at.metric[0].value
    at.sidebar.selectbox(key="tz").set_value("Asia/Vladivostok")
    _run(at)
    vladivostok = datetime.strptime(at.caption[0].value, "%d.%m.%Y %H:%M").replace(tzinfo=UTC)
    assert vladivostok - moscow == timedelta(hours=7)  # the same instant, seven hours later on the clock
    assert at.metric[0].value == ago or at.metric[0].value.endswith("назад")


def test_login_gate_blocks_until_the_right_password(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASH_PW", "s3cret-пароль")
    at = _run(make_app(password_env="DASH_PW"))
    assert not at.get("vega_lite_chart")
    assert not at.metric
    at.text_input(key="login_password").set_value("wrong")
    at.button[0].click()
    _run(at)
    assert at.error[0].value == "Неверный пароль"
    assert not at.get("vega_lite_chart")
    at.text_input(key="login_password").set_value("s3cret-пароль")
    at.button[0].click()
    _run(at)
    assert len(at.get("vega_lite_chart")) == 4


def test_login_gate_stays_locked_when_the_password_variable_is_unset(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DASH_PW_UNSET", raising=False)
    at = _run(make_app(password_env="DASH_PW_UNSET"))
    assert "DASH_PW_UNSET" in at.error[0].value
    assert not at.text_input
    assert not at.get("vega_lite_chart")


def test_bad_setup_shows_an_error_not_a_traceback(make_app: MakeApp, monkeypatch: pytest.MonkeyPatch) -> None:
    at = make_app()
    monkeypatch.setenv(DashboardSetup.ENV, '{"db_url": "sqlite://", "dashboard": {"port": 0}}')
    at.run()
    assert "dashboard.port" in at.error[0].value
    assert not at.exception


def test_a_page_started_without_a_setup_says_how_to_start_it(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = make_app()
    monkeypatch.delenv(DashboardSetup.ENV)
    at.run()
    assert "loyalty-monitor dashboard" in at.error[0].value
    assert not at.exception


def test_server_warm_up_fills_the_caches_the_first_session_reads(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dashboard.serve`` runs the default view's queries before the server listens: the first visitor's
    page must find them cached, not run them again."""
    from dashboard import data
    from dashboard.serve import warm_up

    at = make_app()  # puts the fixture setup in the environment, as the launcher does
    calls: list[str] = []
    for name in ("summary", "alerts_frame", "distinct_brands", "channels"):
        real = getattr(data, name)

        def counted(*args: object, _real: Callable[..., object] = real, _name: str = name) -> object:
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(data, name, counted)
    took = warm_up()
    assert took is not None
    assert sorted(calls) == ["alerts_frame", "channels", "distinct_brands", "summary"]
    calls.clear()
    _run(at)
    assert len(at.get("vega_lite_chart")) == 4
    assert calls == []


def test_server_warm_up_with_a_broken_setup_leaves_the_error_to_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dashboard.serve import warm_up

    monkeypatch.setenv(DashboardSetup.ENV, '{"db_url": "sqlite://", "language": "fr"}')
    assert warm_up() is None
    monkeypatch.delenv(DashboardSetup.ENV)
    assert warm_up() is None


def test_themes_page_shows_each_brands_themes_and_opens_one(make_app: MakeApp) -> None:
    at = _goto(_run(make_app()), "themes")
    assert at.subheader[0].value == "О чём пишут"
    shown = [el.value for el in at.text]
    assert shown[0] == OWN and set(shown[: len(BRANDS)]) == set(BRANDS)  # ours first, as plain text
    tables = at.dataframe[: len(BRANDS)]
    names = [name for table in tables for name in table.value["theme"]]
    assert len(names) >= 3 * len(BRANDS), names
    assert not any(word in n for n in names for word in ("поляр", "полярбанк", "борей", "кварц")), names
    first = tables[0].value
    assert (first["mentions"] >= first["negative"] + first["positive"]).all()
    pick = at.selectbox(key="theme_pick")
    assert pick.options[0].startswith(f"{OWN}: ")
    pick.set_value(1)
    _run(at)
    opened = at.dataframe[-1].value
    assert len(opened) > 0 and set(opened.columns) == {"time", "channel", "label", "url", "text"}
