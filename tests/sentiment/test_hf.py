from __future__ import annotations

from pathlib import Path

import pytest

from sentiment import ModelLoadError, SentimentInput, load_model
from sentiment.hf import HFSentimentModel, map_labels


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "NEGATIVE", 1: "NEUTRAL", 2: "POSITIVE"}, ["negative", "neutral", "positive"]),
        ({0: "neutral", 1: "positive", 2: "negative"}, ["neutral", "positive", "negative"]),
        ({"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}, ["negative", "neutral", "positive"]),
        (
            {0: "neutral", 1: "positive", 2: "negative", 3: "speech", 4: "skip"},
            ["neutral", "positive", "negative", "positive", None],
        ),
        ({0: "neg", 1: "pos"}, ["negative", "positive"]),
    ],
)
def test_id2label_schemes(id2label: dict[object, str], expected: list[str | None]) -> None:
    assert map_labels(id2label) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "id2label", [{0: "joy", 1: "anger", 2: "fear"}, {0: "LABEL_0", 1: "LABEL_1"}, {0: "skip"}]
)
def test_unmappable_labels_fail(id2label: dict[int, str]) -> None:
    with pytest.raises(ModelLoadError):
        map_labels(id2label)


WORDS = ["привет", "плохо", "хорошо", "банк", "сбер", "мтс", "ужасно", "отлично", "очень", "не"]


def _tiny_model(path: Path, id2label: dict[int, str]) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = path / "vocab.txt"
    path.mkdir(parents=True, exist_ok=True)
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8"
    )
    tok = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(WORDS) + 5,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning"
)


def test_tiny_local_model_through_load_model(tmp_path: Path) -> None:
    path = _tiny_model(tmp_path / "tiny", {0: "negative", 1: "neutral", 2: "positive"})
    model = load_model(str(path))
    assert isinstance(model, HFSentimentModel)
    items = [
        SentimentInput("очень плохо " * 100),
        SentimentInput("хорошо", target="сбер"),
        SentimentInput(""),
    ]
    first = model.predict(items, batch_size=2)
    assert model.predict(items, batch_size=3) == first
    assert [r.label in ("negative", "neutral", "positive") for r in first] == [True] * 3
    assert all(0.0 < r.score <= 1.0 for r in first)
    assert first[0].model_id == f"hf:{path}" and first[0].model_version.startswith("local-")


def test_five_class_model_sums_speech_into_positive(tmp_path: Path) -> None:
    id2label = {0: "neutral", 1: "positive", 2: "negative", 3: "speech", 4: "skip"}
    model = load_model(str(_tiny_model(tmp_path / "five", id2label)))
    assert isinstance(model, HFSentimentModel)
    probs = model.probabilities([SentimentInput("привет"), SentimentInput("ужасно банк")])
    assert probs.shape == (2, 3)
    assert probs.sum(-1).tolist() == pytest.approx([1.0, 1.0])


def test_missing_hub_model_names_it_and_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as err:
        load_model("hf:nobody/no-such-sentiment-model")
    msg = str(err.value)
    assert "nobody/no-such-sentiment-model" in msg
    assert "HF_HUB_OFFLINE" in msg and "local directory" in msg


def test_unknown_spec_fails(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="unknown sentiment model"):
        load_model("no-such-model", model_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="neither"):
        load_model(str(tmp_path / "empty"))
