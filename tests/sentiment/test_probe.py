"""bench/sentiment_probe.py scores models fairly: every set mixes all three labels, misses are reported."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from sentiment.base import SentimentInput, SentimentResult

_PATH = Path(__file__).resolve().parents[2] / "bench" / "sentiment_probe.py"
_spec = importlib.util.spec_from_file_location("sentiment_probe", _PATH)
assert _spec is not None and _spec.loader is not None
probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probe)


class _Always:
    """A model that gives every input the same label."""

    model_id = "test/always"
    version = "1"

    def __init__(self, label: str) -> None:
        self.label = label

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        return [SentimentResult(self.label, 0.9, self.model_id, self.version) for _ in items]  # type: ignore[arg-type]


def test_a_constant_model_scores_only_its_own_label() -> None:
    for probes in (probe.CONSTRUCTIONS, probe.HELD_OUT):
        labels = [want for _, _, want in probes]
        assert {"negative", "neutral", "positive"} <= set(labels)
        for label in ("negative", "neutral", "positive"):
            report = probe.score(_Always(label), probes)
            assert report["correct"] == labels.count(label) < 0.6 * len(probes)
            assert report["total"] == len(probes)
            assert all(m["expected"] != label and m["got"] == label for m in report["misses"])


def test_held_out_posts_are_not_in_the_training_templates() -> None:
    from research.opinions import opinion_examples
    from sentiment.synthetic import comparison_examples, switch_examples

    synthetic = {
        e.text.lower()
        for e in opinion_examples(4000, 1) + switch_examples(4000, 1) + comparison_examples(4000, 1)
    }
    assert not any(text.lower() in synthetic for text, _, _ in probe.HELD_OUT)
