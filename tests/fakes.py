"""Fakes shared by tests: a keyword sentiment model that records what it was asked.

The real models are tested in tests/sentiment; pipeline, storage and CLI tests use this one so they are fast
and their expected labels are obvious from the text.
"""

from __future__ import annotations

from collections.abc import Sequence

from sentiment.base import SentimentInput, SentimentResult

NEGATIVE_WORDS = ("ужас", "списал", "верните", "плохо", "ненавижу", "обман")
POSITIVE_WORDS = ("доволен", "спасибо", "люблю", "отлично", "супер")


class FakeSentimentModel:
    """Negative when a negative keyword is in the text, positive for a positive one, else neutral.

    A clause-level rule makes it target-aware enough for tests: the label comes from the words after the
    target's first mention up to the next comma.
    """

    model_id = "fake"
    version = "1"

    def __init__(self) -> None:
        self.calls: list[list[SentimentInput]] = []

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        self.calls.append(list(items))
        return [self._one(item) for item in items]

    def _one(self, item: SentimentInput) -> SentimentResult:
        text = item.text.lower()
        if " в " in text and "доволен" in text and item.target:
            # "ушёл из X в Y, доволен": negative for X, positive for Y
            _, _, after = text.partition(" в ")
            names = [item.target.lower()[:4], *(a.lower()[:4] for a in item.aliases)]
            in_after = any(n in after for n in names)
            label = "positive" if in_after else "negative"
            return SentimentResult(label, 0.9, self.model_id, self.version)
        if any(w in text for w in NEGATIVE_WORDS):
            return SentimentResult("negative", 0.9, self.model_id, self.version)
        if any(w in text for w in POSITIVE_WORDS):
            return SentimentResult("positive", 0.8, self.model_id, self.version)
        return SentimentResult("neutral", 0.6, self.model_id, self.version)
