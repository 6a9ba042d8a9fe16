"""Dashboard settings (``[dashboard]``), and :class:`DashboardSetup`: everything the dashboard is given."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["DashboardSettings", "DashboardSetup"]


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
        public_url = "https://pr.example.com/loyalty"   # optional: alerts link here ("open" button)
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
    public_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    """The address people open the dashboard at; Telegram alerts then carry an "open" button to it."""


class DashboardSetup(BaseModel):
    """What the dashboard needs from the application's config, and nothing more.

    The app shell (``loyalty-monitor dashboard``, the demo) reads and validates ``loyalty.toml``, builds
    this and hands it to the server it starts through the environment variable :attr:`ENV` (the
    environment, not the command line, because ``db_url`` may hold a database password and a command
    line is visible to every user of the machine). The dashboard never reads the config file itself, so it
    depends on no package above it. Example::

        setup = DashboardSetup(db_url="sqlite:///loyalty.db", brands=("Полярбанк", "Кедр Банк"),
                               own_brands=("Полярбанк",))
        env = {**os.environ, DashboardSetup.ENV: setup.model_dump_json()}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ENV: ClassVar[str] = "LOYALTY_DASHBOARD_SETUP"

    db_url: str
    timezone: str = "Europe/Moscow"
    """The zone times are shown in until a visitor picks another (``[display] timezone``)."""
    language: str = Field(default="ru", pattern="^(ru|en)$")
    brands: tuple[str, ...] = ()
    """Configured brands, in config order: offered in the brand filter even before they have mentions."""
    own_brands: tuple[str, ...] = ()
    brand_terms: tuple[str, ...] = ()
    """Every configured name and alias: kept out of the words that name themes."""
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DashboardSetup:
        """The setup the starting process put in the environment; ``ValueError`` with one line if none."""
        env = os.environ if environ is None else environ
        text = env.get(cls.ENV)
        if not text:
            raise ValueError(f"{cls.ENV} is not set: start the dashboard with `loyalty-monitor dashboard`")
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise ValueError(f"{cls.ENV}: {where}: {first['msg']}") from None

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) with this setup in it, for the server's process."""
        return {**(os.environ if base is None else base), self.ENV: self.model_dump_json()}
