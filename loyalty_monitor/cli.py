"""The ``loyalty-monitor`` command line.

Every command takes ``--config FILE`` and ``--db URL`` (which overrides ``storage.url``).
Errors a user can fix
(a bad config key, an unloadable model, an unreachable database) end with a one-line message naming
what was wrong and exit code 2, not a traceback.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from core.scrub import install_log_scrubbing
from loyalty_monitor.config import Config, ConfigError, load_config, register_config_secrets

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

EXAMPLE_CONFIG = Path(__file__).with_name("example_config.toml")


class UserError(click.ClickException):
    """A problem the user can fix (config, model, database): one line, exit code 2."""

    exit_code = 2


def common_options(func: F) -> F:
    """``--config`` and ``--db`` for every command."""
    func = click.option(
        "--db", "db_url", metavar="URL", envvar="LOYALTY_DB", help="Database URL; overrides storage.url."
    )(func)
    func = click.option(
        "--config",
        "config_path",
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="LOYALTY_CONFIG",
        help="Config file (default: ./loyalty.toml when it exists).",
    )(func)
    return func


def get_config(config_path: Path | None, db_url: str | None) -> Config:
    """Load the config or exit with the validation message."""
    if config_path is None and Path("loyalty.toml").exists():
        config_path = Path("loyalty.toml")
    try:
        config = load_config(config_path, db_url)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    register_config_secrets(config)
    return config


def parse_when(value: str | None, tz: str = "UTC") -> datetime | None:
    """A date or datetime from the command line; naive values are in the display time zone."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date like 2026-11-01 or 2026-11-01T09:00"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(UTC)


