"""Score sentiment models on every validation split and the hand-written comparison set.

    python -m research.validate --model default --model fast --model e5 [--datasets ../shared/datasets]

For each model: F_PN-macro on later tweets (banks, telecom), brands left out of training (banks, telecom),
held-out news sentences (all, organisations, persons), and the comparison set
(``research/data/comparison_invented.jsonl``: invented brands, given as target + aliases + other_brands);
``worst`` is the lowest F_PN of the five data splits, which is what recipes are chosen on. Old models may
have been trained on some of these splits (the shipped fast model saw the brands held out here): the
runner scores whatever it is given, so read their figures with that in mind.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sentiment.corpora import validation_data
from sentiment.data import Example
from sentiment.evaluate import comparison_scores, split_scores
from sentiment.registry import load_model

__all__ = ["COMPARISON_SET", "load_comparison", "main", "worst"]

COMPARISON_SET = Path(__file__).parent / "data" / "comparison_invented.jsonl"
_SPLITS = ("later_banks", "later_telecom", "brands_left_out_banks", "brands_left_out_telecom", "news")


def load_comparison(path: Path = COMPARISON_SET) -> list[Example]:
    """The comparison set as examples; ``group`` is the post."""
    out: list[Example] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(
                Example(
                    row["text"],
                    row["label"],
                    row["target"],
                    "comparison",
                    0,
                    2,
                    f"post{row['post']}",
                    tuple(row["aliases"]),
                    tuple(row["other_brands"]),
                )
            )
    return out


def worst(scores: dict[str, float]) -> float:
    """The lowest F_PN-macro over the data splits."""
    return min(scores[f"{name}/f_pn_macro"] for name in _SPLITS if f"{name}/f_pn_macro" in scores)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", action="append", default=None, help="model spec (repeatable)")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args(argv)
    data = validation_data(args.datasets)
    comparison = load_comparison()
    for spec in args.model or ["default"]:
        model = load_model(spec, model_dir=args.model_dir)
        scores: dict[str, object] = {"model": spec, "version": model.version}
        figures = split_scores(model, data.splits)
        scores.update(figures)
        scores["worst_split_f_pn_macro"] = worst(figures)
        scores.update({f"comparison/{k}": v for k, v in comparison_scores(model, comparison).items()})
        print(json.dumps(scores, ensure_ascii=False, indent=2), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
