"""Dashboard settings (``[dashboard]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DashboardSettings"]


class DashboardSettings(BaseModel):
    """Where the dashboard listens, how often it refreshes and who may open it.

    It binds 127.0.0.1 unless told otherwise, because mention data and corrections should not be open to a
    whole network by accident. Example::

        [dashboard]
        host = "127.0.0.1"
        port = 8501
        refresh_s = 10
        password_env = "LOYALTY_DASHBOARD_PASSWORD"   # optional password login
        oidc = false                                   # true: Streamlit's st.login (see docs/dashboard.md)
        default_days = 30
        feed_rows = 200
        export_max_rows = 200000
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8501, ge=1, le=65535)
    refresh_s: float = Field(default=10.0, gt=0)
    password_env: str | None = None
    oidc: bool = False
    """Require a login through Streamlit's ``st.login`` (``[auth]`` in ``.streamlit/secrets.toml``)."""
    default_days: int = Field(default=30, ge=1, le=3660)
    """The date range the dashboard opens with: the last N days."""
    feed_rows: int = Field(default=200, ge=10, le=5000)
    """How many newest mentions the feed shows (the export is not limited by this)."""
    export_max_rows: int = Field(default=200_000, ge=1)
    """A ceiling on one CSV download, so a click cannot exhaust the server's memory."""
