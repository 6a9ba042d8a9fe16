"""Scores on the validation splits that models and recipes are chosen on (docs/sentiment.md).

:func:`split_scores` gives F_PN-macro (the mean F1 of positive and negative, SentiRuEval's and
RuSentNE's official metric) per split, with the news split also per entity type; :func:`comparison_scores`
counts a comparison set's pairs read right and the comparison posts read with one polar label for both
brands (the failure that matters most to a brand monitor: "ушёл из X в Y" counted as praise of X).
``python -m research.validate`` prints both for any model.
"""

from __future__ import annotations

from collections.abc import Sequence

from sentiment.base import SentimentModel
from sentiment.corpora import as_inputs
from sentiment.data import Example
from sentiment.metrics import f_pn_macro, macro_f1

__all__ = ["comparison_scores", "split_scores"]

_NEWS_TYPES = ("ORGANIZATION", "PERSON")


def split_scores(model: SentimentModel, splits: dict[str, list[Example]]) -> dict[str, float]:
    """``<split>/f_pn_macro`` and ``<split>/macro_f1`` for every split; news also per entity type."""
    out: dict[str, float] = {}
    for name, examples in splits.items():
        preds = [r.label for r in model.predict(as_inputs(examples))]
        gold = [e.label for e in examples]
        out[f"{name}/pairs"] = len(examples)
        out[f"{name}/f_pn_macro"] = round(f_pn_macro(gold, preds), 4)
        out[f"{name}/macro_f1"] = round(macro_f1(gold, preds), 4)
        for kind in _NEWS_TYPES:
            idx = [i for i, e in enumerate(examples) if e.source.endswith("/" + kind)]
            if idx:
                sub_gold = [gold[i] for i in idx]
                out[f"{name}/{kind.lower()}/f_pn_macro"] = round(
                    f_pn_macro(sub_gold, [preds[i] for i in idx]), 4
                )
    return out


def comparison_scores(model: SentimentModel, examples: Sequence[Example]) -> dict[str, float]:
    """Pairs right, and comparison posts (gold labels differ) read with one polar label for both brands.

    ``group`` ties the pairs of one post together.
    """
    preds = [r.label for r in model.predict(as_inputs(examples))]
    right = sum(p == e.label for p, e in zip(preds, examples, strict=True))
    posts: dict[str, list[tuple[str, str]]] = {}
    for p, e in zip(preds, examples, strict=True):
        posts.setdefault(e.group, []).append((e.label, p))
    comparing = [pairs for pairs in posts.values() if len({g for g, _ in pairs}) > 1]
    one_label = sum(1 for pairs in comparing if len({p for _, p in pairs}) == 1 and pairs[0][1] != "neutral")
    return {
        "pairs": len(examples),
        "pairs_right": right,
        "comparison_posts": len(comparing),
        "comparison_posts_one_polar_label": one_label,
    }
