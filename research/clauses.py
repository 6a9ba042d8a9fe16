"""Score the default model with and without the clause reading, split by split.

    python -m research.clauses [--datasets ../shared/datasets] [--splits news,later_banks,...] [--fresh]
    python -m research.clauses --splits ""          # the comparison sets alone (a minute)

For every targeted pair the blended scores of the whole text are computed once (and kept in ``--cache``,
keyed by the model's version and the texts, so a second run with another reading rule only reads the
clauses), and for the pairs whose text names a competitor the scores of their clause reads
(:func:`sentiment.e5.clause_plan`: the target's own clauses, the chosen competitor's mirrored); the
figures are then printed for several clause weights (0 is the model without the clause reading; a target
that is the brand left keeps the model's ``mirror_weight`` at every other weight), so one pass over the
data compares them. ``--reading before`` scores the rule of round eleven (the target's own
clauses only, cut at sentence ends and contrastive words) for comparison.

The comparison sets come first: ``comparison_invented`` (designed on), ``comparison_heldout``,
``comparison_generated`` (the generated dev set, :mod:`research.comparison_dev`), and with ``--fresh``
``comparison_fresh``, the set kept unseen until a rule is final.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from research.comparison_dev import DEV_SET
from research.validate import COMPARISON_SET, load_comparison
from sentiment.base import LABELS, SentimentInput
from sentiment.corpora import as_inputs, validation_data
from sentiment.data import Example
from sentiment.e5 import E5SentimentModel, clause_plan, gather_reads
from sentiment.metrics import f_pn_macro
from sentiment.registry import load_model
from sentiment.text import target_clauses

__all__ = ["DEV_SET", "FRESH_SET", "HELDOUT_SET", "comparison_figures", "main"]

HELDOUT_SET = COMPARISON_SET.parent / "comparison_heldout.jsonl"
FRESH_SET = COMPARISON_SET.parent / "comparison_fresh.jsonl"
_WEIGHTS = (0.0, 0.3, 0.5, 0.7, 1.0)


def comparison_figures(examples: list[Example], preds: list[str]) -> dict[str, float]:
    """Pairs right, and comparison posts (two gold labels) read with one polar label for both brands."""
    out: dict[str, float] = {"pairs_right": sum(p == e.label for p, e in zip(preds, examples, strict=True))}
    posts: dict[str, list[tuple[str, str]]] = {}
    for e, p in zip(examples, preds, strict=True):
        posts.setdefault(e.group, []).append((e.label, p))
    comparing = [v for v in posts.values() if len({g for g, _ in v}) > 1]
    out["one_polar_label"] = sum(1 for v in comparing if len({p for _, p in v}) == 1 and v[0][1] != "neutral")
    return out


def _figures(name: str, examples: list[Example], scores: torch.Tensor) -> dict[str, float]:
    preds = [LABELS[k] for k in scores.argmax(-1).tolist()]
    gold = [e.label for e in examples]
    if name.startswith("comparison"):
        return comparison_figures(examples, preds)
    out = {"f_pn_macro": round(f_pn_macro(gold, preds), 4)}
    for kind in ("ORGANIZATION", "PERSON"):
        idx = [i for i, e in enumerate(examples) if e.source.endswith("/" + kind)]
        if idx:
            out[kind.lower()] = round(f_pn_macro([gold[i] for i in idx], [preds[i] for i in idx]), 4)
    return out


def _whole(model: E5SentimentModel, inputs: list[SentimentInput], cache: Path | None) -> torch.Tensor:
    """Blended whole-text scores, from ``cache`` when it holds them for this model and these texts."""
    key = hashlib.sha256(
        json.dumps([model.version, [(i.text, i.target, i.aliases, i.other_brands) for i in inputs]]).encode()
    ).hexdigest()[:16]
    path = cache / f"whole-{key}.pt" if cache is not None else None
    if path is not None and path.is_file():
        return torch.load(path)  # type: ignore[no-any-return]
    scores = model._blended(inputs, 256)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(scores, path)
    return scores


def _clause_scores(
    model: E5SentimentModel, inputs: list[SentimentInput], reading: str
) -> tuple[list[int], torch.Tensor | None, int, list[bool]]:
    """(items with a clause reading, their clause scores with offsets, the number of extra reads, whether
    each item's reading holds the other side mirrored)."""
    bias = torch.tensor(model.meta.bias)
    if reading == "before":
        parts = [
            target_clauses(it.text, it.target, it.aliases, it.other_brands) if it.target else None
            for it in inputs
        ]
        idx = [i for i, p in enumerate(parts) if p is not None]
        reads = [SentimentInput(parts[i] or "", *_rest(inputs[i])) for i in idx]
        if not reads:
            return [], None, 0, []
        return idx, model._blended(reads, 256), len(reads), [False] * len(idx)
    reads, plan = clause_plan(inputs)
    if not reads:
        return [], None, 0, []
    idx, read, mirrored = gather_reads(model._blended(reads, 256) - bias, plan)
    return idx, read + bias, len(reads), mirrored


def _rest(it: SentimentInput) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    return it.target, tuple(it.aliases), tuple(it.other_brands)


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
    parser.add_argument("--reading", choices=("now", "before"), default="now")
    parser.add_argument("--fresh", action="store_true", help="also score comparison_fresh.jsonl")
    parser.add_argument("--cache", type=Path, default=None, help="folder for the whole-text scores")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    assert isinstance(model, E5SentimentModel)
    parts: dict[str, list[Example]] = {
        "comparison_invented": load_comparison(),
        "comparison_heldout": load_comparison(HELDOUT_SET),
        "comparison_generated": load_comparison(DEV_SET),
    }
    if args.fresh:
        parts["comparison_fresh"] = load_comparison(FRESH_SET)
    names = [s for s in args.splits.split(",") if s]
    if names:
        splits = validation_data(args.datasets).splits
        parts.update({s: splits[s] for s in names})
    for name, examples in parts.items():
        inputs = as_inputs(examples)
        whole = _whole(model, inputs, args.cache)
        idx, read, n_reads, mirrored = _clause_scores(model, inputs, args.reading)
        row: dict[str, object] = {
            "split": name,
            "pairs": len(examples),
            "with_clauses": len(idx),
            "reads": n_reads,
        }
        for c in _WEIGHTS:
            scores = whole.clone()
            if read is not None and c > 0:
                # a target left or measured against keeps the model's mirror weight
                mix = torch.tensor([model.meta.mirror_weight if m else c for m in mirrored]).unsqueeze(-1)
                scores[idx] = (1 - mix) * whole[idx] + mix * read
            row[f"clause_weight={c}"] = _figures(name, examples, scores)
        print(json.dumps(row, ensure_ascii=False), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
