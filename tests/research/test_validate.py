"""The comparison set is well formed and scored as the issue counts it."""

from __future__ import annotations

from collections.abc import Sequence

from research.clauses import FRESH_SET, HELDOUT_SET
from research.validate import load_comparison
from sentiment.base import SentimentInput, SentimentResult
from sentiment.evaluate import comparison_scores
from sentiment.text import TokenRole, locate, tokenize


def test_every_target_and_competitor_is_found_in_its_post() -> None:
    rows = load_comparison()
    assert len(rows) >= 40 and len({e.group for e in rows}) >= 20
    heldout = load_comparison(HELDOUT_SET)
    assert len(heldout) == 20 and not {e.group for e in heldout} & {e.group for e in rows}
    fresh = load_comparison(FRESH_SET)
    assert len(fresh) == 40 and not {e.group for e in fresh} & {e.group for e in rows + heldout}
    for e in rows + heldout + fresh:
        roles = locate(tokenize(e.text), e.target, e.aliases, e.other_brands)
        assert TokenRole.TARGET in roles, (e.text, e.target)
        assert TokenRole.OTHER_BRAND in roles, (e.text, e.other_brands)


class _Positive:
    model_id = "test/positive"
    version = "1"

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        return [SentimentResult("positive", 1.0, self.model_id, self.version) for _ in items]


def test_one_label_for_both_brands_is_counted_on_comparison_posts() -> None:
    rows = load_comparison()
    scores = comparison_scores(_Positive(), rows)  # type: ignore[arg-type]
    comparing = [g for g in {e.group for e in rows} if len({e.label for e in rows if e.group == g}) > 1]
    assert scores["comparison_posts"] == len(comparing) >= 17
    assert scores["comparison_posts_one_polar_label"] == len(comparing)
    assert scores["pairs_right"] == sum(e.label == "positive" for e in rows)
