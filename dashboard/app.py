"""The Streamlit dashboard page, started by ``loyalty-monitor dashboard`` (:mod:`dashboard.launch`).

SMM teams keep it open all day, so the pages that show live data are fragments that re-run on their own every
``refresh_s`` seconds without reloading the page or resetting filters, and every query goes through a cache
keyed by the filters and the refresh tick: a filter change costs one aggregate query, an idle tab costs one
per tick.

Mention text comes from strangers on the internet. It is only ever shown through ``st.text``, dataframes and
plain-text widgets, never as markdown or HTML; links are shown only when they are ``http(s)``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from dashboard import auth, cache, charts, data, export
from dashboard.i18n import LANGUAGES, translate, translator
from dashboard.settings import DashboardSetup
from storage.store import Store

__all__ = ["main"]

ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
    "Europe/Minsk",
    "Asia/Almaty",
    "Asia/Tashkent",
    "Europe/Berlin",
    "Europe/London",
    "UTC",
)
# -- formatting ---------------------------------------------------------------------------------------


def _local(value: Any, tz: str) -> str:
    if value is None or pd.isna(value):
        return ""
    when: datetime = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


def _ago(value: datetime | None, t: Callable[..., str]) -> str:
    """ "5 min ago": short enough for a metric; the clock time goes underneath in the user's zone."""
    if value is None:
        return t("live.never")
    seconds = max(0, int((datetime.now(UTC) - value).total_seconds()))
    if seconds < 120:
        span = t("unit.s", n=seconds)
    elif seconds < 2 * 3600:
        span = t("unit.min", n=seconds // 60)
    elif seconds < 2 * 86400:
        span = t("unit.h", n=seconds // 3600)
    else:
        span = t("unit.d", n=seconds // 86400)
    return t("live.ago", ago=span)


def _label_name(label: Any, t: Callable[..., str]) -> str:
    return t(f"label.{label}") if label in data.LABELS else str(label or "")


# -- sidebar ------------------------------------------------------------------------------------------


def _sidebar(setup: DashboardSetup, url: str, t: Callable[..., str]) -> tuple[str, data.Filters]:
    """Page choice, time zone and the filters every page shares."""
    sb = st.sidebar
    pages = ["overview", "feed", "queue", "themes", "sources"]
    page = sb.radio(t("sidebar.page"), pages, format_func=lambda p: t(f"page.{p}"), key="page")
    default_zone = setup.timezone
    zones = list(dict.fromkeys([default_zone, *ZONES]))
    tz = sb.selectbox(t("sidebar.timezone"), zones, key="tz")
    sb.subheader(t("sidebar.filters"))
    brand_options = list(dict.fromkeys([*setup.own_brands, *setup.brands, *cache.brands(url)]))
    everything = t("filter.all")
    brands = sb.multiselect(t("filter.brands"), brand_options, key="brands", placeholder=everything)
    channels = sb.multiselect(
        t("filter.channels"), cache.channels(url), key="channels", placeholder=everything
    )
    default_range = data.default_dates(setup.dashboard.default_days, tz)
    picked = sb.date_input(t("filter.dates"), value=default_range, key="dates", format="DD.MM.YYYY")
    start, end = _date_range(picked, default_range)
    sentiments: list[str] = []
    search = ""
    handled = "all"
    if page == "feed":
        sentiments = sb.multiselect(
            t("filter.sentiment"),
            list(data.LABELS),
            format_func=lambda s: t(f"label.{s}"),
            key="sentiments",
            placeholder=everything,
        )
        search = sb.text_input(t("filter.search"), key="search")
        handled = sb.radio(
            t("filter.handled"),
            ["all", "open", "handled"],
            format_func=lambda h: t(f"handled.{h}"),
            key="handled",
            horizontal=True,
        )
    filters = data.Filters.days(
        start,
        end,
        tz,
        brands=tuple(brands),
        channels=tuple(channels),
        sentiments=tuple(sentiments),
        search=search,
        handled=handled,
    )
    return page, filters


def _date_range(picked: Any, default: tuple[date, date]) -> tuple[date, date]:
    """``st.date_input`` gives one date while the user is still picking the second: treat it as one day."""
    if isinstance(picked, tuple | list):
        if len(picked) == 2:
            return picked[0], picked[1]
        if len(picked) == 1:
            return picked[0], picked[0]
        return default
    if isinstance(picked, date):
        return picked, picked
    return default


# -- pages --------------------------------------------------------------------------------------------


def _freshness(url: str, refresh_s: float, t: Callable[..., str], tz: str) -> None:
    """How fresh the data is, re-checked on every tick."""

    @st.fragment(run_every=refresh_s)
    def strip() -> None:
        fresh = data.freshness(cache.store(url).engine)
        cols = st.columns(3)
        for col, key in zip(cols, ("newest_mention", "last_stored", "last_poll"), strict=True):
            when = fresh[key]
            col.metric(t(f"live.{key}"), _ago(when, t))
            col.caption(_local(when, tz) or t("live.never"))
        st.caption(t("live.refresh", s=f"{refresh_s:g}"))

    strip()


def _overview(setup: DashboardSetup, url: str, f: data.Filters, t: Callable[..., str], lang: str) -> None:
    refresh_s = setup.dashboard.refresh_s
    own = set(setup.own_brands)

    @st.fragment(run_every=refresh_s)
    def live() -> None:
        tick = cache.tick(refresh_s)
        summ = cache.summary(url, f, tick)
        alerts = cache.alerts(url, f, tick, lang)
        if summ.empty:
            st.info(t("overview.empty"))
            return
        idx = data.index_frame(summ)
        _kpis(summ, alerts, own, t)
        st.subheader(t("overview.index"))
        st.caption(t("overview.index_help", n=data.MIN_SUPPORT))
        marks = _alert_marks(alerts, f.tz, t)
        st.altair_chart(charts.index_chart(idx, marks, own, t), width="stretch")
        left, right = st.columns([3, 2])
        with left:
            st.subheader(t("overview.heatmap"))
            st.altair_chart(charts.heatmap_chart(data.brand_channel_index(summ), t), width="stretch")
        with right:
            st.subheader(t("overview.share"))
            st.altair_chart(charts.share_chart(data.share_of_voice(summ), t), width="stretch")
        st.subheader(t("overview.volume"))
        st.altair_chart(charts.volume_chart(data.volume_frame(summ), t), width="stretch")
        st.subheader(t("overview.alerts"))
        _alerts_table(alerts, f.tz, t)
        st.subheader(t("export.title"))
        excel = st.checkbox(t("export.excel"), key="excel_index")

        def index_file() -> bytes:
            # Built only when the button is pressed, in the CLI export's format.
            return export.index_csv(cache.store(url), f, excel=excel)

        st.download_button(
            t("export.index"),
            data=index_file,
            file_name="loyalty_index.csv",
            mime="text/csv",
            key="download_index",
        )

    live()


def _kpis(summ: pd.DataFrame, alerts: pd.DataFrame, own: set[str], t: Callable[..., str]) -> None:
    cols = st.columns(4)
    mine = summ[summ["brand"].isin(own)] if own else summ
    if own and not mine.empty:
        pos = int(mine.loc[mine["label"] == "positive", "n"].sum())
        neg = int(mine.loc[mine["label"] == "negative", "n"].sum())
        value = f"{(pos - neg) / (pos + neg):+.2f}" if pos + neg else "—"
        cols[0].metric(t("metric.own_index", brand=", ".join(sorted(own))), value)
    total = int(summ["n"].sum())
    negative = int(summ.loc[summ["label"] == "negative", "n"].sum())
    cols[1].metric(t("metric.mentions"), f"{total:,}".replace(",", " "))
    cols[2].metric(t("metric.negative_share"), f"{negative / total:.0%}" if total else "—")
    open_alerts = int((alerts["state"] == "open").sum()) if not alerts.empty else 0
    cols[3].metric(t("metric.open_alerts"), str(open_alerts))


def _alert_marks(alerts: pd.DataFrame, tz: str, t: Callable[..., str]) -> pd.DataFrame:
    """Alerts as instants on the chart's local-time UTC scale (see :mod:`dashboard.charts`)."""
    if alerts.empty:
        return pd.DataFrame()
    zone = ZoneInfo(tz)
    marks = alerts[["brand", "title", "severity"]].copy()
    marks["t"] = [ts.astimezone(zone).strftime("%Y-%m-%dT%H:%M:00Z") for ts in alerts["triggered_at"]]
    marks["state"] = [t(f"state.{s}") if f"state.{s}" in _STATE_KEYS else s for s in alerts["state"]]
    return marks


_STATE_KEYS = {"state.open", "state.acknowledged", "state.muted", "state.resolved"}


def _alerts_table(alerts: pd.DataFrame, tz: str, t: Callable[..., str]) -> None:
    if alerts.empty:
        st.info(t("overview.no_alerts"))
        return
    shown = pd.DataFrame(
        {
            t("alerts.time"): [_local(v, tz) for v in alerts["triggered_at"]],
            t("col.brand"): alerts["brand"],
            t("col.channel"): alerts["channel"].fillna(""),
            t("alerts.severity"): alerts["severity"],
            t("alerts.state"): [
                t(f"state.{s}") if f"state.{s}" in _STATE_KEYS else s for s in alerts["state"]
            ],
            t("alerts.delivery"): alerts["delivery"],
            t("alerts.rule"): alerts["rule"],
            t("alerts.title"): alerts["title"],
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")


def _feed_page(setup: DashboardSetup, url: str, store: Store, f: data.Filters, t: Callable[..., str]) -> None:
    limit = setup.dashboard.feed_rows
    st.subheader(t("feed.title"))
    rows = cache.feed(url, f, limit, cache.tick(setup.dashboard.refresh_s))
    if rows.empty:
        st.info(t("feed.empty"))
        return
    st.caption(t("feed.count", n=len(rows), limit=limit))
    shown = pd.DataFrame(
        {
            "id": rows["id"],
            "time": [_local(v, f.tz) for v in rows["published_at"]],
            "brand": rows["brand"],
            "channel": rows["channel"],
            "author": rows["author"].fillna(""),
            "reach": rows["author_reach"],
            "engagement": rows[["likes", "reposts", "comments"]].fillna(0).sum(axis=1).astype("int64"),
            "views": rows["views"],
            "label": [_label_name(v, t) for v in rows["label"]],
            "corrected": rows["corrected_label"].notna(),
            "handled": rows["handled_at"].notna(),
            "url": rows["url"],
            "text": rows["text"],
        }
    )
    cc = st.column_config
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "id": cc.NumberColumn("#", format="%d"),
            "time": cc.TextColumn(t("col.time")),
            "brand": cc.TextColumn(t("col.brand")),
            "channel": cc.TextColumn(t("col.channel")),
            "author": cc.TextColumn(t("col.author")),
            "reach": cc.NumberColumn(t("col.reach"), format="%d"),
            "engagement": cc.NumberColumn(t("col.engagement"), format="%d"),
            "views": cc.NumberColumn(t("col.views"), format="%d"),
            "label": cc.TextColumn(t("col.label")),
            "corrected": cc.CheckboxColumn(t("col.corrected")),
            "handled": cc.CheckboxColumn(t("col.handled")),
            "url": cc.LinkColumn(t("feed.link"), display_text=t("feed.open_link")),
            "text": cc.TextColumn(t("col.text"), width="large"),
        },
    )
    _detail(store, url, rows, f.tz, t)
    st.subheader(t("export.title"))
    excel = st.checkbox(t("export.excel"), key="excel_mentions")
    cap = setup.dashboard.export_max_rows

    def mentions_file() -> bytes:
        # Runs only when the button is clicked, so the export query does not slow down every render.
        return export.mentions_csv(store, f, cap, excel=excel)

    st.download_button(
        t("export.mentions"),
        data=mentions_file,
        file_name="mentions.csv",
        mime="text/csv",
        key="download_mentions",
    )


def _themes_page(setup: DashboardSetup, url: str, f: data.Filters, t: Callable[..., str]) -> None:
    """Themes per brand side by side (ours first), each opening its mentions; rising themes marked."""
    st.subheader(t("themes.title"))
    st.caption(t("themes.help"))
    ordered = [*setup.own_brands, *setup.brands]
    brands = [b for b in dict.fromkeys(ordered) if not f.brands or b in f.brands]
    terms = tuple(dict.fromkeys([*setup.brands, *setup.brand_terms]))
    tick = cache.tick(setup.dashboard.refresh_s)
    found = cache.themes(url, tuple(brands), terms, f, tick)
    if not found:
        st.info(t("themes.empty"))
        return
    cc = st.column_config
    shown_brands = [b for b in brands if any(th.brand == b for th in found)]
    for row_start in range(0, len(shown_brands), 2):
        columns = st.columns(2)
        for col, brand in zip(columns, shown_brands[row_start : row_start + 2], strict=False):
            mine = [th for th in found if th.brand == brand]
            table = pd.DataFrame(
                {
                    "rising": ["▲" if th.rising else "" for th in mine],
                    "theme": [th.name for th in mine],
                    "mentions": [th.mentions for th in mine],
                    "negative": [th.negative for th in mine],
                    "neutral": [th.neutral for th in mine],
                    "positive": [th.positive for th in mine],
                    "change": [t("themes.new") if th.change is None else f"{th.change:+.0%}" for th in mine],
                }
            )
            with col:
                st.text(brand)
                st.dataframe(
                    table,
                    hide_index=True,
                    width="stretch",
                    column_config={
                        "rising": cc.TextColumn(t("themes.col.rising"), width="small"),
                        "theme": cc.TextColumn(t("themes.col.theme"), width="large"),
                        "mentions": cc.NumberColumn(t("themes.col.mentions"), format="%d"),
                        "negative": cc.NumberColumn(t("label.negative"), format="%d"),
                        "neutral": cc.NumberColumn(t("label.neutral"), format="%d"),
                        "positive": cc.NumberColumn(t("label.positive"), format="%d"),
                        "change": cc.TextColumn(t("themes.col.change")),
                    },
                )
    picked = st.selectbox(
        t("themes.open"),
        range(len(found)),
        format_func=lambda i: f"{found[i].brand}: {found[i].name}",
        key="theme_pick",
    )
    theme = found[int(picked or 0)]
    rows = cache.theme_mentions(url, theme.brand, theme.mention_ids, setup.dashboard.feed_rows, tick)
    st.caption(t("themes.examples", theme=theme.name, brand=theme.brand, n=theme.mentions))
    st.dataframe(
        pd.DataFrame(
            {
                "time": [_local(v, f.tz) for v in rows["published_at"]],
                "channel": rows["channel"],
                "label": [_label_name(v, t) for v in rows["label"]],
                "url": rows["url"],
                "text": rows["text"],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "time": cc.TextColumn(t("col.time")),
            "channel": cc.TextColumn(t("col.channel")),
            "label": cc.TextColumn(t("col.label")),
            "url": cc.LinkColumn(t("feed.link"), display_text=t("feed.open_link")),
            "text": cc.TextColumn(t("col.text"), width="large"),
        },
    )


def _detail(store: Store, url: str, rows: pd.DataFrame, tz: str, t: Callable[..., str]) -> None:
    """Correct the sentiment of one mention toward each of its brands, and mark it handled."""
    st.subheader(t("detail.title"))
    ids = list(dict.fromkeys(int(i) for i in rows["id"]))
    preview = {int(r.id): f"#{r.id} · {r.brand} · {str(r.text)[:70]}" for r in rows.itertuples()}
    mention_id = st.selectbox(
        t("detail.pick"), ids, format_func=lambda i: preview.get(i, f"#{i}"), key="pick"
    )
    if mention_id is None:
        return
    links = data.mention_detail(store.engine, int(mention_id))
    if links.empty:
        return
    first = links.iloc[0]
    st.caption(_local(first["published_at"], tz))
    st.text(
        t(
            "detail.meta",
            channel=first["channel"],
            author=first["author"] or "—",
            reach=_num(first["author_reach"]),
            likes=_num(first["likes"]),
            reposts=_num(first["reposts"]),
            comments=_num(first["comments"]),
        )
    )
    st.text(str(first["text"]))
    if first["url"]:
        st.link_button(t("feed.open_link"), str(first["url"]))
    for link in links.itertuples():
        key = f"label_{mention_id}_{link.brand}"
        current = str(link.label)
        choice = st.radio(
            t("detail.label_for", brand=link.brand),
            list(data.LABELS),
            index=list(data.LABELS).index(current) if current in data.LABELS else 1,
            format_func=lambda s: t(f"label.{s}"),
            horizontal=True,
            key=key,
        )
        st.caption(t("detail.model_said", label=_label_name(link.model_label, t)))
        if st.button(t("detail.save"), key=f"save_{mention_id}_{link.brand}"):
            store.correct_label(int(mention_id), str(link.brand), str(choice))
            cache.feed.clear()
            cache.summary.clear()
            st.success(t("detail.saved"))
    handled = first["handled_at"] is not None and not pd.isna(first["handled_at"])
    st.checkbox(t("detail.handled"), value=handled, disabled=True, key=f"handled_state_{mention_id}")
    label = t("detail.unmark_handled") if handled else t("detail.mark_handled")
    if st.button(label, key=f"handle_{mention_id}"):
        store.mark_handled(int(mention_id), not handled)
        cache.feed.clear()
        st.rerun()


def _num(value: Any) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{int(value):,}".replace(",", " ")


def _sources_page(setup: DashboardSetup, url: str, t: Callable[..., str], tz: str) -> None:
    @st.fragment(run_every=setup.dashboard.refresh_s)
    def live() -> None:
        st.subheader(t("sources.title"))
        health = data.source_health_frame(cache.store(url).engine)
        if health.empty:
            st.info(t("sources.empty"))
            return

        def status(row: pd.Series) -> str:
            if row["consecutive_failures"]:
                return t("status.failing")
            return t("status.ok") if pd.notna(row["last_success_at"]) else t("status.never")

        shown = pd.DataFrame(
            {
                t("col.source"): health["source"],
                t("col.status"): health.apply(status, axis=1),
                t("col.last_success"): [_local(v, tz) for v in health["last_success_at"]],
                t("col.last_error_at"): [_local(v, tz) for v in health["last_error_at"]],
                t("col.last_error"): health["last_error"].fillna(""),
                t("col.failures"): health["consecutive_failures"],
                t("col.auth_failed"): health["auth_failed"],
                t("col.total"): health["mentions_total"],
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch")

    live()


# -- entry point --------------------------------------------------------------------------------------


def main() -> None:
    """Render one run of the dashboard script."""
    try:
        setup = cache.setup()
    except ValueError as exc:
        st.error(translator("ru")("error.config", error=exc))
        st.stop()
    if "lang" not in st.session_state:
        st.session_state["lang"] = setup.language
    if "tz" not in st.session_state:
        st.session_state["tz"] = setup.timezone
    lang = st.session_state["lang"]
    st.set_page_config(page_title=translate("app.title", lang), layout="wide")
    both = " / ".join(translate("sidebar.language", code) for code in LANGUAGES)
    lang = st.sidebar.radio(both, list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="lang")
    t = translator(lang)
    st.title(t("app.title"))
    if not auth.gate(setup.dashboard, t):
        st.stop()
    url = setup.db_url
    store = cache.store(url)
    page, filters = _sidebar(setup, url, t)
    _freshness(url, setup.dashboard.refresh_s, t, filters.tz)
    if page == "overview":
        _overview(setup, url, filters, t, lang)
    elif page == "feed":
        _feed_page(setup, url, store, filters, t)
    elif page == "queue":
        from dashboard.queue import queue_page

        queue_page(setup, store, filters, t)
    elif page == "themes":
        _themes_page(setup, url, filters, t)
    else:
        _sources_page(setup, url, t, filters.tz)


main()
