"""The command line that starts the dashboard, for ``loyalty-monitor dashboard``.

Built here so the CLI does not need to know Streamlit's flags, and so the bind address always comes from the
settings (127.0.0.1 by default) rather than Streamlit's own default of every interface. The server reads
everything else it needs from the :class:`~dashboard.settings.DashboardSetup` in its environment
(:meth:`~dashboard.settings.DashboardSetup.environment`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from dashboard.settings import DashboardSettings

__all__ = ["APP_PATH", "command"]

APP_PATH = Path(__file__).with_name("app.py")


def command(settings: DashboardSettings) -> list[str]:
    """``streamlit run dashboard/app.py`` argv: bind address, port, no telemetry.

    It goes through :mod:`dashboard.serve`, which warms the page's imports and caches while the server
    starts, so the first visitor does not wait for them.
    """
    argv = [
        sys.executable,
        "-m",
        "dashboard.serve",
        "run",
        str(APP_PATH),
        "--server.address",
        settings.host,
        "--server.port",
        str(settings.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # a monitor for a team, not a notebook: no "Deploy" button or developer menu
        "--client.toolbarMode",
        "viewer",
    ]
    return argv
