"""Validation splits: nothing a split scores is in the training part."""

from __future__ import annotations

import pytest

from sentiment.corpora import HELD_OUT_BRANDS, validation_data
from sentiment.synthetic import comparison_examples
from tests.sentiment.datasets import DATASETS


@pytest.mark.slow  # reads every corpus: ~30 s
@pytest.mark.skipif(not (DATASETS / "rusentne2023").is_dir(), reason="public datasets not available")
def test_validation_splits_do_not_leak_into_training() -> None:
    data = validation_data(DATASETS)
    train_groups = {e.group for e in data.train} | {e.group for e in data.dev}
    for name, split in data.splits.items():
        assert split, name
        assert not train_groups & {e.group for e in split}, name  # no tweet or sentence on both sides
    held = {b for brands in HELD_OUT_BRANDS.values() for b in brands}
    assert not any(e.target in held for e in data.train + data.dev)
    assert {e.target for e in data.splits["brands_left_out_banks"]} == set(HELD_OUT_BRANDS["banks"])
    for name in ("banks", "telecom"):
        last = max(e.date for e in data.train if e.source == name)
        assert last <= min(e.date for e in data.splits[f"later_{name}"])
    news = data.splits["news"]
    assert all(e.source.startswith("rusentne2023/") for e in news)
    assert any(e.other_brands for e in news)  # the sentence's other entities are its competitors


def test_comparison_examples_label_both_brands_of_a_text() -> None:
    ex = comparison_examples(400, seed=5)
    assert ex == comparison_examples(400, seed=5)
    for a, b in zip(ex[::2], ex[1::2], strict=True):
        assert a.text == b.text and a.group == b.group and a.target != b.target
        assert a.target in b.other_brands and b.target in a.other_brands
    assert {e.label for e in ex} == {"negative", "neutral", "positive"}
