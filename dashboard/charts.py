"""Altair charts of the overview, built from the small frames in :mod:`dashboard.data`.

Buckets are local wall-clock days (``YYYY-MM-DD``) in the user's zone. Vega-Lite would shift naive dates into
the *browser's* zone, so they are handed over as UTC instants and drawn on a UTC scale: the axis then shows
exactly the local day the SQL grouped by, whatever zone the viewer's laptop is in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import altair as alt
import pandas as pd

__all__ = ["SENTIMENT_COLORS", "heatmap_chart", "index_chart", "share_chart", "volume_chart"]

SENTIMENT_COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}


def _as_utc_instant(bucket: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD HH:00`` local wall time, written as a UTC instant for the UTC scale."""
    text = bucket.astype(str)
    text = text.where(text.str.len() > 10, text + " 00:00")
    return text.str.replace(" ", "T") + ":00Z"


def _x(title: str) -> alt.X:
    return alt.X("t:T", title=title, scale=alt.Scale(type="utc"), axis=alt.Axis(format="%d.%m"))


def index_chart(
    index_df: pd.DataFrame,
    alerts_df: pd.DataFrame,
    own: set[str],
    t: Callable[..., str],
) -> alt.LayerChart:
    """Index per brand over time on a fixed -1…+1 axis, with its interval, a zero line and alert markers."""
    df = index_df.copy()
    df["t"] = _as_utc_instant(df["bucket"])
    df["own"] = df["brand"].isin(own)
    df = df.dropna(subset=["index"])
    y_scale = alt.Scale(domain=[-1, 1])
    color = alt.Color("brand:N", title=t("chart.brand"))
    base = alt.Chart(df)
    band = base.mark_area(opacity=0.15).encode(
        x=_x(t("chart.date")), y=alt.Y("ci_low:Q", scale=y_scale), y2="ci_high:Q", color=color
    )
    line = base.mark_line(point=True).encode(
        x=_x(t("chart.date")),
        y=alt.Y("index:Q", title=t("chart.index"), scale=y_scale),
        color=color,
        strokeWidth=alt.condition("datum.own", alt.value(3.5), alt.value(1.5)),
        opacity=alt.condition("datum.low_support", alt.value(0.35), alt.value(1.0)),
        tooltip=[
            alt.Tooltip("brand:N", title=t("chart.brand")),
            alt.Tooltip("bucket:N", title=t("chart.date")),
            alt.Tooltip("index:Q", title=t("chart.index"), format="+.2f"),
            alt.Tooltip("ci_low:Q", title=t("chart.ci_low"), format="+.2f"),
            alt.Tooltip("ci_high:Q", title=t("chart.ci_high"), format="+.2f"),
            alt.Tooltip("positive:Q", title=t("label.positive")),
            alt.Tooltip("negative:Q", title=t("label.negative")),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(strokeDash=[4, 4], color="#555").encode(y="y:Q")
    layers: list[alt.Chart] = [band, line, zero]
    if not alerts_df.empty:
        marks = alerts_df[["t", "brand", "title", "state", "severity"]]
        layers.append(
            alt.Chart(marks)
            .mark_rule(color="#d62728", strokeWidth=2, opacity=0.7)
            .encode(
                x=alt.X("t:T", scale=alt.Scale(type="utc")),
                tooltip=[
                    alt.Tooltip("brand:N", title=t("chart.brand")),
                    alt.Tooltip("title:N", title=t("alerts.title")),
                    alt.Tooltip("state:N", title=t("alerts.state")),
                    alt.Tooltip("severity:N", title=t("alerts.severity")),
                ],
            )
        )
    return alt.LayerChart(layer=layers).properties(height=320)


def heatmap_chart(heat_df: pd.DataFrame, t: Callable[..., str]) -> alt.LayerChart:
    """Brand × channel index, red to green around zero, with the value written in each cell."""
    df = heat_df.dropna(subset=["index"])
    base = alt.Chart(df).encode(
        x=alt.X("channel:N", title=t("chart.channel")), y=alt.Y("brand:N", title=t("chart.brand"))
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "index:Q",
            title=t("chart.index"),
            scale=alt.Scale(domain=[-1, 1], scheme="redyellowgreen"),
        ),
        tooltip=[
            alt.Tooltip("brand:N", title=t("chart.brand")),
            alt.Tooltip("channel:N", title=t("chart.channel")),
            alt.Tooltip("index:Q", title=t("chart.index"), format="+.2f"),
            alt.Tooltip("positive:Q", title=t("label.positive")),
            alt.Tooltip("negative:Q", title=t("label.negative")),
            alt.Tooltip("neutral:Q", title=t("label.neutral")),
        ],
    )
    labels = base.mark_text(fontSize=12).encode(text=alt.Text("index:Q", format="+.2f"))
    # A discrete axis needs a step per row; a fixed total height collapses the rows of a layered chart.
    return alt.LayerChart(layer=[cells, labels]).properties(height=alt.Step(44))


def volume_chart(volume_df: pd.DataFrame, t: Callable[..., str]) -> alt.Chart:
    """Mentions per day stacked by sentiment, negatives at the bottom where a spike is easiest to see."""
    df = volume_df.copy()
    df["t"] = _as_utc_instant(df["bucket"])
    df["sentiment"] = df["label"].map(lambda lab: t(f"label.{lab}"))
    df["order"] = df["label"].map({"negative": 0, "neutral": 1, "positive": 2})
    domain = [t(f"label.{lab}") for lab in SENTIMENT_COLORS]
    chart = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=_x(t("chart.date")),
            y=alt.Y("n:Q", title=t("chart.mentions"), stack="zero"),
            color=alt.Color(
                "sentiment:N",
                title=t("chart.sentiment"),
                scale=alt.Scale(domain=domain, range=list(SENTIMENT_COLORS.values())),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("bucket:N", title=t("chart.date")),
                alt.Tooltip("sentiment:N", title=t("chart.sentiment")),
                alt.Tooltip("n:Q", title=t("chart.mentions")),
            ],
        )
        .properties(height=260)
    )
    return cast(alt.Chart, chart)


def share_chart(share_df: pd.DataFrame, t: Callable[..., str]) -> alt.Chart:
    """Share of voice: each brand's part of all counted mentions, as bars that are easy to compare."""
    chart = (
        alt.Chart(share_df)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title=t("chart.share"), axis=alt.Axis(format="%")),
            y=alt.Y("brand:N", title=t("chart.brand"), sort="-x"),
            color=alt.Color("brand:N", legend=None),
            tooltip=[
                alt.Tooltip("brand:N", title=t("chart.brand")),
                alt.Tooltip("n:Q", title=t("chart.mentions")),
                alt.Tooltip("share:Q", title=t("chart.share"), format=".1%"),
            ],
        )
        .properties(height=alt.Step(32))
    )
    return cast(alt.Chart, chart)
