"""Score the default model with and without the clause reading, split by split.

    python -m research.clauses [--datasets ../shared/datasets] [--splits news,later_banks,...] [--fresh]
    python -m research.clauses --splits ""          # the comparison sets alone (a minute)

For every targeted pair the blended scores of the whole text are computed once (and kept in ``--cache``,
keyed by the model's version and the texts, so a second run with another reading rule only reads the
clauses), and for the pairs whose text names a competitor the scores of their clause reads
(:func:`sentiment.e5.clause_plan`: the target's own clauses, the chosen competitor's mirrored); the
figures are then printed for several clause weights (0 is the model without the clause reading nor the
stance prior; a target that is the brand left keeps the model's ``mirror_weight`` at every other weight,
and the model's ``stance_weight`` prior, :func:`sentiment.e5.stance_prior`, is added), so one pass over
the data compares them. ``--reading before`` scores the rule of round eleven (the target's own
clauses only, cut at sentence ends and contrastive words) for comparison.

The comparison sets come first: ``comparison_invented`` (designed on), ``comparison_heldout``,
``comparison_generated`` (the generated dev set, :mod:`research.comparison_dev`), its second part
``comparison_generated_more`` (other frames, round seventeen), and with ``--fresh``
``comparison_fresh``, the set kept unseen until a rule is final.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from research.comparison_dev import DEV_SET, MORE_SET
from research.validate import COMPARISON_SET, load_comparison
from sentiment.base import LABELS, SentimentInput
from sentiment.corpora import as_inputs, validation_data
from sentiment.data import Example
from sentiment.e5 import E5SentimentModel, clause_plan, gather_reads, reads_news, stance_prior
from sentiment.metrics import f_pn_macro
from sentiment.registry import load_model
from sentiment.text import TokenRole, locate, tokenize

__all__ = ["DEV_SET", "FRESH_SET", "HELDOUT_SET", "comparison_figures", "main"]

# Words that open a new clause with a contrast of its own ("у X плохо, а у Y хорошо"). Sentence ends also
# close a clause; commas and dashes do not, because they usually join a brand to its own opinion
# ("подключился к X — скорость честная").
_CONTRAST_WORDS = frozenset({"а", "но", "зато", "однако", "теперь", "тогда"})
# Phrases that open a clause closed by the next comma ("не то что X, в Y ...").
_CONTRAST_PHRASES: tuple[tuple[str, ...], ...] = (("не", "то", "что"), ("в", "отличие", "от"))
_SENTENCE_END = frozenset(".!?;…")


def clauses(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` token spans of the clauses of a tokenised text (:func:`tokenize`).

    A clause ends at a sentence end and before a contrastive word (а, но, зато, однако, теперь, тогда);
    "не то что ..." and "в отличие от ..." are clauses of their own up to the next comma.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    closes_at_comma = False
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        phrase = next((p for p in _CONTRAST_PHRASES if tuple(tokens[i : i + len(p)]) == p), None)
        if phrase is not None or (tok in _CONTRAST_WORDS and i > start):
            if i > start:
                spans.append((start, i))
            start = i
            closes_at_comma = phrase is not None
            i += len(phrase) if phrase else 1
            continue
        if tok[0] in _SENTENCE_END or (closes_at_comma and tok == ","):
            spans.append((start, i + 1))
            start = i + 1
            closes_at_comma = False
        i += 1
    if start < n:
        spans.append((start, n))
    return spans


def target_clauses(
    text: str, target: str | None, aliases: Sequence[str] = (), other_brands: Sequence[str] = ()
) -> str | None:
    """The clauses of ``text`` about ``target`` alone, when the text also names another brand elsewhere.

    The clause rule of round eleven, kept here so that ``--reading before`` can compare; the default
    reads through :mod:`sentiment.reading`.

    Why: in "у X связь пропадает, а у Y ловит везде" a reading of the whole text mixes both opinions into
    each brand's label. The clauses naming the target and no other brand (each with the brand-less clauses
    that follow it: "а у меня ни одного обрыва" continues the clause before it) carry the target's own
    opinion. ``None`` when there is nothing to separate: no other brand, or every clause naming the
    target names another brand too ("ушёл из X в Y"), so the whole text is all there is to read.
    The result is the clauses' tokens joined by spaces, which :func:`tokenize` reads back unchanged.
    """
    if not target or not other_brands:
        return None
    tokens = tokenize(text)
    roles = locate(tokens, target, aliases, other_brands)
    if TokenRole.OTHER_BRAND not in roles or TokenRole.TARGET not in roles:
        return None
    keep: list[tuple[int, int]] = []
    owner: int | None = None  # the role of the last clause that named a brand
    for a, b in clauses(tokens):
        named = set(roles[a:b]) - {TokenRole.OTHER_TEXT}
        if named:
            owner = TokenRole.TARGET if named == {TokenRole.TARGET} else TokenRole.OTHER_BRAND
        if owner == TokenRole.TARGET:
            keep.append((a, b))
    if not keep:
        return None
    return " ".join(" ".join(tokens[a:b]) for a, b in keep)


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
    blend = [model.meta.weight, model.meta.bias, model.meta.news_weight, model.meta.news_bias]
    texts = [(i.text, i.target, i.aliases, i.other_brands) for i in inputs]
    key = hashlib.sha256(json.dumps([model.version, blend, texts]).encode()).hexdigest()[:16]
    path = cache / f"whole-{key}.pt" if cache is not None else None
    if path is not None and path.is_file():
        return torch.load(path)  # type: ignore[no-any-return]
    w, bias = model._blend_params(len(inputs), model.news(inputs))
    scores = model._blended(inputs, 256, w, bias)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(scores, path)
    return scores


def _clause_scores(
    model: E5SentimentModel, inputs: list[SentimentInput], reading: str
) -> tuple[list[int], torch.Tensor | None, int, list[bool]]:
    """(items with a clause reading, their clause scores with offsets, the number of extra reads, whether
    each item's reading holds the other side mirrored)."""
    news = model.news(inputs)
    w, bias = model._blend_params(len(inputs), news)
    if reading == "before":
        parts = [
            target_clauses(it.text, it.target, it.aliases, it.other_brands) if it.target else None
            for it in inputs
        ]
        idx = [i for i, p in enumerate(parts) if p is not None]
        reads = [SentimentInput(parts[i] or "", *_rest(inputs[i])) for i in idx]
        if not reads:
            return [], None, 0, []
        return idx, model._blended(reads, 256, w[idx], bias[idx]), len(reads), [False] * len(idx)
    reads, plan = clause_plan(inputs)
    if not reads:
        return [], None, 0, []
    read_w, read_bias = model._blend_params(len(reads), reads_news(news, plan, len(reads)))
    idx, read, mirrored = gather_reads(model._blended(reads, 256, read_w, read_bias) - read_bias, plan)
    return idx, read + bias[idx], len(reads), mirrored


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
        "comparison_generated_more": load_comparison(MORE_SET),
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
        # the prior of what the syntax says of the target comes with the clause reading (rule of now)
        prior = stance_prior(inputs, model.meta.stance_weight if args.reading == "now" else 0.0)
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
            if c > 0:
                scores = scores + prior
            row[f"clause_weight={c}"] = _figures(name, examples, scores)
        print(json.dumps(row, ensure_ascii=False), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
