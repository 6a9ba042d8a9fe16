"""What a confidence cascade would cost: skip the e5 read where the fast model is sure.

    python -m research.cascade --cache /work/runs/blend-e5-mask-int8.pt [--meta sentiment/e5_model/meta.json]

The default reads every targeted pair with the e5 layers (86% of its time) and the fast model. A
cascade would give a pair the fast model's own label, and skip e5, when the fast model's probability
margin (its top class minus the runner-up, with its own offsets) is above a threshold and the post names
no competitor (a comparison post needs the clause reading, which needs e5). From the logits in a
:mod:`research.choose` cache (fast and e5 per pair), this prints for each threshold and each part the
share of pairs skipped, the labels that change against the default and the F_PN change, plus the share
skipped on the speed benchmark's generated pairs (``generate`` in ``bench/sentiment_speed.py``). A threshold
would be chosen on dev alone; the splits only show what it would do.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import torch

from research.choose import _figures, _mixed, evaluation_parts, f_pn_fast, news_masks
from sentiment.base import LABELS, SentimentInput
from sentiment.e5 import E5Meta
from sentiment.fast import FastSentimentModel, set_threads
from sentiment.registry import E5_DIR, FAST_DIR

__all__ = ["THRESHOLDS", "default_scores", "main", "margins"]

_BENCH = Path(__file__).parent.parent / "bench" / "sentiment_speed.py"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)


def margins(fast_own: torch.Tensor) -> torch.Tensor:
    """The fast model's probability margin per row: top class minus the runner-up (its own offsets)."""
    top2 = torch.softmax(fast_own, -1).topk(2, -1).values
    return top2[:, 0] - top2[:, 1]


def default_scores(entry: dict[str, torch.Tensor], meta: E5Meta, news: torch.Tensor) -> torch.Tensor:
    """The default's scores as ``meta`` blends them (the register's news blend where meta has one)."""
    if meta.news_weight is None:
        return _mixed(entry, meta.weight, meta.clause_weight) + torch.tensor(meta.bias)
    w = torch.where(news, float(meta.news_weight), float(meta.weight))
    bias = torch.where(news.unsqueeze(-1), torch.tensor(meta.news_bias or meta.bias), torch.tensor(meta.bias))
    return _mixed(entry, w, meta.clause_weight) + bias


def _bench_share(fast: FastSentimentModel, n: int) -> dict[float, float]:
    """Share of the speed benchmark's generated pairs a cascade would skip, per threshold."""
    spec = importlib.util.spec_from_file_location("sentiment_speed", _BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    items = [SentimentInput(t, b, (), o) for t, b, o in bench.generate(n)]
    m = margins(fast.logits(items))
    alone = torch.tensor([not it.other_brands for it in items])
    return {t: round(float(((m > t) & alone).float().mean()), 4) for t in THRESHOLDS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--cache", type=Path, required=True, help="a research.choose cache")
    parser.add_argument("--meta", type=Path, default=E5_DIR / "meta.json", help="the blend to compare with")
    parser.add_argument("--bench", type=int, default=2000, help="generated bench pairs to count skips on")
    args = parser.parse_args(argv)
    set_threads()
    meta = E5Meta.from_json(json.loads(args.meta.read_text(encoding="utf-8")))
    cache: dict[str, dict[str, torch.Tensor]] = torch.load(args.cache)
    parts = evaluation_parts(args.datasets)
    fast = FastSentimentModel.load(FAST_DIR)
    own_bias = fast._bias[1]
    news = news_masks(parts)
    bench = _bench_share(fast, args.bench)
    for t in THRESHOLDS:
        row: dict[str, object] = {"threshold": t, "bench/skipped": bench[t]}
        for name, examples in parts.items():
            entry = cache[name]
            full = default_scores(entry, meta, news[name])
            own = entry["fast"] + own_bias  # log-softmax is shift-free: the fast model's own scores
            alone = torch.tensor([not e.other_brands for e in examples], dtype=torch.bool)
            skip = (margins(own) > t) & alone
            cascade = torch.where(skip.unsqueeze(-1), own, full)
            row[f"{name}/skipped"] = round(float(skip.float().mean()), 4)
            row[f"{name}/labels_changed"] = int((cascade.argmax(-1) != full.argmax(-1)).sum())
            if name == "dev":
                gold = torch.tensor([LABELS.index(e.label) for e in examples])
                for part, is_news in (("tweets", False), ("news", True)):
                    sel = torch.tensor([e.source.startswith("rusentne") == is_news for e in examples])
                    before = float(f_pn_fast(gold[sel], full.argmax(-1)[sel]))
                    after = float(f_pn_fast(gold[sel], cascade.argmax(-1)[sel]))
                    row[f"dev_{part}/f_pn_change"] = round(after - before, 4)
                continue
            before_f, after_f = _figures(name, examples, full), _figures(name, examples, cascade)
            for key, value in after_f.items():
                if key.endswith(("f_pn_macro", "pairs_right", "one_polar_label")):
                    row[key + "_change"] = round(value - before_f[key], 4)
        print(json.dumps(row, ensure_ascii=False), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
