"""The demo's source name and the alerts it is built to raise.

The events themselves (mentions and engagement updates) are :mod:`core.synthetic.events`'.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEMO_SOURCE", "ExpectedAlert"]

DEMO_SOURCE = "demo"
"""The source of every demo mention (the synthetic stream's default)."""


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
