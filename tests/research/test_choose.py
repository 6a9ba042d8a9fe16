"""research.choose: the news blend is chosen on dev for the pairs read as news only, and stored or removed."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from research.choose import choose_register, write_choice
from sentiment.base import LABELS
from sentiment.data import Example


def _part(labels: list[str], source: str) -> list[Example]:
    return [Example(f"t{i}", lab, "X", source) for i, lab in enumerate(labels)]  # type: ignore[arg-type]


def _entry(e5: list[int], fast: list[int]) -> dict[str, torch.Tensor]:
    """Log-probabilities that make e5 and the fast model say the given label ids."""

    def logp(ids: list[int]) -> torch.Tensor:
        return torch.log_softmax(torch.nn.functional.one_hot(torch.tensor(ids), 3).float() * 4, -1)

    return {"e5": logp(e5), "fast": logp(fast), "idx": torch.zeros(0, dtype=torch.long)}


def test_the_news_blend_moves_only_the_pairs_read_as_news() -> None:
    # dev: tweets where the fast model is right, news where e5 is right and the fast model wrong
    tweets = ["negative", "positive", "neutral", "negative"]
    news = ["positive", "negative", "positive", "negative"]
    dev = _part(tweets, "sentirueval") + _part(news, "rusentne2023/ORGANIZATION")
    gold = [LABELS.index(x) for x in tweets + news]
    wrong = [(g + 1) % 3 for g in gold]
    cache = {"dev": _entry(gold, gold[:4] + wrong[4:]), "later_banks": _entry(wrong[:4], gold[:4])}
    parts = {"dev": dev, "later_banks": _part(tweets, "sentirueval")}
    masks = {"dev": torch.tensor([False] * 4 + [True] * 4), "later_banks": torch.zeros(4, dtype=torch.bool)}
    base: dict[str, object] = {"weight": 0.0, "clause_weight": 0.0, "bias": [0.0, 0.0, 0.0]}
    best, rows = choose_register(cache, parts, base, masks, weights=(0.0, 1.0))
    assert [r["news_weight"] for r in rows] == [0.0, 1.0]
    assert best["news_weight"] == 1.0 and best["dev/worst_f_pn_macro"] == 1.0
    # later_banks reads no pair as news: the base blend (the fast model, right) in every row
    assert all(r["later_banks/f_pn_macro"] == 1.0 and r["bias"] == [0.0, 0.0, 0.0] for r in rows)


def test_write_choice_stores_the_news_blend_or_removes_it(tmp_path: Path) -> None:
    meta_path = tmp_path / "meta.json"
    cascade = "confidence cascade at margin 0.8, chosen on dev (research/cascade.py)"
    meta_path.write_text(
        json.dumps({"version": "v", "weight": 0.5, "cascade_margin": 0.8, "trained_on": [cascade]}),
        encoding="utf-8",
    )
    best: dict[str, object] = {
        "weight": 0.5,
        "clause_weight": 0.7,
        "bias": [0.3, 0.0, 0.7],
        "news_weight": 1.0,
        "news_bias": [0.8, 0.0, 1.3],
        "dev/worst_f_pn_macro": 0.4,
    }
    write_choice(meta_path, best, "int8", None)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["news_weight"] == 1.0 and meta["news_bias"] == [0.8, 0.0, 1.3]
    assert meta["metrics"] == {"dev/worst_f_pn_macro": 0.4}
    # a cascade margin chosen against the blend replaced goes with it
    assert "cascade_margin" not in meta and cascade not in meta["trained_on"]
    del best["news_weight"], best["news_bias"]
    write_choice(meta_path, best, "int8", "v2")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert "news_weight" not in meta and "news_bias" not in meta and meta["version"] == "v2"
    assert len(meta["trained_on"]) == 1  # the choice's note replaced, not appended
