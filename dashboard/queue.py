"""The queue ("Очередь"): every platform's cases in one list, by priority and time left, and the work on them.

Open cases of our brands come first by priority (1 = urgent and important), then by the least time left;
filters narrow them by brand and channel (the sidebar's), status, assignee and overdue. One case opens its
thread (the mention, what it answers, the replies under it, the brand's marked) and the actions: assign,
take, mark answered / closed / ignored, correct the label. Every action is stored with the name the person
gave (:mod:`storage.cases` keeps the history). Below, the reply-time chart: our brands against competitors.

Mention text and author names are untrusted: they are shown with ``st.text`` and in dataframes, never as
markdown or HTML.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import datetime

import pandas as pd
import streamlit as st

from core.clock import now_utc
from dashboard import data
from dashboard.settings import DashboardSetup
from storage.cases import (
    OPEN_STATUSES,
    STATUSES,
    CaseView,
    case_events,
    change_case,
    find_cases,
    get_case,
    note_label_change,
    response_facts,
    thread,
)
from storage.store import Store

__all__ = ["queue_page", "reply_times"]

_ACTIONS = ("answered", "closed", "ignored")


def _hours_left(case: CaseView, now: datetime) -> float:
    return round((case.due_at - now).total_seconds() / 3600, 1)


def _local(value: datetime | None, tz: str) -> str:
    if value is None:
        return ""
    return str(pd.Timestamp(value).tz_convert(tz).strftime("%d.%m %H:%M"))


def reply_times(store: Store, f: data.Filters) -> pd.DataFrame:
    """Per brand: the median minutes to the first reply and the share answered in time, over the period."""
    per_brand: dict[str, list[tuple[float | None, bool]]] = {}
    own: dict[str, bool] = {}
    for brand, is_own, _channel, published, due, first in response_facts(
        store, since=f.since, until=f.until, channels=list(f.channels) or None
    ):
        own[brand] = is_own
        wait = (first - published).total_seconds() / 60 if first is not None else None
        per_brand.setdefault(brand, []).append((wait, first is not None and first <= due))
    rows = []
    for brand, facts in per_brand.items():
        waits = [w for w, _ in facts if w is not None]
        rows.append(
            {
                "brand": brand,
                "own": own[brand],
                "needs_answer": len(facts),
                "answered": len(waits),
                "in_sla": sum(1 for _, ok in facts if ok),
                "median_min": round(statistics.median(waits), 1) if waits else None,
            }
        )
    frame = pd.DataFrame(rows, columns=["brand", "own", "needs_answer", "answered", "in_sla", "median_min"])
    return frame.sort_values(["own", "brand"], ascending=[False, True]).reset_index(drop=True)


def queue_page(setup: DashboardSetup, store: Store, f: data.Filters, t: Callable[..., str]) -> None:
    """Render the queue page."""
    st.subheader(t("queue.title"))
    now = now_utc()
    me = st.text_input(t("queue.me"), key="queue_me", placeholder=t("queue.me_hint")).strip()
    c1, c2, c3 = st.columns(3)
    statuses = c1.multiselect(
        t("queue.status"),
        list(STATUSES),
        default=list(OPEN_STATUSES),
        format_func=lambda s: t(f"case.{s}"),
        key="queue_status",
    )
    assignee_choice = c2.selectbox(
        t("queue.assignee"),
        ["any", "mine", "nobody"],
        format_func=lambda a: t(f"queue.assignee.{a}"),
        key="queue_assignee",
    )
    overdue = c3.checkbox(t("queue.overdue"), key="queue_overdue")
    assignee = {"any": None, "mine": me, "nobody": ""}[assignee_choice]
    cases = (
        []
        if assignee_choice == "mine" and not me
        else find_cases(
            store,
            now=now,
            brands=list(f.brands) or None,
            channels=list(f.channels) or None,
            statuses=statuses or None,
            assignee=assignee,
            overdue=overdue,
        )
    )
    if not cases:
        st.info(t("queue.empty"))
    else:
        st.caption(t("queue.count", n=len(cases)))
        shown = pd.DataFrame(
            {
                "id": [c.id for c in cases],
                "priority": [c.priority for c in cases],
                "left": [_hours_left(c, now) for c in cases],
                "brand": [c.brand for c in cases],
                "channel": [c.channel for c in cases],
                "status": [t(f"case.{c.status}") for c in cases],
                "assignee": [c.assignee or "" for c in cases],
                "reason": [t(f"reason.{c.reason}") for c in cases],
                "author": [c.author or "" for c in cases],
                "text": [c.text for c in cases],
            }
        )
        cc = st.column_config
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config={
                "id": cc.NumberColumn("#", format="%d"),
                "priority": cc.NumberColumn(t("queue.col.priority"), format="%d"),
                "left": cc.NumberColumn(t("queue.col.left"), format="%.1f"),
                "brand": cc.TextColumn(t("col.brand")),
                "channel": cc.TextColumn(t("col.channel")),
                "status": cc.TextColumn(t("queue.col.status")),
                "assignee": cc.TextColumn(t("queue.col.assignee")),
                "reason": cc.TextColumn(t("queue.col.reason")),
                "author": cc.TextColumn(t("col.author")),
                "text": cc.TextColumn(t("col.text"), width="large"),
            },
        )
        _case(store, cases, me, now, f.tz, t)
    st.subheader(t("queue.reply_times"))
    times = reply_times(store, f)
    if times.empty or times["median_min"].isna().all():
        st.info(t("queue.no_replies"))
    else:
        chart = times.dropna(subset=["median_min"]).set_index("brand")[["median_min"]]
        st.bar_chart(chart, y="median_min", y_label=t("queue.median_min"), x_label=t("col.brand"))
        st.dataframe(times, hide_index=True, width="stretch")


def _case(
    store: Store, cases: list[CaseView], me: str, now: datetime, tz: str, t: Callable[..., str]
) -> None:
    st.subheader(t("queue.case"))
    preview = {c.id: f"#{c.id} · P{c.priority} · {c.brand} · {c.text[:60]}" for c in cases}
    picked = st.selectbox(
        t("queue.pick"), list(preview), format_func=lambda i: preview.get(i, f"#{i}"), key="queue_pick"
    )
    if picked is None:
        return
    case = get_case(store, int(picked))
    st.text(
        t(
            "queue.meta",
            status=t(f"case.{case.status}"),
            assignee=case.assignee or "—",
            due=_local(case.due_at, tz),
            left=_hours_left(case, now),
        )
    )
    for item in thread(store, case.mention_id):
        who = item.author or "—"
        if item.reply_brand:
            who = t("queue.brand_reply", brand=item.reply_brand, author=who)
        indent = "    " * max(item.depth, 0)
        st.text(f"{indent}{_local(item.published_at, tz)} · {who}\n{indent}{item.text}")
    if case.url:
        st.link_button(t("feed.open_link"), case.url)
    if not me:
        st.warning(t("queue.need_me"))
        return
    cols = st.columns(5)
    if cols[0].button(t("queue.take"), key=f"take_{case.id}"):
        change_case(store, case.id, me, now_utc(), assignee=me, status="in_progress")
        st.rerun()
    for col, status in zip(cols[1:4], _ACTIONS, strict=True):
        if col.button(t(f"queue.mark.{status}"), key=f"mark_{status}_{case.id}"):
            change_case(store, case.id, me, now_utc(), status=status)
            st.rerun()
    with cols[4].popover(t("queue.assign")):
        who = st.text_input(t("queue.assign_to"), key=f"assign_to_{case.id}")
        if st.button(t("queue.assign"), key=f"assign_{case.id}") and who.strip():
            change_case(store, case.id, me, now_utc(), assignee=who.strip())
            st.rerun()
    label = st.radio(
        t("detail.label_for", brand=case.brand),
        list(data.LABELS),
        index=list(data.LABELS).index(case.label) if case.label in data.LABELS else 1,
        format_func=lambda s: t(f"label.{s}"),
        horizontal=True,
        key=f"queue_label_{case.id}",
    )
    if st.button(t("detail.save"), key=f"queue_label_save_{case.id}") and label != case.label:
        store.correct_label(case.mention_id, case.brand, str(label))
        note_label_change(store, case.id, me, now_utc(), case.label, str(label))
        st.rerun()
    history = case_events(store, case.id)
    st.dataframe(
        pd.DataFrame(
            {
                t("col.time"): [_local(e.at, tz) for e in history],
                t("queue.col.who"): [e.actor for e in history],
                t("queue.col.field"): [e.field for e in history],
                t("queue.col.old"): [e.old or "" for e in history],
                t("queue.col.new"): [e.new or "" for e in history],
            }
        ),
        hide_index=True,
        width="stretch",
    )
