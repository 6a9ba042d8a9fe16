"""What the confidence cascade costs: skip the e5 read where the fast model is sure.

    python -m research.cascade --cache /work/runs/distil-L7-int8.pt [--meta sentiment/e5_model/meta.json]
    python -m research.cascade --cache ... --write DIR [--version V]   # store dev's margin in DIR/meta.json
    python -m research.cascade --cache ... --read-news      # the rule of round sixteen: news skipped too
    python -m research.cascade --agreement [--model default] [--margin 0.8]

The default reads every targeted pair with the e5 layers (86% of its time) and the fast model. The
cascade (``cascade_margin`` in the model's meta.json, :func:`sentiment.e5.cascade_skips`) gives a pair
the fast model's own label, and skips e5, when the fast model's probability margin (its top class minus
the runner-up, with its own offsets) is above a threshold, the post names no competitor (a comparison
post needs the clause reading, which needs e5) and the text does not read as news (the fast model reads
news far worse). From the logits in a :mod:`research.choose` cache (fast and e5 per pair), this prints
for each threshold and each part the share of pairs skipped, the labels that change against the
un-cascaded model and the F_PN change, plus the share skipped on the speed benchmark's generated pairs
(``generate`` in ``bench/sentiment_speed.py``). The margin is chosen on dev alone (:func:`choose_margin`:
the lowest that moves neither of dev's parts by more than 0.003 F_PN); the splits only show what it does.

The cache scores every pair in one int8 call sequence. The model itself leaves the skipped pairs out of
the e5 batches, and int8 scales activations per call, so the pairs it still reads can move slightly.
``--agreement`` measures that on the real model: every part (and the generated bench pairs) labelled by
the model with and without its cascade, each part in one ``predict``-sized call as
``research.validate`` makes it; it prints the labels that differ, those among pairs read by e5 in both
(the batch effect alone), and each F_PN before and after.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
from pathlib import Path

import torch

from research.choose import _figures, _mixed, evaluation_parts, f_pn_fast, news_masks
from sentiment.base import LABELS, SentimentInput
from sentiment.corpora import as_inputs
from sentiment.data import Example
from sentiment.e5 import E5Meta, E5SentimentModel, cascade_skips, stance_prior
from sentiment.fast import FastSentimentModel, set_threads
from sentiment.registry import E5_DIR, FAST_DIR, load_model

__all__ = [
    "DEV_TOLERANCE",
    "THRESHOLDS",
    "agreement",
    "bench_items",
    "choose_margin",
    "default_scores",
    "main",
    "margins",
    "write_margin",
]

_BENCH = Path(__file__).parent.parent / "bench" / "sentiment_speed.py"
THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)
DEV_TOLERANCE = 0.003  # the most F_PN the cascade may move either of dev's parts by


def margins(fast_own: torch.Tensor) -> torch.Tensor:
    """The fast model's probability margin per row: top class minus the runner-up (its own offsets)."""
    top2 = torch.softmax(fast_own, -1).topk(2, -1).values
    return top2[:, 0] - top2[:, 1]


def default_scores(entry: dict[str, torch.Tensor], meta: E5Meta, news: torch.Tensor) -> torch.Tensor:
    """The default's scores as ``meta`` blends them (the register's news blend where meta has one)."""
    if meta.news_weight is None:
        return _mixed(entry, meta.weight, meta.clause_weight, meta.mirror_weight) + torch.tensor(meta.bias)
    w = torch.where(news, float(meta.news_weight), float(meta.weight))
    bias = torch.where(news.unsqueeze(-1), torch.tensor(meta.news_bias or meta.bias), torch.tensor(meta.bias))
    return _mixed(entry, w, meta.clause_weight, meta.mirror_weight) + bias


