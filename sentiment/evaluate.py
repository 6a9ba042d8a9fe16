"""Scores of any sentiment model on the public test splits: ``python -m sentiment.evaluate``.

The splits are the ones the shipped model's figures are reported on: RuSentiment and RuSentiTweet test
(five classes mapped to three) and the time-ordered tail of SentiRuEval-2016 train (last 20% of tweets by
date, per domain), which a model trained with ``--holdout`` never saw. Brand splits report F_PN-macro,
macro-F1 and the accuracy on (tweet, entity) pairs of tweets naming more than one entity.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sentiment.registry import load_model
from sentiment.train import evaluate_fast, load_corpora

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Print a JSON object of scores for ``--model`` on the test splits under ``--datasets``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="shipped")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args(argv)
    model = load_model(args.model, model_dir=args.model_dir)
    tests = load_corpora(args.datasets, holdout=True).tests
    scores = evaluate_fast(model, tests)
    print(json.dumps({"model": model.model_id, "version": model.version, **scores}, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
