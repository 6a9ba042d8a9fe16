from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.data import Example, LabeledFileError, load_labeled_file, time_split
from tests.sentiment.datasets import DATASETS


def test_time_split_keeps_tweets_together_and_ordered() -> None:
    ex = [Example("t", "neutral", "mts", "s", date=d, group=f"g{d}") for d in range(10) for _ in range(2)]
    head, tail = time_split(ex, 0.2)
    assert len(tail) == 4 and max(e.date for e in head) < min(e.date for e in tail)


def test_labeled_csv_and_jsonl(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("text,label,target\nхорошо,pos,МТС\nплохо,-1,\nтак,speech,\n", encoding="utf-8")
    got = load_labeled_file(csv)
    assert [(e.label, e.target) for e in got] == [("positive", "МТС"), ("negative", None), ("positive", None)]
    jl = tmp_path / "a.jsonl"
    jl.write_text('{"text": "ок", "label": "neutral"}\n\n{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(LabeledFileError, match=":3:"):
        load_labeled_file(jl)


def test_csv_without_label_column_fails(tmp_path: Path) -> None:
    bad = tmp_path / "b.csv"
    bad.write_text("text\nхорошо\n", encoding="utf-8")
    with pytest.raises(LabeledFileError, match="text,label"):
        load_labeled_file(bad)


@pytest.mark.slow
@pytest.mark.skipif(not DATASETS.is_dir(), reason="public datasets not available")
def test_corpora_splits() -> None:
    from sentiment.train import load_corpora

    c = load_corpora(DATASETS)
    assert {"rusentiment_test", "rusentitweet_test", "banks_tail", "telecom_tail"} <= set(c.tests)
    assert all(e.label in ("negative", "neutral", "positive") for e in c.train)
    for name in ("banks", "telecom"):
        last_train = max(e.date for e in c.train if e.source == name)
        assert last_train <= min(e.date for e in c.tests[f"{name}_tail"])
