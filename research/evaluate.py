"""Scores of any sentiment model on the public test splits and the demo stream: an experiment runner.

    python -m research.evaluate --model fast --datasets ../shared/datasets [--demo]

The splits are the ones the fast model's figures are reported on: RuSentiment and RuSentiTweet test
(five classes mapped to three) and the time-ordered tail of SentiRuEval-2016 train (last 20% of tweets by
date, per domain). ``--demo`` adds the demo stream's (text, brand) pairs with the labels their templates
were written with (``raw["demo_labels"]``): the project wrote them, so they show what a reader of the demo
dashboard sees rather than how the model fares on real posts. For the validation splits the default
model is chosen on, use ``python -m research.validate``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sentiment.base import SentimentInput, SentimentModel
from sentiment.metrics import confusion, f_pn_macro, macro_f1
from sentiment.registry import load_model
from sentiment.train import evaluate_fast, load_corpora

__all__ = ["demo_scores", "main"]


def demo_scores(model: SentimentModel) -> dict[str, object]:
    """Agreement with the demo stream's written labels per (mention, brand) pair, and the confusion."""
    from core.mention import Mention
    from core.synthetic import BRANDS
    from loyalty_monitor.demo import generate_history, generate_live

    aliases = {b.name: tuple(b.aliases) for b in BRANDS}
    events = [*generate_history(), *generate_live()]  # the stream's fixed default dates
    pairs = []
    for e in events:
        if not isinstance(e, Mention):
            continue
        labels = e.raw["demo_labels"]
        for brand, label in labels.items():
            others = tuple(n for b in labels if b != brand for n in (b, *aliases.get(b, ())))
            pairs.append((SentimentInput(e.text, brand, aliases.get(brand, ()), others), label))
    gold = [label for _, label in pairs]
    pred = [r.label for r in model.predict([item for item, _ in pairs])]
    return {
        "demo/pairs": len(pairs),
        "demo/accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / len(pairs), 4),
        "demo/macro_f1": round(macro_f1(gold, pred), 4),
        "demo/f_pn_macro": round(f_pn_macro(gold, pred), 4),
        "demo/confusion (rows gold, columns predicted: negative, neutral, positive)": confusion(gold, pred),
    }


def main(argv: list[str] | None = None) -> None:
    """Print a JSON object of scores for ``--model`` on the test splits under ``--datasets``."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="fast")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--demo", action="store_true", help="also score the demo stream's written labels")
    args = parser.parse_args(argv)
    model = load_model(args.model, model_dir=args.model_dir)
    tests = load_corpora(args.datasets, holdout=True).tests
    scores: dict[str, object] = {**evaluate_fast(model, tests)}
    if args.demo:
        scores.update(demo_scores(model))
    print(json.dumps({"model": model.model_id, "version": model.version, **scores}, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
