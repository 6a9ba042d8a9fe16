"""Alert rules and messenger destinations, as configured under ``[alerts]``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AlertsSettings", "DestinationSettings"]


class DestinationSettings(BaseModel):
    """One messenger that receives alerts. Secrets come from environment variables named here.

    Example::

        [[alerts.destinations]]
        type = "telegram"
        base_url = "https://api.telegram.org"
        token_env = "TG_BOT_TOKEN"
        chat_id = "-1001234567890"
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["telegram", "slack", "webhook"]
    name: str | None = None
    base_url: str | None = None
    token_env: str | None = None
    chat_id: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    min_severity: Literal["info", "warning", "critical"] = "warning"


class AlertsSettings(BaseModel):
    """Resonance detection and delivery."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    destinations: list[DestinationSettings] = Field(default_factory=list)
