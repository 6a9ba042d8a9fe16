"""From class probabilities to labels: one rule for every backend.

Each backend produces an (N, 3) tensor of probabilities in ``LABELS`` order; the label is the most probable
class and the score its probability, rounded so identical inputs print identical JSON on every platform.
"""

from __future__ import annotations

import torch

from sentiment.base import LABELS, SentimentResult

__all__ = ["results_from_probabilities"]


def results_from_probabilities(probs: torch.Tensor, model_id: str, version: str) -> list[SentimentResult]:
    """One :class:`SentimentResult` per row of ``probs`` (N, 3)."""
    best = probs.argmax(-1).tolist()
    return [
        SentimentResult(LABELS[k], round(float(probs[i, k]), 6), model_id, version)
        for i, k in enumerate(best)
    ]
