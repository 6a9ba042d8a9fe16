"""Start the dashboard server warm: ``python -m dashboard.serve run dashboard/app.py [flags]``.

Why: Streamlit runs the page script only when the first browser connects, so the first visitor after a
start paid for everything at once: importing pandas, Altair and SQLAlchemy (about a second on two cores),
opening the store and running the default view's queries with cold caches. On a million mentions that
made the first page 3-4 s against about 1 s for every later one. This launcher does that work in a
before the server starts listening: it imports the modules the page needs, opens the
store and fills the cache entries of the view a new session opens on (:meth:`dashboard.data.Filters.default`)
through the very cached functions the page calls (:mod:`dashboard.cache`). Streamlit keeps function caches
per process whether or not its runtime exists yet, so entries made here are the ones sessions read.

Doing it before listening rather than beside it matters on two cores: a warm-up running while the first
page loads competes with it for the CPU and made that load slower, not faster.

A warm-up that fails (a database that is not there yet) is logged and dropped: the page
reports the same problem to the user in its own words, and the server must come up regardless.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from core.scrub import install_log_scrubbing, register_secret

__all__ = ["main", "register_setup_secrets", "warm_up"]

_LOG = logging.getLogger("dashboard.serve")


def warm_up() -> float | None:
    """Import the page's modules and fill the default view's caches; returns the seconds it took.

    Returns ``None`` when there was nothing to warm (no usable :class:`~dashboard.settings.DashboardSetup`
    in the environment).
    """
    t0 = time.perf_counter()
    from dashboard import auth, cache, charts, data, export  # noqa: F401 - importing is half the point
    from dashboard.i18n import translator

    try:
        setup = cache.setup()
    except ValueError:
        return None  # the page shows the problem itself
    url = setup.db_url
    cache.store(url)
    cache.brands(url)
    cache.channels(url)
    f = data.Filters.default(setup.dashboard.default_days, setup.timezone)
    tick = cache.tick(setup.dashboard.refresh_s)
    summ = cache.summary(url, f, tick)
    cache.alerts(url, f, tick, setup.language)  # the page asks in its language, the configured one first
    data.freshness(cache.store(url).engine)
    if not summ.empty:  # the frames and chart specs the overview builds, for their first-call costs
        t = translator(setup.language)
        data.index_frame(summ)
        charts.heatmap_chart(data.brand_channel_index(summ), t).to_dict()
        charts.share_chart(data.share_of_voice(summ), t).to_dict()
        charts.volume_chart(data.volume_frame(summ), t).to_dict()
    return time.perf_counter() - t0


def _no_runtime_note(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("No runtime found")


def _warm() -> None:
    # Outside a running server Streamlit warns once per cache that it keeps entries in memory, which is
    # exactly what the server does too: not worth a line in the user's terminal.
    quiet = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    quiet.addFilter(_no_runtime_note)
    try:
        took = warm_up()
    except Exception:  # the server must start even if the warm-up cannot
        _LOG.warning("dashboard warm-up failed; the first page load will be slower", exc_info=True)
        return
    finally:
        quiet.removeFilter(_no_runtime_note)
    if took is not None:
        _LOG.info("dashboard warm in %.1f s", took)


def register_setup_secrets() -> None:
    """Teach the scrubber the secrets this process is handed: the database password in the setup's URL and
    the dashboard's own login password (``password_env``). The rest of the config's secrets never reach the
    dashboard, so its log lines are scrubbed of them by pattern only."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from dashboard.settings import DashboardSetup

    try:
        setup = DashboardSetup.from_env()
    except ValueError:
        return  # the page reports it
    try:
        register_secret(make_url(setup.db_url).password)
    except (ArgumentError, ValueError):
        pass
    if setup.dashboard.password_env:
        register_secret(os.environ.get(setup.dashboard.password_env))


def main(argv: list[str] | None = None) -> None:
    """Warm up, then hand ``argv`` (a ``streamlit`` command line) to Streamlit's CLI."""
    install_log_scrubbing()  # Streamlit's and the page's log lines pass the one scrubber too
    register_setup_secrets()
    args = sys.argv[1:] if argv is None else argv
    if not _LOG.handlers:  # one line in the terminal, without turning on every library's INFO logs
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        _LOG.addHandler(handler)
        _LOG.setLevel(logging.INFO)
        _LOG.propagate = False
    _warm()
    from streamlit.web import cli

    cli.main(args=args, prog_name="streamlit")


if __name__ == "__main__":
    main()
