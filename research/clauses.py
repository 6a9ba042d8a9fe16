"""Score the default model with and without the clause reading, split by split.

    python -m research.clauses [--datasets ../shared/datasets] [--splits comparison,news,...]

For every targeted pair the blended scores of the whole text are computed once, and for the pairs whose
text names another brand in a clause of its own (:func:`sentiment.text.target_clauses`) also the scores
of the target's clauses; the figures are then printed for several clause weights (0 is the model
without the clause reading), so one pass over the data compares them. The comparison sets come first
(seconds), then the splits in the order given. ``comparison_heldout`` holds frames written after the
clause rule was designed on ``comparison_invented`` and never tuned on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from research.validate import COMPARISON_SET, load_comparison
from sentiment.base import LABELS
from sentiment.corpora import as_inputs, validation_data
from sentiment.data import Example
from sentiment.e5 import E5SentimentModel, clause_input
from sentiment.metrics import f_pn_macro
from sentiment.registry import load_model

__all__ = ["FRESH_SET", "HELDOUT_SET", "main"]

HELDOUT_SET = COMPARISON_SET.parent / "comparison_heldout.jsonl"
FRESH_SET = COMPARISON_SET.parent / "comparison_fresh.jsonl"
_WEIGHTS = (0.0, 0.3, 0.5, 0.7)


def _figures(name: str, examples: list[Example], scores: torch.Tensor) -> dict[str, float]:
    preds = [LABELS[k] for k in scores.argmax(-1).tolist()]
    gold = [e.label for e in examples]
    out: dict[str, float] = {}
    if name.startswith("comparison"):
        out["pairs_right"] = sum(p == g for p, g in zip(preds, gold, strict=True))
        posts: dict[str, list[tuple[str, str]]] = {}
        for e, p in zip(examples, preds, strict=True):
            posts.setdefault(e.group, []).append((e.label, p))
        comparing = [v for v in posts.values() if len({g for g, _ in v}) > 1]
        out["one_polar_label"] = sum(
            1 for v in comparing if len({p for _, p in v}) == 1 and v[0][1] != "neutral"
        )
        return out
    out["f_pn_macro"] = round(f_pn_macro(gold, preds), 4)
    for kind in ("ORGANIZATION", "PERSON"):
        idx = [i for i, e in enumerate(examples) if e.source.endswith("/" + kind)]
        if idx:
            out[kind.lower()] = round(f_pn_macro([gold[i] for i in idx], [preds[i] for i in idx]), 4)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--model", default="default")
    parser.add_argument(
        "--splits",
        default="news,later_telecom,later_banks,brands_left_out_banks,brands_left_out_telecom",
    )
    args = parser.parse_args(argv)
    model = load_model(args.model)
    assert isinstance(model, E5SentimentModel)
    parts: dict[str, list[Example]] = {
        "comparison_invented": load_comparison(),
        "comparison_heldout": load_comparison(HELDOUT_SET),
        "comparison_fresh": load_comparison(FRESH_SET),
    }
    names = [s for s in args.splits.split(",") if s]
    if names:
        splits = validation_data(args.datasets).splits
        parts.update({s: splits[s] for s in names})
    for name, examples in parts.items():
        inputs = as_inputs(examples)
        whole = model._blended(inputs, 256)
        clauses = [clause_input(it) for it in inputs]
        idx = [i for i, c in enumerate(clauses) if c is not None]
        read = model._blended([c for c in clauses if c is not None], 256) if idx else None
        row: dict[str, object] = {"split": name, "pairs": len(examples), "with_clauses": len(idx)}
        for c in _WEIGHTS:
            scores = whole.clone()
            if read is not None:
                scores[idx] = (1 - c) * whole[idx] + c * read
            row[f"clause_weight={c}"] = _figures(name, examples, scores)
        print(json.dumps(row, ensure_ascii=False), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
