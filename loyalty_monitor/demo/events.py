"""What the demo stream is made of: new mentions and engagement updates, in time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.clock import utc
from core.mention import Mention

__all__ = ["DEMO_SOURCE", "DemoEvent", "EngagementUpdate", "ExpectedAlert", "event_time"]

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


@dataclass(frozen=True, slots=True)
class ExpectedAlert:
    """An alert the demo is built to raise: its rule, brand, severity (at least) and when.

    Times are minutes relative to the live start (the end of history): an alert must open after
    ``after_minutes`` and by ``within_minutes``; history's alerts have negative ones. ``channel`` is the
    alert's channel when it matters; ``None`` accepts any channel (and several alerts of the rule).
    ``external_ids`` are the scripted mentions behind it, where there are such.
    """

    rule: str
    brand: str
    external_ids: tuple[str, ...]
    within_minutes: int
    severity: str
    why: str
    after_minutes: int = 0
    channel: str | None = None
    until_minutes: int | None = None
    """More alerts of this kind may open until then (default ``within_minutes``): a storm that raised the
    brand's spike over all channels goes on to raise one channel's."""

    @property
    def last_minute(self) -> int:
        """The latest minute an alert of this kind may open at."""
        return self.within_minutes if self.until_minutes is None else self.until_minutes
