"""The public corpora as training and validation examples, and the splits models are chosen on.

Two views of the same files:

* :func:`load_corpora`: general posts (RuSentiment, RuSentiTweet) and SentiRuEval-2016 per-entity pairs,
  with dev cut from the training files and, with ``holdout``, the last 20% of tweets by date kept out (the
  fast model's recipe).
* :func:`validation_data`: the splits that imitate what the product meets, cut all at once so that one
  model trained on the union of their training parts can be scored on every split:

  - ``later_banks`` / ``later_telecom``: the last 20% of tweets by date per domain;
  - ``brands_left_out_banks`` / ``brands_left_out_telecom``: pairs of two brands per domain that never
    occur in training (every tweet naming one of them goes to validation);
  - ``news``: a held-out 20% of RuSentNE-2023 sentences (all entities of a sentence on one side);
  - dev: the last 10% by date of the remaining tweets and 10% of the remaining news sentences, for
    offsets and early checks only.

SentiRuEval names its targets by column (``sberbank``); :data:`BRAND_ALIASES` maps each column to what
people write, and the other columns' brands found in a tweet become its ``other_brands``. That table is a
training aid for these files only: at prediction time the user's configuration says what a brand and its
competitors are called.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sentiment.base import Label, SentimentInput
from sentiment.data import Example, load_general, load_sentirueval, time_split

__all__ = [
    "BRAND_ALIASES",
    "HELD_OUT_BRANDS",
    "Corpora",
    "ValidationData",
    "as_input",
    "as_inputs",
    "load_corpora",
    "load_rusentne",
    "validation_data",
    "with_brands",
]

# SentiRuEval-2016 entity columns and the well-known brands of the same markets, mapped to the surface
# forms people write (a training aid: see the module docstring). Multi-word aliases are space separated.
BRAND_ALIASES: dict[str, tuple[str, ...]] = {
    "sberbank": ("сбербанк", "сбер", "sberbank", "sber", "сбербанк онлайн", "сбол"),
    "vtb": ("втб", "vtb", "втб24"),
    "gazprom": ("газпромбанк", "gazprombank", "гпб"),
    "alfabank": ("альфабанк", "альфа банк", "alfabank", "alfa bank", "альфа"),
    "bankmoskvy": ("банк москвы", "bankmoskvy"),
    "raiffeisen": ("райффайзенбанк", "райффайзен", "райфайзен", "raiffeisen", "райф"),
    "uralsib": ("уралсиб", "uralsib"),
    "rshb": ("россельхозбанк", "рсхб", "rshb"),
    "tinkoff": ("тинькофф", "тинькоф", "тиньков", "tinkoff", "т банк", "тбанк"),
    "otkritie": ("открытие", "otkritie"),
    "pochtabank": ("почта банк", "почтабанк"),
    "beeline": ("билайн", "beeline", "вымпелком"),
    "mts": ("мтс", "mts"),
    "megafon": ("мегафон", "megafon", "megafonru"),
    "tele2": ("теле2", "tele2", "теле 2", "tele 2", "т2"),
    "rostelecom": ("ростелеком", "rostelecom", "ртк"),
    "komstar": ("комстар", "komstar"),
    "skylink": ("скайлинк", "skylink"),
    "yota": ("йота", "yota"),
}

# Two brands per domain that the validation model never sees (each with enough polar pairs to score).
HELD_OUT_BRANDS: dict[str, tuple[str, ...]] = {
    "banks": ("alfabank", "gazprom"),
    "telecom": ("megafon", "rostelecom"),
}


def with_brands(example: Example) -> Example:
    """A SentiRuEval-style example (target = a :data:`BRAND_ALIASES` key) with its aliases and the other
    known brands found in its text, as the product would pass them from a configuration."""
    from sentiment.text import _matcher, tokenize

    key = example.target
    if key is None or key not in BRAND_ALIASES:
        return example
    tokens = tokenize(example.text)
    others: list[str] = []
    for other, aliases in BRAND_ALIASES.items():
        if other != key and _matcher(aliases).spans(tokens):
            others.extend(aliases)
    return replace(example, aliases=BRAND_ALIASES[key], other_brands=tuple(others))


def as_input(e: Example) -> SentimentInput:
    """What the product would ask the model for this example."""
    return SentimentInput(e.text, e.target, e.aliases, e.other_brands)


def as_inputs(examples: Sequence[Example]) -> list[SentimentInput]:
    return [as_input(e) for e in examples]


@dataclass
class Corpora:
    """Train / dev / test examples of the public corpora."""

    train: list[Example]
    dev: list[Example]
    tests: dict[str, list[Example]]


def _sentirueval(datasets: Path, name: str) -> list[Example]:
    file = {"banks": "bank_train.csv", "telecom": "ttk_train.csv"}[name]
    return [with_brands(e) for e in load_sentirueval(datasets / "sentirueval2016" / file, name)]


def load_corpora(datasets: Path, holdout: bool = True, seed: int = 13) -> Corpora:
    """Read the general and SentiRuEval corpora and cut dev (and, with ``holdout``, the SentiRuEval tail)."""
    rng = random.Random(seed)
    general = load_general(datasets / "rusentiment" / "rusentiment_random_posts.csv", "rusentiment")
    general += load_general(datasets / "rusentiment" / "rusentiment_preselected_posts.csv", "rusentiment")
    general += load_general(datasets / "rusentitweet" / "rusentitweet_train.csv", "rusentitweet")
    rng.shuffle(general)
    n_dev = len(general) // 12
    train, dev = general[n_dev:], general[:n_dev]
    tests: dict[str, list[Example]] = {
        "rusentiment_test": load_general(datasets / "rusentiment" / "rusentiment_test.csv", "rusentiment"),
        "rusentitweet_test": load_general(
            datasets / "rusentitweet" / "rusentitweet_test.csv", "rusentitweet"
        ),
    }
    for name in ("banks", "telecom"):
        ents = _sentirueval(datasets, name)
        if holdout:
            ents, tail = time_split(ents, 0.2)
            tests[f"{name}_tail"] = tail
        ents, ent_dev = time_split(ents, 0.1)
        train += ents
        dev += ent_dev
    return Corpora(train, dev, tests)


_NEWS_LABELS: dict[str, Label] = {"-1": "negative", "0": "neutral", "1": "positive"}


def load_rusentne(path: Path) -> list[Example]:
    """RuSentNE-2023 rows as examples: the marked entity is the target, the sentence's other labelled
    entities its ``other_brands``; ``source`` is ``rusentne2023/<entity type>``, ``group`` the sentence."""
    rows: list[tuple[str, str, str, Label]] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            label = _NEWS_LABELS.get(row["label"].strip())
            sentence, entity = row["sentence"], row["entity"].strip()
            if label is None or not entity:
                continue
            rows.append((sentence, entity, row["entity_tag"].strip(), label))
    entities: dict[str, list[str]] = {}
    for sentence, entity, _, _ in rows:
        entities.setdefault(sentence, []).append(entity)
    out: list[Example] = []
    for sentence, entity, tag, label in rows:
        group = "news:" + hashlib.sha256(sentence.encode()).hexdigest()[:12]
        others = tuple(dict.fromkeys(e for e in entities[sentence] if e.lower() != entity.lower()))
        out.append(
            Example(
                sentence, label, entity, f"rusentne2023/{tag}", 0, len(entities[sentence]), group, (), others
            )
        )
    return out


@dataclass
class ValidationData:
    """The union of the splits' training parts, a dev set cut from it, and the splits themselves."""

    train: list[Example]
    dev: list[Example]
    splits: dict[str, list[Example]]


