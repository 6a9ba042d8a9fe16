"""``loyalty-monitor backtest``: what the alert rules would have said about a past stretch of mentions.

The replay itself lives in :mod:`loyalty_monitor.backtest`; this module reads the options, writes the
events (stdout or ``-o``) and the weekly summary and bad rows (stderr).
"""

from __future__ import annotations

import io
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from loyalty_monitor.cli import UserError, common_options, get_config, parse_when
from loyalty_monitor.config import ConfigError, load_config

__all__ = ["backtest"]


@click.command()
@common_options
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from-db", is_flag=True, help="Replay the mentions stored in the configured database.")
@click.option("--since", metavar="DATE", help="Replay mentions published from this date (display zone).")
@click.option("--until", metavar="DATE", help="Up to this date, exclusive; rules run until then.")
@click.option(
    "--set",
    "overrides",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override an alert setting for this run, e.g. alerts.negative_spike.max_p_value=1e-6 (repeatable).",
)
@click.option(
    "--compare",
    metavar="OTHER.toml",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also replay with OTHER.toml's [alerts] settings; print the alerts only one of them raised.",
)
@click.option(
    "--step",
    "step_minutes",
    type=click.IntRange(1, 24 * 60),
    default=1,
    show_default=True,
    metavar="MINUTES",
    help="Run the rules every MINUTES of virtual time (as `run`: 1; a history replayed hourly: 60).",
)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
def backtest(
    config_path: Path | None,
    db_url: str | None,
    file: Path | None,
    from_db: bool,
    since: str | None,
    until: str | None,
    overrides: tuple[str, ...],
    compare: Path | None,
    step_minutes: int,
    fmt: str,
    output: Path | None,
) -> None:
    """Replay past mentions through the alert rules on a virtual clock; nothing is sent.

    FILE is a CSV/JSONL import file (optional `brand` and `label` columns are kept as they are, and the
    model is skipped for labelled rows); --from-db replays what is stored. The mentions go through brand
    matching and the model into a throwaway store (never the configured database), and every alert rule
    runs with the config's settings, as `run` runs them: after each minute's mentions and every minute.
    Output: one row per alert event (time, event, alert_id, rule, brand, channel, severity, title,
    numbers); a summary per rule and week and any bad rows (FILE:line N: field X: ...) go to stderr.
    """
    from collectors.importer import ImportFileError, check_import_file
    from loyalty_monitor import backtest as bt
    from loyalty_monitor.service import load_sentiment, open_store

    if (file is None) == (not from_db):
        raise click.UsageError("give a FILE to replay, or --from-db (not both)")
    if file is not None:
        try:
            check_import_file(file)
        except ImportFileError as exc:
            raise UserError(str(exc)) from None
    config = get_config(config_path, db_url)
    tz = config.display.timezone
    try:
        start, end = parse_when(since, tz), parse_when(until, tz)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        settings = bt.apply_overrides(config.alerts, overrides)
        lanes = [bt.Lane("config", settings)]
        if compare is not None:
            other = load_config(compare).alerts
            lanes.append(bt.Lane(click.format_filename(compare), bt.apply_overrides(other, overrides)))
    except ConfigError as exc:
        raise UserError(str(exc)) from None

    source = open_store(config) if from_db else None
    if source is not None:
        store = source

        def rows(tagger: Any, errors: list[str]) -> Any:
            return bt.db_rows(store, start, end)

    else:
        assert file is not None
        path = file

        def rows(tagger: Any, errors: list[str]) -> Any:
            return bt.file_rows(path, tagger, errors)

    bar = click.progressbar(length=1, label="replaying", file=sys.stderr, show_pos=True)

    def progress(done: int, total: int) -> None:
        bar.length = max(1, total)
        bar.update(done - bar.pos)

    try:
        with bar:
            result = bt.run_backtest(
                config,
                rows,
                lanes,
                model=lambda: load_sentiment(config),
                since=start,
                until=end,
                progress=progress,
                step=timedelta(minutes=step_minutes),
            )
    except ImportFileError as exc:
        raise UserError(str(exc)) from None
    finally:
        if source is not None:
            source.close()

    name = click.format_filename(file) if file is not None else "database"
    for err in result.errors:
        click.echo(f"{name}:{err}", err=True)
    span = f"{result.first:%Y-%m-%d %H:%M} .. {result.last:%Y-%m-%d %H:%M} UTC" if result.first else "nothing"
    click.echo(
        f"replayed {result.mentions} mentions ({span}), {result.linked} brand links, "
        f"{len(result.errors)} bad rows",
        err=True,
    )
    if compare is None:
        events = result.events["config"]
        rows_out = [e.row() for e in events]
        columns: tuple[str, ...] = bt.COLUMNS
        for line in bt.weekly_summary(events):
            click.echo(line, err=True)
    else:
        a, b = (lane.name for lane in lanes)
        only_a, only_b = bt.compare_events(result.events[a], result.events[b])
        rows_out = [{"only_in": a, **e.row()} for e in only_a] + [{"only_in": b, **e.row()} for e in only_b]
        rows_out.sort(key=lambda r: r["time"])
        columns = ("only_in", *bt.COLUMNS)
        for lane in lanes:
            opened = sum(e.event == "opened" for e in result.events[lane.name])
            click.echo(f"{lane.name}: {opened} alerts opened", err=True)
        click.echo(f"only with {a}: {len(only_a)}; only with {b}: {len(only_b)}", err=True)
    _write(rows_out, columns, fmt, output)


def _write(rows: list[dict[str, Any]], columns: tuple[str, ...], fmt: str, output: Path | None) -> None:
    from storage.export import Format, write_rows

    if fmt == "csv":
        for r in rows:
            r["numbers"] = json.dumps(r["numbers"], ensure_ascii=False, sort_keys=True)
    kind: Format = "jsonl" if fmt == "jsonl" else "csv"
    if output is None:
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
        try:
            write_rows(stream, rows, columns, kind)
        finally:
            stream.detach()
        return
    try:
        f = output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise UserError(f"cannot write {click.format_filename(output)}: {exc.strerror or exc}") from None
    with f:
        n = write_rows(f, rows, columns, kind)
    click.echo(f"wrote {n} rows to {output}", err=True)
