from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loyalty_monitor.sentiment_cli import sentiment
from sentiment.fast import FastSentimentModel


@pytest.fixture(scope="module")
def model_path(tiny_fast: FastSentimentModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "model"
    tiny_fast.save(path)
    return path


def test_predict_answers_each_line_in_order(model_path: Path) -> None:
    lines = [
        json.dumps({"text": "Сбер молодцы", "target": "Сбер"}, ensure_ascii=False),
        json.dumps({"text": "просто текст"}, ensure_ascii=False),
        json.dumps({"text": "МТС", "target": None}, ensure_ascii=False),
    ]
    result = CliRunner().invoke(
        sentiment, ["predict", "--model", str(model_path)], input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(out) == 3
    assert all(
        set(o) == {"label", "score"} and o["label"] in ("negative", "neutral", "positive") for o in out
    )


def test_predict_bad_line_names_its_number(model_path: Path) -> None:
    stdin = '{"text": "ok"}\n{"text": 5}\nnot json\n{"text": "ещё"}\n'
    result = CliRunner().invoke(sentiment, ["predict", "--model", str(model_path)], input=stdin)
    assert result.exit_code != 0
    assert "line 2:" in result.stderr and "line 3:" in result.stderr and "line 1:" not in result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_eval_prints_scores_and_confusion(model_path: Path, tmp_path: Path) -> None:
    data = tmp_path / "labels.csv"
    data.write_text(
        "text,label,target\nСбер лучший,positive,Сбер\nМТС ужасен,negative,МТС\nновости,neutral,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(sentiment, ["eval", "--data", str(data), "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.stdout and "F_PN-macro" in result.stdout and "gold \\ pred" in result.stdout


def test_eval_bad_label_names_line(model_path: Path, tmp_path: Path) -> None:
    data = tmp_path / "labels.csv"
    data.write_text("text,label\nхорошо,positive\nплохо,awful\n", encoding="utf-8")
    result = CliRunner().invoke(sentiment, ["eval", "--data", str(data), "--model", str(model_path)])
    assert result.exit_code != 0
    assert ":3:" in result.output and "awful" in result.output


def test_missing_model_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(sentiment, ["predict", "--model", str(tmp_path / "nope")], input="")
    assert result.exit_code != 0
    assert "unknown sentiment model" in result.output


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_train_with_data_adapts_and_sets_current(model_path: Path, tmp_path: Path) -> None:
    data = tmp_path / "mine.csv"
    rows = ["text,label,target"] + [
        f"{w} номер {i},{label},Сбер"
        for i in range(8)
        for w, label in (
            ("Сбер отлично", "positive"),
            ("Сбер ужасно", "negative"),
            ("Сбер открыл", "neutral"),
        )
    ]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    model_dir = tmp_path / "models"
    args = [
        "train",
        "--data",
        str(data),
        "--model",
        str(model_path),
        "--model-dir",
        str(model_dir),
        "--epochs",
        "1",
    ]
    result = CliRunner().invoke(sentiment, args)
    assert result.exit_code == 0, result.output
    version = json.loads(result.stdout.splitlines()[-1])["version"]
    assert (model_dir / "CURRENT").read_text().strip() == version


def test_train_augment_without_a_teacher_is_refused(tmp_path: Path) -> None:
    tmp_path.joinpath("datasets").mkdir()
    args = ["train", "--datasets", str(tmp_path / "datasets"), "--augment", "6", "--out", str(tmp_path / "m")]
    result = CliRunner().invoke(sentiment, args)
    assert result.exit_code != 0
    assert "--augment needs --teacher" in result.output
    assert not (tmp_path / "m").exists()


def test_predict_takes_other_brands_per_line(model_path: Path) -> None:
    lines = [
        json.dumps({"text": "ушёл из Зорбанка в Кредо", "target": "Кредо", "other_brands": ["Зорбанк"]}),
        json.dumps({"text": "Кредо", "target": "Кредо", "other_brands": "Зорбанк"}),
        json.dumps({"text": "Кредо", "target": "Кредо", "aliases": [1]}),
    ]
    result = CliRunner().invoke(sentiment, ["predict", "--model", str(model_path)], input="\n".join(lines))
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1
    assert 'line 2: "other_brands" must be a list of strings' in result.stderr
    assert 'line 3: "aliases" must be a list of strings' in result.stderr


def test_predict_answers_a_lone_surrogate_and_the_lines_after_it(model_path: Path) -> None:
    stdin = (
        '{"text": "Сбер \\ud800 молодцы", "target": "Сбер"}\n'
        '{"text": "\\ud800"}\n'
        '{"text": "ещё", "target": "Сбер"}\n'
    )
    result = CliRunner().invoke(sentiment, ["predict", "--model", str(model_path)], input=stdin)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert "Traceback" not in result.output


def test_predict_with_the_fast_spec() -> None:
    stdin = json.dumps({"text": "ушёл из Сбера в Тинькофф, доволен", "target": "Сбер"}) + "\n"
    result = CliRunner().invoke(sentiment, ["predict", "--model", "fast"], input=stdin)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["label"] in ("negative", "neutral", "positive")
