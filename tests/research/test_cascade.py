"""research.cascade: the margin is chosen on dev alone and stored in a model's meta.json."""

from __future__ import annotations

import json
from pathlib import Path

from research.cascade import choose_margin, write_margin


def _row(t: float, tweets: float, news: float, split: float = 0.0) -> dict[str, object]:
    return {
        "threshold": t,
        "dev_tweets/f_pn_change": tweets,
        "dev_news/f_pn_change": news,
        "news/f_pn_macro_change": split,
    }


def test_the_lowest_margin_within_the_dev_tolerance_on_both_parts_is_chosen() -> None:
    rows = [
        _row(0.5, 0.02, -0.01),
        _row(0.7, 0.002, -0.004),  # dev's news part moves too far
        _row(0.8, 0.0019, 0.0, split=-0.05),  # a split's change plays no part
        _row(0.9, 0.0, 0.0),
    ]
    assert choose_margin(rows) == 0.8
    assert choose_margin(rows, tolerance=0.01) == 0.7
    assert choose_margin(rows[:2]) is None


def test_write_margin_stores_the_key_version_and_one_note(tmp_path: Path) -> None:
    meta_path = tmp_path / "meta.json"
    meta_path.write_text(json.dumps({"version": "v1", "weight": 0.7, "trained_on": ["layers"]}), "utf-8")
    write_margin(meta_path, 0.9, None)
    write_margin(meta_path, 0.8, "v2")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["cascade_margin"] == 0.8 and meta["version"] == "v2" and meta["weight"] == 0.7
    assert meta["trained_on"][0] == "layers" and len(meta["trained_on"]) == 2
    assert "margin 0.8" in meta["trained_on"][1] and "research/cascade.py" in meta["trained_on"][1]
