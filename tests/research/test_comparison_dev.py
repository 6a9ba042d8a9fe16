"""The generated comparison dev set: reproducible, well formed, and apart from the training generators."""

from __future__ import annotations

import json

from research.comparison_dev import DEV_SET, FRAMES, FRAMES_MORE, MORE_SET, generate
from research.validate import load_comparison
from sentiment.synthetic import comparison_examples, frame_examples, switch_examples
from sentiment.text import TokenRole, locate, tokenize


def test_the_committed_dev_set_is_what_the_generator_writes() -> None:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    assert rows == generate()
    assert generate(40, seed=2) == generate(40, seed=2) != generate(40, seed=3)
    more = [json.loads(line) for line in MORE_SET.read_text(encoding="utf-8").splitlines()]
    assert more == generate(96, 17, FRAMES_MORE, 3000)


def test_the_second_set_has_frames_of_its_own() -> None:
    assert not set(FRAMES) & set(FRAMES_MORE)
    rows = load_comparison(MORE_SET)
    assert len({e.group for e in rows}) == 96 >= len(FRAMES_MORE)
    for e in rows:
        roles = locate(tokenize(e.text), e.target, e.aliases, e.other_brands)
        assert TokenRole.TARGET in roles and TokenRole.OTHER_BRAND in roles, (e.text, e.target)


def test_every_frame_is_used_and_every_brand_is_found() -> None:
    rows = load_comparison(DEV_SET)
    assert len({e.group for e in rows}) == 160 and len(FRAMES) <= 160
    for e in rows:
        roles = locate(tokenize(e.text), e.target, e.aliases, e.other_brands)
        assert TokenRole.TARGET in roles and TokenRole.OTHER_BRAND in roles, (e.text, e.target)


def test_no_training_generator_produces_its_brands_or_texts() -> None:
    dev = load_comparison(DEV_SET) + load_comparison(MORE_SET)
    synthetic = frame_examples(3000, 1) + comparison_examples(3000, 1) + switch_examples(3000, 1)
    assert not {str(e.target).lower() for e in synthetic} & {str(e.target).lower() for e in dev}
    assert not {e.text.lower() for e in synthetic} & {e.text.lower() for e in dev}
