"""Dashboard settings (``[dashboard]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DashboardSettings"]


class DashboardSettings(BaseModel):
    """Where the dashboard listens and how often it refreshes.

    It binds 127.0.0.1 unless told otherwise, because mention data and corrections should not be open to a
    whole network by accident.
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8501, ge=1, le=65535)
    refresh_s: float = Field(default=10.0, gt=0)
    password_env: str | None = None
