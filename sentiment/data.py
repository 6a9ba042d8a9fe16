"""Reading the training corpora and a team's own labelled files into one example type.

The three public corpora use different schemes: SentiRuEval-2016 labels every (tweet, entity) pair with
-1/0/1; RuSentiment and RuSentiTweet use five classes. Five classes map to three as follows: positive,
negative and neutral keep their names; ``speech`` (greetings, thanks, congratulations) becomes positive,
because thanking or congratulating a brand is a favourable mention (see docs/sentiment.md for the measured
comparison with speech -> neutral); ``skip`` (noise, unclear) is dropped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sentiment.base import LABELS, Label

__all__ = [
    "BANK_ENTITIES",
    "FIVE_TO_THREE",
    "TELECOM_ENTITIES",
    "Example",
    "LabeledFileError",
    "load_general",
    "load_labeled_file",
    "load_sentirueval",
    "time_split",
]

FIVE_TO_THREE: dict[str, Label | None] = {
    "positive": "positive",
    "negative": "negative",
    "neutral": "neutral",
    "speech": "positive",
    "skip": None,
}
BANK_ENTITIES = ("sberbank", "vtb", "gazprom", "alfabank", "bankmoskvy", "raiffeisen", "uralsib", "rshb")
TELECOM_ENTITIES = ("beeline", "mts", "megafon", "tele2", "rostelecom", "komstar", "skylink")
_SRE = {
    "-1": "negative",
    "0": "neutral",
    "1": "positive",
    "-1.0": "negative",
    "0.0": "neutral",
    "1.0": "positive",
}


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled (text, target) pair; ``group`` ties the entity pairs of one tweet together.

    ``aliases`` and ``other_brands`` are what the product would pass with the target (its other
    spellings; the other configured brands found in the text), so training reads what prediction reads.
    """

    text: str
    label: Label
    target: str | None
    source: str
    date: int = 0
    n_entities: int = 0
    group: str = ""
    aliases: tuple[str, ...] = ()
    other_brands: tuple[str, ...] = ()


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def load_general(path: Path, source: str, speech: Label | None = "positive") -> list[Example]:
    """A RuSentiment-scheme CSV (``label,text[,id]``) mapped to three classes; ``skip`` rows dropped."""
    mapping = dict(FIVE_TO_THREE)
    mapping["speech"] = speech
    out: list[Example] = []
    for row in _read_csv(path):
        label = mapping.get(row["label"].strip())
        text = row["text"].strip()
        if label is not None and text:
            out.append(Example(text, label, None, source))
    return out


def load_sentirueval(path: Path, source: str) -> list[Example]:
    """One example per (tweet, named entity) of a SentiRuEval-2016 CSV, targeted at that entity."""
    out: list[Example] = []
    for row in _read_csv(path):
        ents = [(k, v.strip()) for k, v in row.items() if k not in ("id", "twitid", "date", "text") and v]
        ents = [(k, v) for k, v in ents if v.strip() in _SRE]
        for key, value in ents:
            out.append(
                Example(
                    row["text"],
                    _SRE[value],  # type: ignore[arg-type]
                    key,
                    source,
                    int(float(row["date"])),
                    len(ents),
                    f"{source}:{row['id']}",
                )
            )
    return out


def time_split(examples: list[Example], tail: float = 0.2) -> tuple[list[Example], list[Example]]:
    """Split by date: the last ``tail`` share of tweets is held out; pairs of one tweet stay together."""
    dates = sorted({(e.date, e.group) for e in examples})
    cut = dates[int(len(dates) * (1 - tail))]
    head = [e for e in examples if (e.date, e.group) < cut]
    rest = [e for e in examples if (e.date, e.group) >= cut]
    return head, rest


class LabeledFileError(ValueError):
    """A labelled file has a bad row; the message names the line."""


_ALIASES = {
    "pos": "positive",
    "neg": "negative",
    "neu": "neutral",
    "1": "positive",
    "-1": "negative",
    "0": "neutral",
}


def _label(raw: str, where: str) -> Label:
    value = raw.strip().lower()
    value = _ALIASES.get(value, value)
    if value == "speech":
        value = "positive"
    if value not in LABELS:
        raise LabeledFileError(f"{where}: unknown label {raw!r} (expected one of {', '.join(LABELS)})")
    return value


def load_labeled_file(path: Path) -> list[Example]:
    """A team's labels: CSV with ``text,label[,target]`` or JSONL objects with the same keys."""
    out: list[Example] = []
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    text, raw = obj["text"], obj["label"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise LabeledFileError(f"{path}:{n}: {exc}") from exc
                target = obj.get("target") or None
                out.append(Example(str(text), _label(str(raw), f"{path}:{n}"), target, path.name))
        return out
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise LabeledFileError(f"{path}: a header with columns text,label[,target] is required")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if row.get("text") is None or row.get("label") is None:
                raise LabeledFileError(f"{where}: missing text or label")
            target = (row.get("target") or "").strip() or None
            out.append(Example(row["text"], _label(row["label"], where), target, path.name))
    return out