def bench_items(n: int) -> list[SentimentInput]:
    """The speed benchmark's ``n`` generated pairs, competitors passed as the pipeline passes them."""
    spec = importlib.util.spec_from_file_location("sentiment_speed", _BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return [SentimentInput(t, b, (), o) for t, b, o in bench.generate(n)]


def _skips(items: list[SentimentInput], own: torch.Tensor, t: float, read_news: bool) -> torch.Tensor:
    """The cascade's skips at threshold ``t`` (``read_news``: the round-sixteen rule, news not excepted)."""
    if read_news:
        alone = torch.tensor([not it.other_brands for it in items], dtype=torch.bool)
        return (margins(own) > t) & alone
    return torch.tensor(cascade_skips(items, own, t), dtype=torch.bool)


def _bench_share(fast: FastSentimentModel, n: int, read_news: bool) -> dict[float, float]:
    """Share of the speed benchmark's generated pairs the cascade skips, per threshold."""
    items = bench_items(n)
    own = fast.logits(items)
    return {t: round(float(_skips(items, own, t, read_news).float().mean()), 4) for t in THRESHOLDS}


def from_cache(args: argparse.Namespace) -> None:
    """Every threshold on every part, from the logits in a research.choose cache."""
    meta = E5Meta.from_json(json.loads(args.meta.read_text(encoding="utf-8")))
    cache: dict[str, dict[str, torch.Tensor]] = torch.load(args.cache)
    parts = evaluation_parts(args.datasets)
    missing = [name for name in parts if name not in cache]
    if missing:
        raise SystemExit(
            f"{args.cache}: no logits for {', '.join(missing)}; "
            f"`python -m research.choose --e5 DIR --cache {args.cache}` adds them"
        )
    fast = FastSentimentModel.load(FAST_DIR)
    own_bias = fast._bias[1]
    news = news_masks(parts)
    inputs = {name: as_inputs(examples) for name, examples in parts.items()}
    for name in parts:  # the model's stance prior, from the texts (as research.choose adds it)
        cache[name]["stance"] = stance_prior(inputs[name], meta.stance_weight)
    bench = _bench_share(fast, args.bench, args.read_news)
    rows: list[dict[str, object]] = []
    for t in THRESHOLDS:
        row: dict[str, object] = {"threshold": t, "bench/skipped": bench[t]}
        for name, examples in parts.items():
            entry = cache[name]
            full = default_scores(entry, meta, news[name])
            own = entry["fast"] + own_bias  # log-softmax is shift-free: the fast model's own scores
            skip = _skips(inputs[name], own, t, args.read_news)
            cascade = torch.where(skip.unsqueeze(-1), own, full)
            row[f"{name}/skipped"] = round(float(skip.float().mean()), 4)
            row[f"{name}/labels_changed"] = int((cascade.argmax(-1) != full.argmax(-1)).sum())
            row.update(_changes(name, examples, full, cascade))
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)  # noqa: T201
    margin = choose_margin(rows)
    print(f"chosen on dev: {margin}", flush=True)  # noqa: T201
    if args.write is not None:
        if margin is None:
            raise SystemExit("no margin keeps dev within the tolerance: nothing written")
        write_margin(args.write / "meta.json", margin, args.version)


def choose_margin(rows: list[dict[str, object]], tolerance: float = DEV_TOLERANCE) -> float | None:
    """The lowest margin whose rows leave dev's tweets and dev's news both within ``tolerance`` F_PN
    (None when none does): dev alone decides, the splits only show what the choice does."""
    ok = [
        float(str(r["threshold"]))
        for r in rows
        if all(abs(float(str(r[f"dev_{part}/f_pn_change"]))) <= tolerance for part in ("tweets", "news"))
    ]
    return min(ok) if ok else None


def write_margin(meta_path: Path, margin: float, version: str | None) -> None:
    """Store ``margin`` as the model's ``cascade_margin`` (and ``version`` when given) in its meta.json,
    with a note in ``trained_on`` (replacing an earlier cascade note)."""
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["cascade_margin"] = margin
    if version:
        meta["version"] = version
    note = (
        f"confidence cascade at margin {margin} (pairs naming no competitor and not read as news, on which "
        "the fast model's probability margin is above it, take the fast model's label) chosen on the "
        "validation dev set (research/cascade.py)"
    )
    kept = [t for t in meta.get("trained_on", []) if "research/cascade.py" not in t]
    meta["trained_on"] = [*kept, note]
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _changes(
    name: str, examples: list[Example], before: torch.Tensor, after: torch.Tensor
) -> dict[str, float]:
    """The change of each figure of a part from scores ``before`` to ``after`` (dev: its tweets and its
    news apart, the two parts dev chooses on)."""
    out: dict[str, float] = {}
    if name == "dev":
        gold = torch.tensor([LABELS.index(e.label) for e in examples])
        for part, is_news in (("tweets", False), ("news", True)):
            sel = torch.tensor([e.source.startswith("rusentne") == is_news for e in examples])
            was = float(f_pn_fast(gold[sel], before.argmax(-1)[sel]))
            now = float(f_pn_fast(gold[sel], after.argmax(-1)[sel]))
            out[f"dev_{part}/f_pn_change"] = round(now - was, 4)
        return out
    before_f, after_f = _figures(name, examples, before), _figures(name, examples, after)
    for key, value in after_f.items():
        if key.endswith(("f_pn_macro", "pairs_right", "one_polar_label")):
            out[key + "_change"] = round(value - before_f[key], 4)
    return out


