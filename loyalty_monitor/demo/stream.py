"""The demo's stream: the synthetic world's ordinary stream, with our brand's app incident in history.

The one event in the history is our brand's app incident (:data:`INCIDENT_DAYS`), which is loud on purpose;
:data:`INCIDENT_ALERTS` lists what it raises. The stream itself is :func:`core.synthetic.generate`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.synthetic import OWN_BRAND, Spike
from loyalty_monitor.demo.events import ExpectedAlert

__all__ = ["INCIDENT_ALERTS", "INCIDENT_DAYS", "default_end", "incident"]

INCIDENT_DAYS = (11, 8)
"""Our brand's app release goes wrong from 11 to 8 days before the end of history.

People who never write about a bank write about its broken app: on top of the usual stream come four
times our brand's usual complaints, about the app, and the news reports the failure (a
:class:`~core.synthetic.Spike` with its defaults). It ends more than a week before the live part, so the
live part's same hours of last week (the spike baseline) are calm."""

_DAY = 24 * 60

INCIDENT_ALERTS: tuple[ExpectedAlert, ...] = (
    ExpectedAlert(
        "negative_spike",
        "Полярбанк",
        (),
        -(INCIDENT_DAYS[1] - 1) * _DAY,
        "warning",
        "complaints about our brand jump far above the same hours of past weeks when the release breaks",
        after_minutes=-INCIDENT_DAYS[0] * _DAY,
        channel=None,
    ),
    ExpectedAlert(
        "recurring_problem",
        "Полярбанк",
        (),
        -(INCIDENT_DAYS[1] - 1) * _DAY,
        "warning",
        "many people describe the same app failure in their own words",
        after_minutes=-INCIDENT_DAYS[0] * _DAY,
        channel=None,
    ),
    ExpectedAlert(
        "index_drop",
        "Полярбанк",
        (),
        # The 7-day index holds the incident until a week after it, so a channel may cross the line late.
        -(INCIDENT_DAYS[1] - 7) * _DAY if INCIDENT_DAYS[1] > 7 else 0,
        "warning",
        "the week with the incident has a far lower loyalty index than the week before",
        after_minutes=-INCIDENT_DAYS[0] * _DAY,
        channel=None,
    ),
)
"""What the app incident raises in history (minutes relative to the end of history, i.e. the live start).

Spikes and similar complaints from its start to a day after its end (complaints trail off); index drops
until a week after it, while the 7-day index still holds it.

Any channel, and more than one alert per rule is fine (a spike in VK and on review sites, a drop of the
index overall and in a channel); nothing outside these windows and the live script's alerts is."""


def incident(end: datetime) -> Spike:
    """The app incident of a history that ends at ``end``."""
    return Spike(
        OWN_BRAND.name, end - timedelta(days=INCIDENT_DAYS[0]), end - timedelta(days=INCIDENT_DAYS[1])
    )


def default_end() -> datetime:
    """A fixed end of history, so a call without ``end`` is as deterministic as one with it."""
    return datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
