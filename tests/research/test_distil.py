"""The distillation loss, the teacher-logit cache and the negated-praise generator of research/distil.py."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from research.distil import distil_loss, input_key, negated_praise_examples, teacher_logits
from sentiment.base import LABELS, SentimentInput

DATA = Path(__file__).parents[2] / "research" / "data"


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.randn(5, 3), torch.tensor([0, 1, 2, 2, 0]), torch.randn(5, 3)


def test_gold_only_equals_weighted_cross_entropy() -> None:
    logits, gold, teacher = _batch()
    weight = torch.tensor([1.5, 0.5, 1.0])
    taught = torch.ones(5, dtype=torch.bool)
    loss = distil_loss(logits, gold, teacher, taught, alpha=1.0, temperature=2.0, weight=weight)
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits, gold, weight=weight))


def test_soft_part_is_zero_when_student_matches_teacher() -> None:
    logits, gold, _ = _batch()
    taught = torch.ones(5, dtype=torch.bool)
    assert float(distil_loss(logits, gold, logits.clone(), taught, 0.0, 3.0)) == pytest.approx(0.0, abs=1e-6)


def test_one_item_by_hand() -> None:
    """alpha · CE + (1 - alpha) · T² · KL(teacher_T || student_T), written out for one item."""
    s, t, alpha, temp = [2.0, 0.0, -1.0], [0.0, 1.0, 0.0], 0.25, 2.0
    ps = [math.exp(x / temp) for x in s]
    pt = [math.exp(x / temp) for x in t]
    ps = [x / sum(ps) for x in ps]
    pt = [x / sum(pt) for x in pt]
    kl = sum(q * math.log(q / p) for p, q in zip(ps, pt, strict=True))
    ce = -math.log(math.exp(s[1]) / sum(math.exp(x) for x in s))
    want = alpha * ce + (1 - alpha) * temp**2 * kl
    got = distil_loss(
        torch.tensor([s]), torch.tensor([1]), torch.tensor([t]), torch.tensor([True]), alpha, temp
    )
    assert float(got) == pytest.approx(want, rel=1e-5)


def test_items_without_a_teacher_learn_from_gold_alone() -> None:
    logits, gold, teacher = _batch()
    untaught = torch.zeros(5, dtype=torch.bool)
    a = distil_loss(logits, gold, teacher, untaught, alpha=0.2, temperature=2.0)
    b = distil_loss(logits, gold, teacher * 10, untaught, alpha=0.7, temperature=5.0)
    assert torch.allclose(a, torch.nn.functional.cross_entropy(logits, gold))
    assert torch.allclose(a, b)


def test_soft_targets_pull_the_student_toward_the_teacher() -> None:
    logits, gold, teacher = _batch()
    student = logits.clone().requires_grad_(True)
    taught = torch.ones(5, dtype=torch.bool)
    loss = distil_loss(student, gold, teacher, taught, 0.0, 2.0)
    before = float(loss.detach())
    loss.backward()  # type: ignore[no-untyped-call]
    assert student.grad is not None
    with torch.no_grad():
        stepped = student - 0.5 * student.grad
    assert float(distil_loss(stepped, gold, teacher, taught, 0.0, 2.0)) < before


def test_bad_alpha_and_temperature_are_refused() -> None:
    logits, gold, teacher = _batch()
    taught = torch.ones(5, dtype=torch.bool)
    with pytest.raises(ValueError, match="alpha"):
        distil_loss(logits, gold, teacher, taught, 1.5, 2.0)
    with pytest.raises(ValueError, match="temperature"):
        distil_loss(logits, gold, teacher, taught, 0.5, 0.0)


class _FakeTeacher:
    """Scores an input by its text length; counts what it was asked to score."""

    version = "teacher-1"

    def __init__(self) -> None:
        self.scored: list[str] = []

    def encode(self, items: Sequence[SentimentInput]) -> list[list[int]]:
        self.scored += [it.text for it in items]
        return [[len(it.text)] for it in items]

    def e5_logits(self, rows: Sequence[list[int]]) -> torch.Tensor:
        return torch.tensor([[float(r[0]), 0.0, -float(r[0])] for r in rows])


def test_teacher_logits_are_cached_per_distinct_input(tmp_path: Path) -> None:
    items = [SentimentInput("раз", "X"), SentimentInput("два!", "X"), SentimentInput("раз", "X")]
    fake = _FakeTeacher()
    cache = tmp_path / "teacher.pt"
    first = teacher_logits(fake, items, cache, log=lambda _: None)  # type: ignore[arg-type]
    assert fake.scored == ["раз", "два!"]
    assert first[:, 0].tolist() == [3.0, 4.0, 3.0]
    again = _FakeTeacher()
    second = teacher_logits(again, [*items, SentimentInput("три", "Y")], cache, log=lambda _: None)  # type: ignore[arg-type]
    assert again.scored == ["три"]
    assert torch.equal(second[:3], first)
    again.version = "teacher-2"  # another teacher: nothing of the old cache is used
    teacher_logits(again, items[:1], cache, log=lambda _: None)  # type: ignore[arg-type]
    assert again.scored == ["три", "раз"]


def test_input_key_tells_targets_and_competitors_apart() -> None:
    base = SentimentInput("ушёл из А в Б", "А", (), ("Б",))
    assert input_key(base) == input_key(SentimentInput("ушёл из А в Б", "А", (), ("Б",)))
    assert input_key(base) != input_key(SentimentInput("ушёл из А в Б", "Б", (), ("А",)))
    assert input_key(base) != input_key(SentimentInput("ушёл из А в Б", "А"))


def test_negated_praise_examples() -> None:
    out = negated_praise_examples(300, seed=1)
    assert len(out) == 300
    assert out == negated_praise_examples(300, seed=1)
    assert {e.label for e in out} <= set(LABELS)
    assert {e.label for e in out} >= {"positive", "negative"}
    for e in out:
        assert e.target and e.target.lower() in e.text.lower()
        assert all(b.lower() in e.text.lower() for b in e.other_brands)
    two = [e for e in out if e.other_brands]
    assert two and all(e.n_entities == 2 for e in two)


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.lower().replace("ё", "е")).split()


def test_negated_praise_shares_no_phrase_with_the_comparison_sets() -> None:
    """No four-word run of a generated text occurs in a hand-written or generated comparison set."""
    runs: set[tuple[str, ...]] = set()
    for path in sorted(DATA.glob("comparison_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                w = _words(json.loads(line)["text"])
                runs.update(tuple(w[i : i + 4]) for i in range(len(w) - 3))
    for e in negated_praise_examples(2000, seed=3):
        w = _words(e.text)
        shared = [tuple(w[i : i + 4]) for i in range(len(w) - 3) if tuple(w[i : i + 4]) in runs]
        assert not shared, (e.text, shared)