class _Group(click.Group):
    """Turns errors a user can fix, raised anywhere below a command, into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import OperationalError

        from core.scrub import scrub
        from sentiment.errors import ModelLoadError

        try:
            return super().invoke(ctx)
        except (ConfigError, ModelLoadError) as exc:
            raise UserError(str(exc)) from None
        except OperationalError as exc:
            raise UserError(scrub(f"cannot use the database: {exc.orig}").splitlines()[0]) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Brand loyalty monitor for Russian-speaking social media."""
    level = logging.WARNING - 10 * min(verbose, 2)
    # Before any handler exists: every record (httpx's request lines at -v included) is scrubbed.
    install_log_scrubbing()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default=Path("loyalty.toml"))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config to PATH (default ./loyalty.toml)."""
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it")
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"wrote {path}; edit brands and sources, then run `loyalty-monitor run --config {path}`")


@main.command()
@common_options
@click.option("--once", is_flag=True, help="Poll every source once, tag, alert and exit.")
@click.option("--since", metavar="DATE", help="Backfill history back to DATE (ISO).")
def run(config_path: Path | None, db_url: str | None, once: bool, since: str | None) -> None:
    """Live monitoring: collect, tag, store, alert, until SIGINT/SIGTERM."""
    _monitor(config_path, db_url, once, since)


def _monitor(config_path: Path | None, db_url: str | None, once: bool, since: str | None) -> None:
    from loyalty_monitor.service import run_monitor

    config = get_config(config_path, db_url)
    stats = asyncio.run(run_monitor(config, once=once, since=parse_when(since, config.display.timezone)))
    click.echo(stats)


@main.command()
@common_options
@click.option("--once", is_flag=True, default=True, help="Poll every source once (the only mode).")
@click.option("--since", metavar="DATE", help="Backfill history back to DATE (ISO).")
def collect(config_path: Path | None, db_url: str | None, once: bool, since: str | None) -> None:
    """Poll every enabled source once, then tag and store what was found."""
    _monitor(config_path, db_url, True, since)


@main.command()
@common_options
@click.option(
    "--roles",
    default="collect,tag,alerts,deliver",
    show_default=True,
    help="Comma-separated roles this worker takes: collect, tag, alerts, deliver.",
)
@click.option(
    "--model", "model_spec", metavar="SPEC", help="Sentiment model for the tag role (default: config)."
)
@click.option(
    "--poll-lease-s",
    type=click.FloatRange(min=1.0),
    default=30.0,
    show_default=True,
    help="Seconds without a heartbeat after which a dead worker's poll is taken over.",
)
def worker(
    config_path: Path | None, db_url: str | None, roles: str, model_spec: str | None, poll_lease_s: float
) -> None:
    """One of any number of workers sharing one PostgreSQL database, until SIGINT/SIGTERM.

    Run as many as you like on as many machines; each takes the given roles and the database shares out
    the work (docs/scaling.md). `run` stays the one-process mode (and the one for SQLite).
    """
    from loyalty_monitor.worker import WorkerSettings, parse_roles, require_postgres, run_worker

    config = get_config(config_path, db_url)
    require_postgres(config)
    chosen = parse_roles(roles)
    stats = asyncio.run(
        run_worker(config, chosen, model_spec=model_spec, settings=WorkerSettings(poll_lease_s=poll_lease_s))
    )
    click.echo(stats)


@main.command()
@common_options
def status(config_path: Path | None, db_url: str | None) -> None:
    """Per-source health, totals and alert delivery state."""
    from loyalty_monitor.service import status_report

    config = get_config(config_path, db_url)
    click.echo(status_report(config))


@main.command("import")
@common_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(config_path: Path | None, db_url: str | None, file: Path) -> None:
    """Import CSV/JSONL mentions from other tools; bad rows are reported with line numbers.

    Each bad row is one line on stderr, FILE:line N: field X: what is wrong; every good row is stored.
    Exit code 1 when some rows were bad, 2 when the file itself cannot be read (an .xlsx, UTF-16).
    """
    from collectors.importer import ImportFileError, check_import_file
    from loyalty_monitor.service import import_file

    try:
        check_import_file(file)
    except ImportFileError as exc:
        raise UserError(str(exc)) from None
    config = get_config(config_path, db_url)
    try:
        report = asyncio.run(import_file(config, file))
    except ImportFileError as exc:
        raise UserError(str(exc)) from None
    name = click.format_filename(file)
    for err in report.errors:
        click.echo(f"{name}:{err}", err=True)
    click.echo(f"imported {report.new} new, {report.seen} already stored, {len(report.errors)} bad rows")
    if report.errors:
        sys.exit(1)


@main.command()
@common_options
@click.argument(
    "what", type=click.Choice(["mentions", "index", "alerts", "corrections", "themes", "responses"])
)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--excel", is_flag=True, help="UTF-8 with BOM and ';' separator, for Excel.")
@click.option("--brand", "brands", multiple=True, help="Only this brand (repeatable).")
@click.option("--channel", "channels", multiple=True, help="Only this channel (repeatable).")
@click.option("--since", metavar="DATE", help="From this date (ISO, display time zone).")
@click.option("--until", metavar="DATE", help="Up to this date, exclusive.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
def export(
    config_path: Path | None,
    db_url: str | None,
    what: str,
    fmt: str,
    excel: bool,
    brands: tuple[str, ...],
    channels: tuple[str, ...],
    since: str | None,
    until: str | None,
    output: Path | None,
) -> None:
    """Export mentions, the daily index, alerts, label corrections or themes as CSV or JSONL.

    `corrections` writes the labels people corrected in the dashboard as text,label,target: the input of
    `loyalty-monitor sentiment train --data`, which adapts the model to your brand's language. `themes`
    writes one row per theme and brand for the period (default: the last 7 days), with the change against
    the period of the same length before it. `responses` writes, per brand (competitors included),
    channel and day, the mentions that needed an answer, those answered, those answered in time
    (`[responses] sla_hours`) and the median minutes to the first answer.
    """
    from loyalty_monitor.service import export_rows
    from storage.export import Format, write_rows

    config = get_config(config_path, db_url)
    if what == "themes" and channels:
        raise click.UsageError("export themes is per brand over every channel: drop --channel")
    tz = config.display.timezone
    rows, columns = export_rows(
        config, what, list(brands), list(channels), parse_when(since, tz), parse_when(until, tz)
    )
    kind: Format = "jsonl" if fmt == "jsonl" else "csv"
    encoding = "utf-8-sig" if excel and kind == "csv" else "utf-8"
    if output is None:
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding=encoding, newline="", write_through=True)
        try:
            write_rows(stream, rows, columns, kind, excel=excel)
        except BrokenPipeError:
            # `export ... | head`: the reader has what it wanted; end quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(141) from None
        finally:
            stream.detach()  # leave stdout itself open
        return
    try:
        f = output.open("w", encoding=encoding, newline="")
    except OSError as exc:
        raise UserError(f"cannot write {click.format_filename(output)}: {exc.strerror or exc}") from None
    with f:
        n = write_rows(f, rows, columns, kind, excel=excel)
    click.echo(f"wrote {n} rows to {output}", err=True)


@main.command()
@common_options
@click.option("--print", "to_stdout", is_flag=True, help="Write the digest to stdout instead of sending it.")
@click.option("--since", metavar="DATE", help="Start of the period (default: a day before now).")
def digest(config_path: Path | None, db_url: str | None, to_stdout: bool, since: str | None) -> None:
    """PR's digest: every brand's index and volume, rising themes and the period's alerts.

    In Russian, or English with `display.language = "en"`; it fits one Telegram message. Without --print it
    goes to the alert destinations (`[digest] destinations`, default all) through the outbox, once per day
    whatever the restarts; `[digest] schedule = "09:00"` makes `run` send it every day.
    """
    from alerts.digest import render_digest
    from loyalty_monitor.service import build_digest_for, open_store, send_digest

    config = get_config(config_path, db_url)
    store = open_store(config)
    try:
        found = build_digest_for(config, store, since=parse_when(since, config.display.timezone))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        store.close()
    if to_stdout:
        click.echo(render_digest(found, config.display.language))
        return
    sent = send_digest(config, found, daily=since is None)
    if sent is None:
        click.echo("the digest of this period was sent already", err=True)
    else:
        click.echo(f"digest queued for {', '.join(sent) or 'no destination'}", err=True)


@main.command()
@common_options
@click.option(
    "--host", metavar="ADDRESS", help="Listen on this address (default: dashboard.host, 127.0.0.1)."
)
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Listen on this port (default: dashboard.port, 8501)."
)
def dashboard(config_path: Path | None, db_url: str | None, host: str | None, port: int | None) -> None:
    """Open the Streamlit dashboard (binds 127.0.0.1 unless configured otherwise).

    The command becomes the server process (exec), so a service manager's SIGTERM or a Ctrl-C reaches
    Streamlit itself and nothing is left running.
    """
    from dashboard.launch import command

    config = get_config(config_path, db_url)
    settings = config.dashboard
    if host is not None or port is not None:
        settings = settings.model_copy(
            update={k: v for k, v in (("host", host), ("port", port)) if v is not None}
        )
    # The server is handed the settings it listens with, so its own view of them matches.
    setup = config.dashboard_setup().model_copy(update={"dashboard": settings})
    argv = command(settings)
    sys.stdout.flush()
    sys.stderr.flush()
    exec_server(argv, env=setup.environment())


def exec_server(argv: list[str], env: Mapping[str, str] | None = None) -> None:
    """Replace this process with ``argv`` (POSIX ``exec``, with ``env`` when given); elsewhere run it as a
    child that receives SIGINT/SIGTERM forwarded, so a stopped launcher never leaves an orphaned server."""
    if os.name == "posix":
        try:
            if env is None:
                os.execv(argv[0], argv)
            else:
                os.execve(argv[0], argv, dict(env))
        except OSError as exc:
            raise UserError(f"cannot start the dashboard ({argv[0]}): {exc.strerror or exc}") from None
    raise SystemExit(run_forwarding_signals(argv, env))


def run_forwarding_signals(argv: list[str], env: Mapping[str, str] | None = None) -> int:
    """Run ``argv`` as a child, forward SIGINT and SIGTERM to it, and return its exit code."""
    import signal
    import subprocess

    child = subprocess.Popen(argv, env=None if env is None else dict(env))

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@main.command()
@common_options
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("loyalty-demo"),
    show_default=True,
    help="Where the demo config and database go.",
)
@click.option("--no-dashboard", is_flag=True, help="Replay everything at full speed and exit.")
@click.option(
    "--speed",
    type=float,
    default=600.0,
    show_default=True,
    help="Live replay clock: stream seconds per real second.",
)
@click.option("--seed", type=int, default=7, show_default=True)
def demo(
    config_path: Path | None,
    db_url: str | None,
    workdir: Path,
    no_dashboard: bool,
    speed: float,
    seed: int,
) -> None:
    """Replay a realistic synthetic stream through the real model, then open the dashboard."""
    from loyalty_monitor.replay import run_demo

    summary = run_demo(workdir, db_url=db_url, dashboard=not no_dashboard, speed=speed, seed=seed)
    click.echo(summary)


def _register() -> None:
    from loyalty_monitor.backtest_cli import backtest
    from loyalty_monitor.sentiment_cli import sentiment
    from loyalty_monitor.volume_cli import volume_check

    main.add_command(sentiment)
    main.add_command(backtest)
    main.add_command(volume_check)


_register()
