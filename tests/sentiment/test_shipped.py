"""The models shipped in the package (the default and ``fast``): load offline and are target-aware.

The switching checks run on both, with the competitor passed as ``other_brands`` as the pipeline does.
"""

from __future__ import annotations

import pytest
import torch

from sentiment import SentimentInput, SentimentModel, load_model
from sentiment.fast import FastSentimentModel


@pytest.fixture(scope="module")
def shipped() -> FastSentimentModel:
    model = load_model("fast")
    assert isinstance(model, FastSentimentModel)
    return model


@pytest.fixture(scope="module", params=["default", "fast"])
def either(request: pytest.FixtureRequest) -> SentimentModel:
    return load_model(request.param)


def test_committed_weights_fit_the_budget() -> None:
    """Everything the package ships as model weights (fast + e5 layers) stays within 30 MB."""
    from sentiment.registry import E5_DIR, FAST_DIR

    total = sum(p.stat().st_size for d in (FAST_DIR, E5_DIR) for p in d.iterdir() if p.is_file())
    assert total <= 30_000_000, total


def _pair(text: str, a: str, b: str) -> list[SentimentInput]:
    return [SentimentInput(text, a, other_brands=(b,)), SentimentInput(text, b, other_brands=(a,))]


def test_label_follows_the_target(either: SentimentModel) -> None:
    text = "Сбер ужасный, перешел в Тинькофф и счастлив"
    sber, tinkoff = either.predict(_pair(text, "Сбер", "Тинькофф"))
    assert sber.label == "negative"
    assert tinkoff.label == "positive"


def test_switching_leans_negative_for_the_left_brand(shipped: FastSentimentModel) -> None:
    text = "ушёл из Сбера в Тинькофф, доволен"
    probs = torch.softmax(shipped.logits(_pair(text, "Сбер", "Тинькофф")), -1)
    assert probs[0, 0] > probs[1, 0]  # more negative toward the brand that was left
    assert probs[1, 2] > probs[0, 2]


@pytest.mark.parametrize(
    ("text", "left", "right"),
    [
        ("ушёл из Сбера в Тинькофф, доволен", "Сбер", "Тинькофф"),
        ("перешла с МТС на Билайн, связь стала лучше", "МТС", "Билайн"),
    ],
)
def test_implicit_switching(either: SentimentModel, text: str, left: str, right: str) -> None:
    """The brand left behind is negative, the one switched to positive (taught by synthetic pairs)."""
    a, b = either.predict(_pair(text, left, right))
    assert (a.label, b.label) == ("negative", "positive")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Спасибо большое, всё отлично работает, очень довольна!", "positive"),
        ("Ужасный сервис, третий день нет интернета, верните деньги", "negative"),
        ("Завтра в 10 утра заседание совета директоров", "neutral"),
    ],
)
def test_obvious_cases(either: SentimentModel, text: str, label: str) -> None:
    assert either.predict([SentimentInput(text)])[0].label == label


def test_metadata(shipped: FastSentimentModel) -> None:
    assert shipped.model_id == "loyalty-monitor/fast"
    assert shipped.version.startswith(("default-", "fast-"))
