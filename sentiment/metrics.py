"""Scores used in the model card and by ``loyalty-monitor sentiment eval``.

Macro-F1 over the three classes is the headline for general text; F_PN-macro (F1 averaged over positive
and negative only) is SentiRuEval's official metric, which ignores how well the dominant neutral class is
handled and so measures what a loyalty monitor cares about: catching opinions.
"""

from __future__ import annotations

from collections.abc import Sequence

from sentiment.base import LABELS

__all__ = ["confusion", "f1_per_class", "f_pn_macro", "format_confusion", "macro_f1"]


def confusion(gold: Sequence[str], pred: Sequence[str]) -> list[list[int]]:
    """3x3 counts; rows are gold labels, columns predictions, both in LABELS order."""
    idx: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
    m = [[0, 0, 0] for _ in LABELS]
    for g, p in zip(gold, pred, strict=True):
        m[idx[g]][idx[p]] += 1
    return m


def f1_per_class(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """F1 of each label (0 where a label is neither predicted nor present)."""
    m = confusion(gold, pred)
    out: dict[str, float] = {}
    for i, label in enumerate(LABELS):
        tp = m[i][i]
        fp = sum(m[j][i] for j in range(3)) - tp
        fn = sum(m[i]) - tp
        out[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Unweighted mean of the three F1 scores."""
    f = f1_per_class(gold, pred)
    return sum(f.values()) / 3


def f_pn_macro(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Mean F1 of positive and negative (SentiRuEval's F_PN-macro)."""
    f = f1_per_class(gold, pred)
    return (f["positive"] + f["negative"]) / 2


def format_confusion(m: list[list[int]]) -> str:
    """A small text table of :func:`confusion` output."""
    head = "gold \\ pred".ljust(12) + "".join(label.rjust(10) for label in LABELS)
    rows = [
        label.ljust(12) + "".join(str(v).rjust(10) for v in row) for label, row in zip(LABELS, m, strict=True)
    ]
    return "\n".join([head, *rows])
