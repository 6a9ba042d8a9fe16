"""The demo's deterministic Russian brand-monitoring stream: the one synthetic generator
(:func:`core.synthetic.generate`) with the demo's two loud events.

Invented banks (ours is "Полярбанк"; competitors "Борей Банк", "Кварц Банк", "Кедр Банк"), seven channels,
thirty days of history with daily and weekly rhythm and per-channel sentiment mixes, and a live part in which
a scripted complaint about our brand escalates to the regulator, the media and the CEO. Texts are written from
our own templates; nothing is copied from a data set.

Usage::

    toml = demo_config_toml("sqlite:///demo.db")
    history = generate_history(seed=7, end=now)
    live = generate_live(seed=7, start=now)        # replay on an accelerated clock
    scripted_resonance_ids()                       # what the alerts should catch, see EXPECTED_ALERT_RULES

Two things in it are loud on purpose, and the alerts they raise are :data:`EXPECTED_ALERT_RULES`, nothing
else (tests/alerts/test_demo.py replays the whole demo through the real model to check):

* **history**: our app release goes wrong 11 to 8 days before the live start: complaints about our brand
  jump fivefold for three days, most about the app in people's own words. It raises ``negative_spike``
  (the channels vary), ``recurring_problem`` (the app failure) and ``index_drop`` (the 7-day loyalty index,
  overall and in some channels, until a week after the incident), so the alert timeline has a past incident
  in it, as a real month of monitoring would;
* **live**: the scripted resonance (one client's complaint escalating to the regulator, the media and the
  CEO, see :mod:`loyalty_monitor.demo.resonance`) raises ``repeat_complainer``, ``escalation_terms``,
  ``engagement_growth``, ``copies_across_channels`` and ``negative_spike``.

The rest is calm on purpose: ordinary posts carry their own details instead of repeating a template,
background authors write about a brand at most twice a week (once more live), and ordinary posts spread at
ordinary rates.

Every :class:`~core.mention.Mention` carries the intended sentiment in ``raw["demo_label"]``
(toward its first brand), per brand in ``raw["demo_labels"]`` and the brands it names in
``raw["demo_brands"]``, so tests can measure how often the model and the brand matcher agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from core.clock import utc
from core.mention import Mention
from core.synthetic import (
    BRANDS,
    CEO,
    CHANNELS,
    OWN_BRAND,
    EngagementUpdate,
    StreamEvent,
    event_time,
    generate,
)
from loyalty_monitor.demo.config_toml import demo_brand_settings, demo_config_toml
from loyalty_monitor.demo.events import DEMO_SOURCE, ExpectedAlert
from loyalty_monitor.demo.resonance import (
    RESONANCE_ALERTS,
    RESONANCE_AUTHOR,
    prior_complaints,
    scripted_resonance,
    scripted_resonance_ids,
)
from loyalty_monitor.demo.stream import INCIDENT_ALERTS, INCIDENT_DAYS, default_end, incident

__all__ = [
    "BRANDS",
    "CEO",
    "CHANNELS",
    "DEMO_SOURCE",
    "EXPECTED_ALERT_RULES",
    "INCIDENT_ALERTS",
    "INCIDENT_DAYS",
    "OWN_BRAND",
    "RESONANCE_ALERTS",
    "RESONANCE_AUTHOR",
    "SLA_ALERTS",
    "EngagementUpdate",
    "ExpectedAlert",
    "StreamEvent",
    "demo_brand_settings",
    "demo_config_toml",
    "event_time",
    "generate_history",
    "generate_live",
    "scripted_resonance_ids",
]

LIVE_HOURS = 6.0

SLA_ALERTS: tuple[ExpectedAlert, ...] = (
    ExpectedAlert(
        rule="sla_breach",
        brand=OWN_BRAND.name,
        external_ids=(),
        within_minutes=int(LIVE_HOURS * 60),
        severity="warning",
        why="our brand leaves some complaints and questions unanswered past 24 hours "
        "(loyalty_monitor.demo.replies): one alert per such case",
        after_minutes=-31 * 24 * 60,
        channel=None,
    ),
)

EXPECTED_ALERT_RULES: tuple[ExpectedAlert, ...] = (*INCIDENT_ALERTS, *RESONANCE_ALERTS, *SLA_ALERTS)
"""Every alert the whole demo (history and live) should raise; any other alert is a bug in the demo or the
rules. Times are relative to the live start."""


def generate_history(seed: int = 7, days: int = 30, end: datetime | None = None) -> list[StreamEvent]:
    """``days`` of history ending at ``end`` (default: a fixed date), sorted by time.

    Includes the scripted author's earlier, unanswered complaints (when they fall inside the window), so
    ``generate_live(seed, start=end)`` continues a history in which she is a repeat complainer.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    stop = utc(end) if end is not None else default_end()
    return generate(
        start=stop - timedelta(days=days),
        end=stop,
        seed=f"history:{seed}",
        id_prefix="h",
        source=DEMO_SOURCE,
        spikes=(incident(stop),),
        injectors=(_prior_complaints,),
    )


def _prior_complaints(
    seed: str, start: datetime, end: datetime, ordinary: Sequence[StreamEvent]
) -> list[Mention]:
    return [m for m in prior_complaints(end) if start <= m.published_at < end]


def generate_live(
    seed: int = 7, start: datetime | None = None, hours: float = LIVE_HOURS
) -> list[StreamEvent]:
    """``hours`` of live stream from ``start``: ordinary mentions plus the scripted resonance, sorted.

    Times are real (a normal day's rate); a replayer compresses them to show hours in minutes. One mention
    of a brand per author a week: history may already have two of hers in the last week.
    """
    begin = utc(start) if start is not None else default_end()
    return generate(
        start=begin,
        end=begin + timedelta(hours=hours),
        seed=f"live:{seed}",
        id_prefix="l",
        source=DEMO_SOURCE,
        per_week=1,
        injectors=(scripted_resonance,),
    )