def agreement(
    model: E5SentimentModel, items: list[SentimentInput], margin: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(scores without the cascade, scores with it at ``margin``, which items it skipped), both in one
    ``logits`` call over ``items`` as ``predict`` makes it; ``model.meta`` is left as it was."""
    meta = model.meta
    try:
        model.meta = dataclasses.replace(meta, cascade_margin=None)
        before = model.logits(items)
        model.meta = dataclasses.replace(meta, cascade_margin=margin)
        after = model.logits(items)
    finally:
        model.meta = meta
    targeted = [i for i, it in enumerate(items) if it.target]
    skipped = torch.zeros(len(items), dtype=torch.bool)
    if targeted:
        chosen = [items[i] for i in targeted]
        skipped[targeted] = torch.tensor(cascade_skips(chosen, model.fast.logits(chosen), margin))
    return before, after, skipped


def measure_agreement(args: argparse.Namespace) -> None:
    """The real model with and without its cascade on every part and on the bench's generated pairs."""
    model = load_model(args.model)
    if not isinstance(model, E5SentimentModel):
        raise SystemExit(f"{args.model}: not an e5 model, it has no cascade")
    margin = args.margin if args.margin is not None else model.meta.cascade_margin
    if margin is None:
        raise SystemExit(f"{args.model}: its meta.json has no cascade_margin; pass --margin")
    parts: dict[str, list[Example] | None] = {**evaluation_parts(args.datasets), "bench": None}
    for name, examples in parts.items():
        items = bench_items(args.bench) if examples is None else as_inputs(examples)
        before, after, skipped = agreement(model, items, margin)
        changed = before.argmax(-1) != after.argmax(-1)
        row: dict[str, object] = {
            "part": name,
            "margin": margin,
            "pairs": len(items),
            "skipped": round(float(skipped.float().mean()), 4),
            "labels_changed": int(changed.sum()),
            # pairs read by e5 both times: only the batch composition differs (int8 scales per call)
            "labels_changed_among_read": int((changed & ~skipped).sum()),
            "max_score_shift_among_read": round(float((after - before)[~skipped].abs().max()), 4)
            if bool((~skipped).any())
            else 0.0,
        }
        if examples is not None:
            row.update(_changes(name, examples, before, after))
        print(json.dumps(row, ensure_ascii=False), flush=True)  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--cache", type=Path, default=None, help="a research.choose cache")
    parser.add_argument("--meta", type=Path, default=E5_DIR / "meta.json", help="the blend to compare with")
    parser.add_argument("--bench", type=int, default=2000, help="generated bench pairs to count skips on")
    parser.add_argument(
        "--read-news",
        action="store_true",
        help="with --cache: skip pairs read as news too (round sixteen's rule), for comparison",
    )
    parser.add_argument(
        "--agreement",
        action="store_true",
        help="label every part with the model with and without its cascade (the real batches)",
    )
    parser.add_argument("--write", type=Path, default=None, help="with --cache: store dev's margin in DIR")
    parser.add_argument("--version", default=None, help="with --write: the version id to give the model")
    parser.add_argument("--model", default="default", help="with --agreement: the model spec")
    parser.add_argument("--margin", type=float, default=None, help="with --agreement: instead of meta's")
    args = parser.parse_args(argv)
    if args.agreement == (args.cache is not None):
        parser.error("give either --cache (the threshold table) or --agreement (the real model)")
    if args.write is not None and (args.agreement or args.read_news):
        parser.error("--write stores the rule the model runs: with --cache, without --read-news")
    set_threads()
    if args.agreement:
        measure_agreement(args)
    else:
        from_cache(args)


if __name__ == "__main__":
    main()
