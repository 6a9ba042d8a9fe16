from __future__ import annotations

from pathlib import Path

import pytest

from sentiment import SentimentInput, current_version, load_model
from sentiment.data import Example
from sentiment.fast import FastSentimentModel
from sentiment.train import adapt

ITEMS = [
    SentimentInput("ушёл из Сбера в Тинькофф, доволен", "Сбер"),
    SentimentInput("ушёл из Сбера в Тинькофф, доволен", "Тинькофф"),
    SentimentInput("МТС опять без связи весь день((("),
    SentimentInput(""),
    SentimentInput("очень " * 400 + "плохой банк", "банк"),
]


def test_predict_is_deterministic_and_order_independent(tiny_fast: FastSentimentModel) -> None:
    first = tiny_fast.predict(ITEMS, batch_size=2)
    assert len(first) == len(ITEMS)
    assert tiny_fast.predict(ITEMS, batch_size=256) == first
    rev = tiny_fast.predict(ITEMS[::-1], batch_size=3)[::-1]
    assert [r.label for r in rev] == [r.label for r in first]
    assert [r.score for r in rev] == pytest.approx([r.score for r in first], abs=1e-5)
    assert {r.model_version for r in first} == {"tiny-test"}


def test_target_changes_the_input(tiny_fast: FastSentimentModel) -> None:
    a = tiny_fast.logits([ITEMS[0]])
    b = tiny_fast.logits([ITEMS[1]])
    assert not bool((a == b).all())


def test_save_load_roundtrip(tiny_fast: FastSentimentModel, tmp_path: Path) -> None:
    tiny_fast.save(tmp_path / "m")
    loaded = load_model(str(tmp_path / "m"))
    assert loaded.version == "tiny-test"
    got, want = loaded.predict(ITEMS), tiny_fast.predict(ITEMS)
    assert [r.label for r in got] == [r.label for r in want]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_adaptation_writes_a_new_current_version(tiny_fast: FastSentimentModel, tmp_path: Path) -> None:
    examples = [
        Example(f"{w} обслуживание номер {i}", label, None, "team")  # type: ignore[arg-type]
        for i in range(10)
        for w, label in (("отличное", "positive"), ("ужасное", "negative"), ("обычное", "neutral"))
    ]
    model_dir = tmp_path / "models"
    model, path = adapt(tiny_fast, examples, model_dir, epochs=1, log=lambda _: None)
    assert model.version != tiny_fast.version and model.version.startswith("default-")
    assert path == model_dir / model.version and (path / "meta.json").is_file()
    assert current_version(model_dir) == model.version
    assert load_model("default", model_dir=model_dir).version == model.version
    assert load_model(model.version, model_dir=model_dir).version == model.version
    # The same data on the same base names the same version; other data another one.
    again, _ = adapt(tiny_fast, examples, model_dir, epochs=1, log=lambda _: None)
    assert again.version == model.version
    other, _ = adapt(tiny_fast, examples[:-1], model_dir, epochs=1, log=lambda _: None)
    assert other.version != model.version and current_version(model_dir) == other.version


def test_default_without_current_is_the_shipped_model(tmp_path: Path) -> None:
    assert load_model("default", model_dir=tmp_path).version == load_model("shipped").version


def test_current_pointing_nowhere_fails(tmp_path: Path) -> None:
    from sentiment import ModelLoadError

    (tmp_path / "CURRENT").write_text("default-20000101-deadbeef\n")
    with pytest.raises(ModelLoadError, match="default-20000101-deadbeef"):
        load_model("default", model_dir=tmp_path)


def test_soft_targets_pull_toward_the_teacher() -> None:
    """With distill = 1 the labels are ignored for pairs the teacher scored: the net learns the teacher."""
    import torch

    from sentiment.fast import FastConfig, FastMeta, build_net
    from sentiment.train import _fit

    texts = [f"отзыв номер {i} про сбер" for i in range(48)]
    train = [Example(t, "positive", "Сбер", "test") for t in texts]
    soft = {(t, "Сбер"): torch.tensor([1.0, 0.0, 0.0]) for t in texts}  # the teacher says negative

    def trained(distill: float) -> list[str]:
        torch.manual_seed(0)
        cfg = FastConfig(buckets=4096, ngram_dim=8, proj=16, hidden=8, role_dim=4)
        model = FastSentimentModel(build_net(cfg), FastMeta(version="tiny", config=cfg))
        _fit(model, train, [], 4, 1e-2, lambda _: None, 0, batch_size=16, soft=soft, distill=distill)
        return [r.label for r in model.predict([SentimentInput(t, "Сбер") for t in texts[:8]])]

    assert set(trained(0.0)) == {"positive"}
    assert set(trained(1.0)) == {"negative"}


