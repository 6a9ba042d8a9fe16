"""Validation splits: nothing a split scores is in the training part."""

from __future__ import annotations

import re

import pytest

from sentiment.corpora import HELD_OUT_BRANDS, validation_data
from sentiment.data import Example
from sentiment.synthetic import comparison_examples, frame_examples, switch_examples
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


def test_frame_examples_label_every_brand_of_a_text() -> None:
    ex = frame_examples(600, seed=5)
    assert len(ex) == 600 and ex == frame_examples(600, seed=5)
    texts: dict[str, list[Example]] = {}
    for e in ex:
        texts.setdefault(e.group, []).append(e)
    assert {len(v) for v in texts.values()} <= {1, 2, 3}  # the last text may be cut by ``n``
    for pairs in texts.values():
        assert len({e.text for e in pairs}) == 1
        for e in pairs:
            assert e.target not in e.other_brands
            assert all(o.target in e.other_brands for o in pairs if o is not e)
    assert {e.label for e in ex} == {"negative", "neutral", "positive"}
    # a switch told in one clause: the brand left is the negative one
    left = [
        e
        for e in ex
        if e.text.lower().startswith(("ушел из", "перешел из"))
        and not any(cue in e.text for cue in ("пожалел:", "тот же"))
    ]
    assert left and all(
        e.label == "negative"
        for e in left
        if e.text.lower().index(str(e.target).lower()) < e.text.index(" в ")
    )


def test_the_fresh_comparison_set_is_apart_from_every_training_template() -> None:
    """comparison_fresh.jsonl measures generalisation only if no template produces its posts or frames."""
    from research.choose import FRESH_SET
    from research.validate import load_comparison

    fresh = load_comparison(FRESH_SET)
    assert len(fresh) == 40 and len({e.group for e in fresh}) == 20
    synthetic = frame_examples(3000, 1) + comparison_examples(3000, 1) + switch_examples(3000, 1)
    brands = {e.target.lower() for e in synthetic if e.target}
    assert not brands & {str(e.target).lower() for e in fresh}
    texts = {e.text.lower() for e in synthetic}
    for cue in (
        "в пользу",
        "вместо",
        "слава богу",
        "нет уж",
        "если бы не",
        "обогнал",
        "держусь",
        "спасибо {} и",
    ):
        assert not any(re.search(cue.replace("{}", r"\S+"), t) for t in texts), cue
    assert not any(re.match(r"ни [^,]+, ни ", t) for t in texts)
