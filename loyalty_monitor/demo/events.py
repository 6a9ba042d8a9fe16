"""What the demo stream is made of: new mentions and engagement updates, in time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyalty_monitor.mention import Mention, utc

__all__ = ["DEMO_SOURCE", "DemoEvent", "EngagementUpdate", "event_time"]

DEMO_SOURCE = "demo"


@dataclass(frozen=True, slots=True)
class EngagementUpdate:
    """New counters of a mention already sent, observed at ``at``: growth between them is resonance."""

    source: str
    external_id: str
    at: datetime
    likes: int
    reposts: int
    comments: int
    views: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", utc(self.at))


DemoEvent = Mention | EngagementUpdate
"""A new mention (at its ``published_at``) or an engagement update (at its ``at``)."""


def event_time(event: DemoEvent) -> datetime:
    """When ``event`` happens on the demo clock."""
    return event.published_at if isinstance(event, Mention) else event.at
