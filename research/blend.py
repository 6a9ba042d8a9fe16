"""Choose the blend of the e5 layers with a fast model on the validation splits' worst case.

    python -m research.blend --e5 sentiment/e5_model --fast sentiment/fast_model --cache /tmp/e5-logits.pt
    python -m research.blend ... --write sentiment/e5_model     # store the chosen blend in meta.json

Targeted items are scored ``(1 - w) · log p_fast + w · log p_e5 + offsets``. For each ``w`` the
negative/positive offsets are chosen on the validation dev set (the worse of its tweets and its news), and
the weight kept is the one whose *worst* validation split is best; the comparison set is reported beside
it. The e5 logits (the slow part) are cached, so trying another fast model costs seconds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from research.validate import load_comparison
from sentiment.base import LABELS
from sentiment.corpora import as_inputs, validation_data
from sentiment.e5 import E5SentimentModel
from sentiment.e5_finetune import best_offsets
from sentiment.fast import FastSentimentModel, set_threads
from sentiment.metrics import f_pn_macro

__all__ = ["main"]

_WEIGHTS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 1.0)
_SPLITS = ("later_banks", "later_telecom", "brands_left_out_banks", "brands_left_out_telecom", "news")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--e5", type=Path, required=True)
    parser.add_argument(
        "--fast", type=Path, default=None, help="fast model to blend with (omit: e5 logits only)"
    )
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--write", type=Path, default=None, help="e5 model directory to store the choice in")
    args = parser.parse_args(argv)
    set_threads()
    data = validation_data(args.datasets)
    parts = {"dev": data.dev, **data.splits, "comparison": load_comparison()}
    meta = json.loads((args.e5 / "meta.json").read_text(encoding="utf-8"))
    if args.cache.is_file():
        e5 = torch.load(args.cache)
    else:
        from sentiment.registry import FAST_DIR

        stub = FastSentimentModel.load(FAST_DIR)
        stub.meta.version = meta["fast_version"]  # the layers do not depend on the fast model
        model = E5SentimentModel.load(args.e5, stub, precision="float32")
        e5 = {}
        for name, examples in parts.items():
            e5[name] = torch.log_softmax(model.e5_logits(model.encode(as_inputs(examples))), -1)
            print(f"e5 logits: {name} ({len(examples)})", flush=True)  # noqa: T201
        torch.save(e5, args.cache)
    if args.fast is None:
        return
    fast = FastSentimentModel.load(args.fast)
    raw = {n: torch.log_softmax(fast.logits(as_inputs(ex)) - fast._bias[1], -1) for n, ex in parts.items()}
    best: tuple[float, float, list[float], dict[str, float]] | None = None
    for w in _WEIGHTS:
        mixed = {n: w * e5[n] + (1 - w) * raw[n] for n in parts}
        dev_score, (bn, bp) = best_offsets(mixed["dev"], data.dev)
        shift = torch.tensor([bn, 0.0, bp])
        figures: dict[str, float] = {"dev/worst_f_pn_macro": round(dev_score, 4)}
        for name, examples in parts.items():
            if name == "dev":
                continue
            preds = [LABELS[k] for k in (mixed[name] + shift).argmax(-1).tolist()]
            gold = [e.label for e in examples]
            if name == "comparison":
                figures["comparison/pairs_right"] = sum(p == g for p, g in zip(preds, gold, strict=True))
                posts: dict[str, list[tuple[str, str]]] = {}
                for e, p in zip(examples, preds, strict=True):
                    posts.setdefault(e.group, []).append((e.label, p))
                comparing = [v for v in posts.values() if len({g for g, _ in v}) > 1]
                figures["comparison/comparison_posts_one_polar_label"] = sum(
                    1 for v in comparing if len({p for _, p in v}) == 1 and v[0][1] != "neutral"
                )
                continue
            figures[f"{name}/pairs"] = len(examples)
            figures[f"{name}/f_pn_macro"] = round(f_pn_macro(gold, preds), 4)
            for kind in ("ORGANIZATION", "PERSON"):
                idx = [i for i, e in enumerate(examples) if e.source.endswith("/" + kind)]
                if idx:
                    figures[f"{name}/{kind.lower()}/f_pn_macro"] = round(
                        f_pn_macro([gold[i] for i in idx], [preds[i] for i in idx]), 4
                    )
        low = min(figures[f"{s}/f_pn_macro"] for s in _SPLITS)
        figures["worst_split_f_pn_macro"] = low
        print(json.dumps({"weight": w, "offsets": [bn, bp], **figures}, ensure_ascii=False), flush=True)  # noqa: T201
        if best is None or low > best[0]:
            best = (low, w, [bn, 0.0, bp], figures)
    assert best is not None
    print(f"chosen weight {best[1]} (worst split {best[0]})", flush=True)  # noqa: T201
    if args.write is not None:
        out = json.loads((args.write / "meta.json").read_text(encoding="utf-8"))
        out.update(fast_version=fast.version, weight=best[1], bias=best[2], metrics=best[3])
        (args.write / "meta.json").write_text(
            json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
