"""``[responses]`` settings, apart from :mod:`loyalty_index.responses` so reading the config stays light."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ResponsesSettings"]


class ResponsesSettings(BaseModel):
    """``[responses]``: the answer-time promise and what makes a case urgent or important.

    Example::

        [responses]
        sla_hours = 24
        sla_hours_by_channel = { telegram = 4 }
        influential_reach = 10000
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    sla_hours: float = Field(default=24.0, gt=0)
    sla_hours_by_channel: dict[str, float] = Field(default_factory=dict)
    #: Channels where nobody can answer (news articles): no cases there.
    unanswerable_channels: list[str] = Field(default_factory=lambda: ["news"])
    urgent_reach: int = Field(default=50_000, ge=0)
    urgent_engagement: int = Field(default=100, ge=0)
    influential_reach: int = Field(default=10_000, ge=0)
    repeat_cases: int = Field(default=2, ge=2)
    repeat_days: float = Field(default=30.0, gt=0)
    #: Words that make a complaint urgent besides the alert rules' regulators, media and demands.
    escalation_words: list[str] = Field(
        default_factory=lambda: ["суд", "прокуратура", "роспотребнадзор", "ЦБ", "журналист", "СМИ"]
    )

    def sla(self, channel: str) -> timedelta:
        """The answer time promised on ``channel``."""
        return timedelta(hours=self.sla_hours_by_channel.get(channel, self.sla_hours))
