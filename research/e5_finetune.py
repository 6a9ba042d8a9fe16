"""Train one e5 recipe on the union of the validation splits' training parts and print its figures.

    nice -n 5 python -m research.e5_finetune --marking mask --out /tmp/e5-mask > /tmp/e5-mask.log 2>&1

The model is trained once (:func:`sentiment.e5_finetune.train_e5` with ``validation=True``) and scored on
every split it never saw and on the hand-written comparison set; recipes are compared on the worst split.
``--weights`` also scores blends with the fast model (``(1 - w) · log p_fast + w · log p_e5``).

``--distil TEACHER_RUN`` trains a ``--layers``-layer student of a trained e5 model instead
(:mod:`research.distil`: soft targets from the teacher's head logits mixed with gold by ``--alpha`` at
``--temperature``, the student started from the teacher's bottom layers unless ``--init base``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from research.validate import load_comparison, worst
from sentiment.evaluate import comparison_scores
from sentiment.registry import FAST_DIR

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    from sentiment.e5_finetune import train_e5
    from sentiment.fast import FastSentimentModel

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--marking", choices=("mask", "names", "target"), default="mask")
    parser.add_argument("--layers", type=int, default=12, help="keep e5's bottom N layers (of 12)")
    parser.add_argument("--top", type=int, default=12, help="trainable top layers (of those kept)")
    parser.add_argument(
        "--news-repeat", type=int, default=1, help="RuSentNE-2023 training pairs K times per epoch"
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--synthetic", type=int, default=3000, help="synthetic comparison pairs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=0, help="synthetic switch/contrast/list pairs")
    parser.add_argument(
        "--no-splits", action="store_true", help="leave the splits to research/choose.py (int8, blended)"
    )
    parser.add_argument("--full", action="store_true", help="also train on the validation splits")
    parser.add_argument("--limit", type=int, default=None, help="pairs per part (a quick check)")
    parser.add_argument("--distil", type=Path, default=None, help="teacher e5 run: train its student")
    parser.add_argument("--alpha", type=float, default=0.5, help="with --distil: the gold share of the loss")
    parser.add_argument("--temperature", type=float, default=2.0, help="with --distil: softmax temperature")
    parser.add_argument("--init", choices=("teacher", "base"), default="teacher", help="with --distil")
    parser.add_argument(
        "--more-comparisons", type=int, default=2000, help="with --distil: comparisons of another seed"
    )
    parser.add_argument("--negated", type=int, default=1000, help="with --distil: negated-praise pairs")
    parser.add_argument("--teacher-precision", default="int8", help="with --distil: the teacher's scoring")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    fast = FastSentimentModel.load(FAST_DIR)
    if args.distil is not None:
        from research.distil import train_distilled

        student = train_distilled(
            args.datasets,
            args.out,
            fast,
            args.distil,
            layers=args.layers,
            alpha=args.alpha,
            temperature=args.temperature,
            init=args.init,
            epochs=args.epochs,
            seed=args.seed,
            synthetic=args.synthetic,
            more_comparisons=args.more_comparisons,
            negated=args.negated,
            news_repeat=args.news_repeat,
            limit=args.limit,
            teacher_precision=args.teacher_precision,
            log=lambda s: print(s, flush=True),  # noqa: T201
        )
        print(json.dumps({"version": student.version, **student.meta.metrics}, indent=2))  # noqa: T201
        return
    model = train_e5(
        args.datasets,
        args.out,
        fast,
        validation=not args.full,
        marking=args.marking,
        top=args.top,
        epochs=args.epochs,
        seed=args.seed,
        synthetic=args.synthetic,
        limit=args.limit,
        frames=args.frames,
        score_splits=not args.no_splits,
        layers=args.layers,
        news_repeat=args.news_repeat,
        log=lambda s: print(s, flush=True),  # noqa: T201
    )
    scores: dict[str, object] = {"version": model.version, **model.meta.recipe, **model.meta.metrics}
    if not args.full and not args.no_splits:
        scores["worst_split_f_pn_macro"] = worst(model.meta.metrics)
    scores.update({f"comparison/{k}": v for k, v in comparison_scores(model, load_comparison()).items()})
    print(json.dumps(scores, ensure_ascii=False, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
