"""Sentiment toward a brand in Russian social-media text.

``load_model(spec, model_dir)`` returns a :class:`SentimentModel`; every backend (the fast shipped model,
the fine-tuned e5 option, Hugging Face models) answers ``predict(items, batch_size)`` with labels in
{negative, neutral, positive}, a probability and the model's id and version.
"""

from __future__ import annotations

from sentiment.base import LABELS, Label, SentimentInput, SentimentModel, SentimentResult
from sentiment.errors import ModelLoadError
from sentiment.registry import current_version, load_model, set_current

__all__ = [
    "LABELS",
    "Label",
    "ModelLoadError",
    "SentimentInput",
    "SentimentModel",
    "SentimentResult",
    "current_version",
    "load_model",
    "set_current",
]
