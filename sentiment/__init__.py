"""Sentiment toward a brand in Russian social-media text.

``load_model(spec, model_dir)`` returns a :class:`SentimentModel`; every backend (the fast shipped model,
the fine-tuned e5 option, Hugging Face models) answers ``predict(items, batch_size)`` with labels in
{negative, neutral, positive}, a probability and the model's id and version.
"""

from __future__ import annotations

import os

# Torch's OpenMP threads spin while they wait for work by default. On a server whose cores other processes
# also use (the usual case for this monitor), two spinning threads steal each other's time slices: the fast
# model ran at 40 pairs/s with spinning threads and 300 pairs/s with sleeping ones on a loaded two-core
# machine. OpenMP reads this once, when torch is first imported, so it is set before any sentiment module
# imports torch; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