def _group_split(examples: list[Example], share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(rest, held out): a random ``share`` of groups (sentences) held out, all rows of a group together."""
    groups = sorted({e.group for e in examples})
    random.Random(seed).shuffle(groups)
    held = set(groups[: round(len(groups) * share)])
    return [e for e in examples if e.group not in held], [e for e in examples if e.group in held]


def validation_data(datasets: Path, seed: int = 13) -> ValidationData:
    """Cut every validation split at once (see the module docstring); nothing of a split is in train."""
    train: list[Example] = []
    dev: list[Example] = []
    splits: dict[str, list[Example]] = {}
    for name in ("banks", "telecom"):
        ents = _sentirueval(datasets, name)
        ents, tail = time_split(ents, 0.2)
        splits[f"later_{name}"] = tail
        held = HELD_OUT_BRANDS[name]
        held_groups = {e.group for e in ents if e.target in held}
        splits[f"brands_left_out_{name}"] = [e for e in ents if e.target in held]
        rest = [e for e in ents if e.group not in held_groups]
        rest, rest_dev = time_split(rest, 0.1)
        train += rest
        dev += rest_dev
    news = load_rusentne(datasets / "rusentne2023" / "rusentne2023_train.tsv")
    news, splits["news"] = _group_split(news, 0.2, seed)
    news, news_dev = _group_split(news, 0.1, seed + 1)
    train += news
    dev += news_dev
    return ValidationData(train, dev, splits)
