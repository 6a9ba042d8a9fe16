"""Choose a trained e5 model's blend weight, offsets and clause weight on dev; score every split once.

    python -m research.choose --e5 /tmp/e5-mask --cache /tmp/e5-mask-int8.pt [--precision int8]
    python -m research.choose ... --write /tmp/e5-mask      # store the chosen blend in its meta.json
    python -m research.choose ... --register                # and a blend for pairs read as news

The model is scored as users run it (``--precision``, int8 by default: what CPUs without AMX use). For
every part (dev, the five validation splits, the three comparison sets) the e5 logits and the fast model's
raw entity logits are computed once, for the whole text and for the clause reads
(:func:`sentiment.e5.clause_plan`: the target's own clauses, the chosen brand's reading mirrored), and
cached. Then for every blend weight ``w`` and clause weight
``c`` the negative/positive offsets are chosen on dev (the worse of its tweets and its news, as
:func:`sentiment.e5_finetune.best_offsets`), and ``(w, c)`` is chosen by the same dev score. The splits and
the comparison sets are printed for every ``(w, c)`` (so the log can show what each choice would have
given) but play no part in the choice: they stay what the model never saw and was never tuned on.

With ``--register`` a second weight and offsets are chosen, on dev in the same way, for the pairs whose
text reads as news (:mod:`sentiment.register`), the other pairs keeping the first choice; ``--write``
then stores them as ``news_weight`` / ``news_bias`` (and removes them without ``--register``). A cache
missing a part (one written before the generated comparison set was scored) gets that part added.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from research.clauses import FRESH_SET, HELDOUT_SET
from research.comparison_dev import DEV_SET
from research.validate import load_comparison, worst
from sentiment.base import LABELS
from sentiment.corpora import as_inputs, validation_data
from sentiment.data import Example
from sentiment.e5 import E5Meta, E5SentimentModel, clause_plan, gather_reads, stance_prior
from sentiment.fast import FastSentimentModel, set_threads
from sentiment.register import news_score, reads_as_news
from sentiment.registry import FAST_DIR
from sentiment.text import focus

__all__ = [
    "FRESH_SET",
    "choose",
    "choose_register",
    "evaluation_parts",
    "f_pn_fast",
    "main",
    "news_masks",
    "register_share",
]

WEIGHTS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CLAUSE_WEIGHTS = (0.0, 0.3, 0.5, 0.7)
_GRID = torch.tensor([x / 10 for x in range(-15, 21)])
_NEWS_TYPES = ("ORGANIZATION", "PERSON")


def f_pn_fast(gold: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """F_PN-macro of predictions ``pred`` (..., N) against ``gold`` (N), batched over leading dims.

    The offset search scores 1,296 offset pairs per blend; counting in tensors keeps it to milliseconds.
    """
    out = torch.zeros(pred.shape[:-1])
    for k in (0, 2):  # negative, positive
        tp = ((pred == k) & (gold == k)).sum(-1).float()
        n_pred = (pred == k).sum(-1).float()
        n_gold = (gold == k).sum().float()
        out += torch.where(n_pred + n_gold > 0, 2 * tp / (n_pred + n_gold).clamp(min=1), torch.zeros(()))
    return out / 2


def _offsets(
    scores: torch.Tensor,
    dev: list[Example],
    mask: torch.Tensor | None = None,
    fixed: torch.Tensor | None = None,
) -> tuple[float, tuple[float, float]]:
    """Offsets maximising the worse of dev's tweets and news F_PN (the grid of ``best_offsets``).

    With ``mask`` (N,) only the masked rows take the searched offsets; the others keep ``fixed`` (3,).
    """
    gold = torch.tensor([LABELS.index(e.label) for e in dev])
    parts = [
        torch.tensor([i for i, e in enumerate(dev) if not e.source.startswith("rusentne")]),
        torch.tensor([i for i, e in enumerate(dev) if e.source.startswith("rusentne")]),
    ]
    bn, bp = torch.meshgrid(_GRID, _GRID, indexing="ij")
    shift = torch.stack([bn, torch.zeros_like(bn), bp], -1).reshape(-1, 1, 3)
    if mask is not None:
        rest = torch.zeros(3) if fixed is None else fixed
        per_row = torch.where(mask.view(1, -1, 1), shift, rest.view(1, 1, 3))
    worst_part: torch.Tensor | None = None
    for p in parts:
        if len(p) == 0:
            continue
        row_shift = shift if mask is None else per_row[:, p]
        pred = (scores[p].unsqueeze(0) + row_shift).argmax(-1)
        f = f_pn_fast(gold[p], pred)
        worst_part = f if worst_part is None else torch.minimum(worst_part, f)
    assert worst_part is not None
    # ``best_offsets`` takes the largest (score, (bn, bp)) tuple: among ties the largest bn, then bp,
    # which is the last index of the (bn, bp)-ordered grid
    best = float(worst_part.max())
    idx = int(torch.nonzero(worst_part == best).max())
    return best, (round(float(shift[idx, 0, 0]), 2), round(float(shift[idx, 0, 2]), 2))


def _figures(name: str, examples: list[Example], scores: torch.Tensor) -> dict[str, float]:
    preds = [LABELS[k] for k in scores.argmax(-1).tolist()]
    gold = [e.label for e in examples]
    out: dict[str, float] = {}
    if name.startswith("comparison"):
        out[f"{name}/pairs_right"] = sum(p == g for p, g in zip(preds, gold, strict=True))
        posts: dict[str, list[tuple[str, str]]] = {}
        for e, p in zip(examples, preds, strict=True):
            posts.setdefault(e.group, []).append((e.label, p))
        comparing = [v for v in posts.values() if len({g for g, _ in v}) > 1]
        out[f"{name}/comparison_posts_one_polar_label"] = sum(
            1 for v in comparing if len({p for _, p in v}) == 1 and v[0][1] != "neutral"
        )
        return out
    g = torch.tensor([LABELS.index(x) for x in gold])
    p = scores.argmax(-1)
    out[f"{name}/pairs"] = len(examples)
    out[f"{name}/f_pn_macro"] = round(float(f_pn_fast(g, p)), 4)
    for kind in _NEWS_TYPES:
        idx = torch.tensor([i for i, e in enumerate(examples) if e.source.endswith("/" + kind)])
        if len(idx):
            out[f"{name}/{kind.lower()}/f_pn_macro"] = round(float(f_pn_fast(g[idx], p[idx])), 4)
    return out


def _cache(
    model: E5SentimentModel,
    parts: dict[str, list[Example]],
    out: dict[str, dict[str, torch.Tensor]] | None = None,
) -> dict[str, dict[str, torch.Tensor]]:
    """Per part: e5 and raw fast log-probabilities of the whole texts and of the clause reads.

    Parts already in ``out`` (a cache written before a part was added) are kept, the others scored.
    """
    fast = model.fast
    out = {} if out is None else out
    for name, examples in parts.items():
        if name in out:
            continue
        inputs = as_inputs(examples)
        read, plan = clause_plan(inputs)
        entry = {
            "e5": torch.log_softmax(model.e5_logits(model.encode(inputs)), -1),
            "fast": torch.log_softmax(fast.logits(inputs) - fast._bias[1], -1),
            "idx": torch.tensor([i for i, p in enumerate(plan) if p], dtype=torch.long),
        }
        if read:
            # per item the mean of its reads, mirrored ones swapped (the blend is linear in both)
            _, entry["e5_clause"], mirrored = gather_reads(
                torch.log_softmax(model.e5_logits(model.encode(read)), -1), plan
            )
            _, entry["fast_clause"], _ = gather_reads(
                torch.log_softmax(fast.logits(read) - fast._bias[1], -1), plan
            )
            entry["mirrored"] = torch.tensor(mirrored, dtype=torch.bool)
        out[name] = entry
        print(f"scored {name}: {len(inputs)} pairs, {len(read)} clause reads", flush=True)  # noqa: T201
    return out


def _mixed(
    entry: dict[str, torch.Tensor],
    w: float | torch.Tensor,
    c: float,
    mirror_weight: float = E5Meta().mirror_weight,
) -> torch.Tensor:
    """Blended log-probabilities without offsets; ``w`` one weight or one per item (N,); a target left or
    measured against mixes its reading at ``mirror_weight`` (the model's, from its meta.json), and with
    the clause reading on the model's stance prior is added (``entry["stance"]`` when present)."""
    wt = torch.as_tensor(w, dtype=torch.float32)
    w_all = wt.unsqueeze(-1) if wt.dim() else wt
    scores = w_all * entry["e5"] + (1 - w_all) * entry["fast"]
    if c > 0 and "e5_clause" in entry:
        idx = entry["idx"]
        w_read = wt[idx].unsqueeze(-1) if wt.dim() else wt
        read = w_read * entry["e5_clause"] + (1 - w_read) * entry["fast_clause"]
        # a target left or measured against mixes its reading at the model's mirror weight
        mix = torch.where(entry["mirrored"], mirror_weight, c).unsqueeze(-1)
        scores = scores.clone()
        scores[idx] = (1 - mix) * scores[idx] + mix * read
    if c > 0 and "stance" in entry:
        scores = scores + entry["stance"]
    return scores


def choose(
    cache: dict[str, dict[str, torch.Tensor]],
    parts: dict[str, list[Example]],
    weights: tuple[float, ...] = WEIGHTS,
    clause_weights: tuple[float, ...] = CLAUSE_WEIGHTS,
    mirror_weight: float = E5Meta().mirror_weight,
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """(the chosen row, every row): one row per (w, c) with its dev-chosen offsets and all figures."""
    rows: list[dict[str, object]] = []
    for w in weights:
        for c in clause_weights:
            dev_scores = _mixed(cache["dev"], w, c, mirror_weight)
            dev_score, (bn, bp) = _offsets(dev_scores, parts["dev"])
            shift = torch.tensor([bn, 0.0, bp])
            figures: dict[str, float] = {"dev/worst_f_pn_macro": round(dev_score, 4)}
            for name, examples in parts.items():
                if name != "dev":
                    figures.update(_figures(name, examples, _mixed(cache[name], w, c, mirror_weight) + shift))
            figures["worst_split_f_pn_macro"] = worst(figures)
            rows.append({"weight": w, "clause_weight": c, "bias": [bn, 0.0, bp], **figures})
    # dev decides; among equal dev scores the larger clause weight and e5 weight (the fewer knobs off)
    best = max(rows, key=lambda r: (r["dev/worst_f_pn_macro"], r["weight"], r["clause_weight"]))
    return best, rows


def news_masks(parts: dict[str, list[Example]], threshold: float = 0.0) -> dict[str, torch.Tensor]:
    """Per part, which pairs the register reads as news (:func:`sentiment.register.reads_as_news`; another
    ``threshold`` on :func:`sentiment.register.news_score` shows what a stricter or looser rule gives)."""
    out: dict[str, torch.Tensor] = {}
    for name, examples in parts.items():
        if threshold == 0.0:
            flags = [reads_as_news(it) for it in as_inputs(examples)]
        else:
            flags = [news_score(focus(e.text, e.target, e.aliases)) > threshold for e in examples]
        out[name] = torch.tensor(flags, dtype=torch.bool)
    return out


def register_share(parts: dict[str, list[Example]], news: dict[str, torch.Tensor]) -> dict[str, float]:
    """The share of each part's pairs read as news, and of dev's tweets and news parts apart."""
    out = {f"{name}/read_as_news": round(float(m.float().mean()), 4) for name, m in news.items() if len(m)}
    for label, is_news_source in (("tweets", False), ("news", True)):
        sel = [i for i, e in enumerate(parts["dev"]) if e.source.startswith("rusentne") == is_news_source]
        if sel:
            out[f"dev_{label}/read_as_news"] = round(float(news["dev"][sel].float().mean()), 4)
    return out


def choose_register(
    cache: dict[str, dict[str, torch.Tensor]],
    parts: dict[str, list[Example]],
    base: dict[str, object],
    news: dict[str, torch.Tensor],
    weights: tuple[float, ...] = WEIGHTS,
    mirror_weight: float = E5Meta().mirror_weight,
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """A second (weight, offsets) for the pairs read as news, chosen on dev; the rest keep ``base``'s.

    For every news weight the news pairs' offsets are chosen on dev (the worse of its tweets and its news
    parts, with the other pairs at ``base``'s weight and offsets), and the news weight by the same dev
    score; among equal dev scores the one nearest ``base``'s weight. The clause weight stays ``base``'s.
    ``weights`` holds ``base``'s own weight (new offsets only) and 1 (the e5 layers alone for news).
    """
    w_base = float(base["weight"])  # type: ignore[arg-type]
    c = float(base["clause_weight"])  # type: ignore[arg-type]
    bias = torch.tensor(base["bias"], dtype=torch.float32)
    rows: list[dict[str, object]] = []
    for wn in weights:
        mask = news["dev"]
        dev_score, (bn, bp) = _offsets(
            _mixed(cache["dev"], torch.where(mask, wn, w_base), c, mirror_weight), parts["dev"], mask, bias
        )
        news_bias = torch.tensor([bn, 0.0, bp])
        figures: dict[str, float] = {"dev/worst_f_pn_macro": round(dev_score, 4)}
        for name, examples in parts.items():
            if name == "dev":
                continue
            m = news[name]
            scores = _mixed(cache[name], torch.where(m, wn, w_base), c, mirror_weight)
            scores = scores + torch.where(m.unsqueeze(-1), news_bias, bias)
            figures.update(_figures(name, examples, scores))
        figures["worst_split_f_pn_macro"] = worst(figures)
        kept = {k: base[k] for k in ("weight", "clause_weight", "bias")}
        rows.append({**kept, "news_weight": wn, "news_bias": [bn, 0.0, bp], **figures})
    best = max(rows, key=lambda r: (r["dev/worst_f_pn_macro"], -abs(float(r["news_weight"]) - w_base)))  # type: ignore[arg-type]
    return best, rows


def evaluation_parts(datasets: Path) -> dict[str, list[Example]]:
    """Every set a model is chosen and judged on: dev, the comparison sets and the validation splits."""
    data = validation_data(datasets)
    return {
        "dev": data.dev,
        "comparison": load_comparison(),
        "comparison_heldout": load_comparison(HELDOUT_SET),
        "comparison_fresh": load_comparison(FRESH_SET),
        "comparison_generated": load_comparison(DEV_SET),
        **data.splits,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--e5", type=Path, required=True, help="trained e5 model directory")
    parser.add_argument("--cache", type=Path, required=True, help="file for the logits (reused if there)")
    parser.add_argument("--precision", default="int8", help="float32, bfloat16, int8 or auto")
    parser.add_argument("--write", type=Path, default=None, help="model directory to store the choice in")
    parser.add_argument("--version", default=None, help="with --write: the version id to give the model")
    parser.add_argument(
        "--register",
        action="store_true",
        help="also choose a second weight and offsets for the pairs read as news (sentiment/register.py)",
    )
    parser.add_argument(
        "--register-threshold",
        type=float,
        default=0.0,
        help="with --register: read as news above this news_score (0: the shipped rule; not stored)",
    )
    args = parser.parse_args(argv)
    if args.write is not None and args.register_threshold != 0.0:
        parser.error("--register-threshold is for comparison only: the model reads news at 0")
    set_threads()
    parts = evaluation_parts(args.datasets)
    cache: dict[str, dict[str, torch.Tensor]] = torch.load(args.cache) if args.cache.is_file() else {}
    if any(name not in cache for name in parts):
        fast = FastSentimentModel.load(FAST_DIR)
        model = E5SentimentModel.load(args.e5, fast, precision=args.precision)
        cache = _cache(model, parts, cache)
        torch.save(cache, args.cache)
    meta = E5Meta.from_json(json.loads((args.e5 / "meta.json").read_text(encoding="utf-8")))
    for name, examples in parts.items():  # the model's stance prior, from the texts (no model run)
        cache[name]["stance"] = stance_prior(as_inputs(examples), meta.stance_weight)
    best, rows = choose(cache, parts, mirror_weight=meta.mirror_weight)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False), flush=True)  # noqa: T201
    print("chosen on dev: " + json.dumps(best, ensure_ascii=False), flush=True)  # noqa: T201
    if args.register:
        news = news_masks(parts, args.register_threshold)
        print("read as news: " + json.dumps(register_share(parts, news)), flush=True)  # noqa: T201
        best, rows = choose_register(cache, parts, best, news, mirror_weight=meta.mirror_weight)
        for row in rows:
            print(json.dumps(row, ensure_ascii=False), flush=True)  # noqa: T201
        print("chosen on dev for news: " + json.dumps(best, ensure_ascii=False), flush=True)  # noqa: T201
    if args.write is not None:
        write_choice(args.write / "meta.json", best, args.precision, args.version)


_BLEND_KEYS = ("weight", "clause_weight", "bias", "news_weight", "news_bias")
_CHOICE_NOTES = ("research/choose.py", "research/cascade.py")  # notes of choices made on a blend


def write_choice(meta_path: Path, best: dict[str, object], precision: str, version: str | None) -> None:
    """Store the chosen blend and its figures in a model's meta.json.

    Without a choice for news (no ``--register``) the news keys are removed, so a model never keeps a
    register blend chosen for other layers or other offsets: a missing key reads every pair alike. The
    confidence cascade's margin (``cascade_margin``) is removed for the same reason: it was chosen against
    the blend it replaces; ``python -m research.cascade`` measures it again for the new one.
    """
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    metrics = {k: v for k, v in best.items() if k not in _BLEND_KEYS}
    meta.update(weight=best["weight"], clause_weight=best["clause_weight"], bias=best["bias"])
    note = (
        f"blend weight {best['weight']}, offsets {best['bias']} and clause weight "
        f"{best['clause_weight']} chosen on the validation dev set (research/choose.py)"
    )
    if "news_weight" in best:
        meta.update(news_weight=best["news_weight"], news_bias=best["news_bias"])
        note += (
            f"; for pairs read as news (sentiment/register.py) weight {best['news_weight']} and offsets "
            f"{best['news_bias']}, chosen on the same dev set"
        )
    else:
        meta.pop("news_weight", None)
        meta.pop("news_bias", None)
    meta["model_id"] = "loyalty-monitor/e5"  # the default's id: stored labels name it
    if version:
        meta["version"] = version
    meta.pop("cascade_margin", None)
    kept = [t for t in meta.get("trained_on", []) if not any(r in t for r in _CHOICE_NOTES)]
    meta["trained_on"] = [*kept, note]
    meta["metrics"] = metrics
    meta.setdefault("recipe", {})["metrics_precision"] = f"{precision} (research/choose.py)"
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