def test_augmented_pairs_learn_from_the_teacher_alone() -> None:
    """An augmented copy carries its source's label as a placeholder; only the teacher's view counts."""
    import torch

    from sentiment.fast import FastConfig, FastMeta, build_net
    from sentiment.train import _fit

    texts = [f"отзыв номер {i} про сбер" for i in range(48)]
    train = [Example(t, "positive", "Сбер", "augmented") for t in texts]
    soft = {(t, "Сбер"): torch.tensor([1.0, 0.0, 0.0]) for t in texts}
    torch.manual_seed(0)
    cfg = FastConfig(buckets=4096, ngram_dim=8, proj=16, hidden=8, role_dim=4)
    model = FastSentimentModel(build_net(cfg), FastMeta(version="tiny", config=cfg))
    _fit(model, train, [], 4, 1e-2, lambda _: None, 0, batch_size=16, soft=soft, distill=0.0)
    assert {r.label for r in model.predict([SentimentInput(t, "Сбер") for t in texts[:8]])} == {"negative"}


def test_augmented_examples_keep_the_brands_and_vary_the_rest() -> None:
    from sentiment.augment import augmented_examples
    from sentiment.text import TokenRole, locate, tokenize

    source = [
        Example(
            "Сбербанк опять завис, третий день не могу перевести деньги маме, позор",
            "negative",
            "sberbank",
            "banks",
            1,
            2,
            "t1",
        ),
        Example(
            "Сбербанк опять завис, третий день не могу перевести деньги маме, позор",
            "neutral",
            "vtb",
            "banks",
            1,
            2,
            "t1",
        ),
        Example(
            "Отличный тариф у МТС, интернет летает даже в метро и в электричке",
            "positive",
            "mts",
            "telecom",
            2,
            1,
            "t2",
        ),
        Example("без бренда", "neutral", None, "rusentiment"),
    ]
    from sentiment.corpora import with_brands

    source = [with_brands(e) for e in source]  # aliases and other brands, as the corpora are read
    out = augmented_examples(source, 8, seed=3)
    assert out == augmented_examples(source, 8, seed=3)  # one seed, one transfer set
    assert out != augmented_examples(source, 8, seed=4)
    assert all(e.source == "augmented" and e.target is not None for e in out)
    originals = {(e.text, e.target) for e in source}
    assert len({(e.text, e.target) for e in out}) == len(out) and not originals & {
        (e.text, e.target) for e in out
    }
    for e in out:
        roles = locate(tokenize(e.text), e.target, e.aliases, e.other_brands)
        if e.target in ("sberbank", "mts"):
            assert TokenRole.TARGET in roles, e.text  # the brand survives every perturbation
        else:  # VTB is not named: the other brand in the text must survive instead
            assert TokenRole.OTHER_BRAND in roles, e.text
    assert len(out) >= 12


def test_augmenting_needs_a_teacher(tmp_path: Path) -> None:
    from sentiment.train import train_full

    with pytest.raises(ValueError, match="teacher"):
        train_full(tmp_path, tmp_path / "out", augment=2)


@pytest.mark.parametrize(
    "item",
    [
        SentimentInput("", "Сбер"),
        SentimentInput(""),
        SentimentInput("😡😡😡", "Сбер"),
        SentimentInput("🔥👍", None),
        SentimentInput("про погоду и ничего больше", "Сбер", ("Сбербанк",), ("ВТБ",)),
        SentimentInput("Полярбанк опять списал деньги. " * 170_000, "Полярбанк"),
        SentimentInput("Сбер \ud800", "Сбер"),
    ],
    ids=["empty", "empty-untargeted", "emoji", "emoji-untargeted", "target-absent", "5mb", "surrogate"],
)
def test_odd_inputs_get_a_label(tiny_fast: FastSentimentModel, item: SentimentInput) -> None:
    (result,) = tiny_fast.predict([item])
    assert result.label in ("negative", "neutral", "positive")


def test_other_brands_change_the_input(tiny_fast: FastSentimentModel) -> None:
    text = "ушёл из Зорбанка в Кредо, доволен"
    plain = tiny_fast.featurizer.encode_one(SentimentInput(text, "Кредо"))
    marked = tiny_fast.featurizer.encode_one(SentimentInput(text, "Кредо", (), ("Зорбанк",)))
    assert plain[1] != marked[1]  # the competitor's token gets the other-brand role
