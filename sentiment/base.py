"""One interface for every sentiment backend.

A backend predicts a batch of (text, target brand or ``None``) pairs and returns, for each, a label in
{negative, neutral, positive}, the probability of that label, and the id and version of the model that made
it. Stored labels keep that version, so a retrained model never silently rewrites history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = ["LABELS", "Label", "SentimentInput", "SentimentModel", "SentimentResult"]

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class SentimentInput:
    """A text and the brand the label should be about (``None``: the text's overall sentiment).

    ``aliases`` are the other spellings of the target the text may use (``Сбер``, ``SberBank``); a backend
    that locates the target in the text uses them beside ``target`` itself. ``other_brands`` are the other
    configured brands found in the text (their names and the aliases matched): the competitors the
    sentence may be comparing the target with ("ушёл из X в Y"). Models mark them apart from the target;
    no built-in list of brands decides who is a competitor.
    """

    text: str
    target: str | None = None
    aliases: tuple[str, ...] = ()
    other_brands: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SentimentResult:
    """A label with the model's probability for it and the model that made it."""

    label: Label
    score: float
    model_id: str
    model_version: str


@runtime_checkable
class SentimentModel(Protocol):
    """What the pipeline needs from a backend: deterministic, batched prediction."""

    @property
    def model_id(self) -> str: ...

    @property
    def version(self) -> str: ...

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        """Label every item, in order. The same inputs always give the same outputs."""
        ...
