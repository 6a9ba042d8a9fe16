"""What a synthetic stream is made of: new mentions and engagement updates, in time order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.clock import utc
from core.mention import Mention

__all__ = ["EngagementUpdate", "Injector", "StreamEvent", "event_time"]


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


StreamEvent = Mention | EngagementUpdate
"""A new mention (at its ``published_at``) or an engagement update (at its ``at``)."""


def event_time(event: StreamEvent) -> datetime:
    """When ``event`` happens on the stream's clock."""
    return event.published_at if isinstance(event, Mention) else event.at


class Injector(Protocol):
    """Adds scripted events to a stream: an escalation, a storm, a brand's replies.

    Called once per :func:`~core.synthetic.generate` with the stream's seed, its span and the ordinary
    events generated so far (in generation order, not sorted), so an injector can answer or copy them.
    It draws from its own ``random.Random`` (seeded from ``seed``), never from the stream's, so adding an
    injector leaves every ordinary event as it was. Events outside ``[start, end)`` are the injector's
    to drop.
    """

    def __call__(
        self, seed: str, start: datetime, end: datetime, events: Sequence[StreamEvent], /
    ) -> Iterable[StreamEvent]: ...
