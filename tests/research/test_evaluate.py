"""The demo-agreement score of ``python -m research.evaluate --demo``."""

from __future__ import annotations

from collections.abc import Sequence

from research.evaluate import demo_scores
from sentiment.base import SentimentInput, SentimentResult


class _Keyword:
    """Negative when the text says "сбой", positive otherwise: enough to check the bookkeeping."""

    model_id = "test/keyword"
    version = "1"

    def __init__(self) -> None:
        self.seen: list[SentimentInput] = []

    def predict(self, items: Sequence[SentimentInput]) -> list[SentimentResult]:
        self.seen.extend(items)
        return [
            SentimentResult("negative" if "сбо" in i.text.lower() else "positive", 1.0, self.model_id, "1")
            for i in items
        ]


def test_demo_scores_count_every_brand_pair_with_its_aliases() -> None:
    model = _Keyword()
    scores = demo_scores(model)  # type: ignore[arg-type]
    n = scores["demo/pairs"]
    assert n == len(model.seen) > 5000
    matrix = scores["demo/confusion (rows gold, columns predicted: negative, neutral, positive)"]
    assert isinstance(matrix, list)
    assert sum(map(sum, matrix)) == n
    assert all(row[1] == 0 for row in matrix)  # the keyword model never says neutral
    correct = matrix[0][0] + matrix[2][2]
    assert scores["demo/accuracy"] == round(correct / n, 4)
    assert all(item.target and item.aliases for item in model.seen)  # demo brands come with their aliases
