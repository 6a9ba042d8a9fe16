"""The CLI as a user runs it: init, config errors, import with bad rows, export formats, status."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from loyalty_monitor import service
from loyalty_monitor.cli import main
from loyalty_monitor.config import load_config
from tests.fakes import FakeSentimentModel

CONFIG = """
[storage]
url = "sqlite:///{db}"
[display]
timezone = "Europe/Moscow"
[[brands]]
name = "Сбербанк"
aliases = ["Сбер"]
own = true
[[brands]]
name = "Тинькофф"
aliases = ["Tinkoff"]
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "loyalty.toml"
    path.write_text(CONFIG.format(db=tmp_path / "t.db"), encoding="utf-8")
    monkeypatch.setattr(service, "load_sentiment", lambda config: FakeSentimentModel())
    return path


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "loyalty.toml"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    config = load_config(target)
    assert config.own_brands()[0].name == "Сбербанк"
    assert config.alerts.destinations[0].token_env == "TG_BOT_TOKEN"
    again = CliRunner().invoke(main, ["init", str(target)])
    assert again.exit_code != 0 and "--force" in again.output


def test_config_errors_name_the_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[storage]\nurl = "sqlite://"\n[display]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["status", "--config", str(bad)])
    assert result.exit_code == 2
    assert "display.timezone" in result.output and "Mars/Olympus" in result.output
    bad.write_text("[[brands]]\nnme = 'x'\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["status", "--config", str(bad)])
    assert "brands.0.nme: unknown key" in result.output
    assert "brands.0.name: Field required" in result.output


def test_import_keeps_good_rows_and_reports_bad_ones(config_file: Path, tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    rows = [
        {
            "source": "crm",
            "external_id": "1",
            "channel": "vk",
            "text": "Сбер опять списал деньги",
            "published_at": "2026-11-01T10:00:00+03:00",
        },
        {"source": "crm", "external_id": "2", "channel": "vk", "text": "Tinkoff отлично"},
        {
            "source": "crm",
            "external_id": "3",
            "channel": "vk",
            "text": "Ушёл из Сбера в Tinkoff, доволен",
            "published_at": "2026-11-01T11:00:00Z",
        },
    ]
    data.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["import", "--config", str(config_file), str(data)])
    assert result.exit_code == 1
    assert "line 2" in result.output and "published_at" in result.output
    assert "line 4" in result.output
    assert "imported 2 new" in result.output
    again = CliRunner().invoke(main, ["import", "--config", str(config_file), str(data)])
    assert "imported 0 new, 2 already stored" in again.output

    out = tmp_path / "m.csv"
    result = CliRunner().invoke(
        main, ["export", "mentions", "--config", str(config_file), "--excel", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("mention_id;published_at;brand;channel")
    assert len(lines) == 1 + 3  # one row per (mention, brand)
    assert "2026-11-01T11:00:00+03:00" in lines[1] or "2026-11-01T14:00:00+03:00" in lines[1]

    result = CliRunner().invoke(
        main, ["export", "mentions", "--config", str(config_file), "--format", "jsonl", "--brand", "Тинькофф"]
    )
    got = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["brand"], r["label"]) for r in got] == [("Тинькофф", "positive")]
    assert got[0]["published_at"] == "2026-11-01T14:00:00+03:00"  # stored UTC, shown in the display zone


def test_excel_export_defuses_formulas(config_file: Path) -> None:
    from storage.export import render

    data = render([{"text": "=HYPERLINK(1)", "n": 1}, {"text": "-2+3", "n": 2}], ["text", "n"], excel=True)
    assert data.decode("utf-8-sig").splitlines()[1:] == ["'=HYPERLINK(1);1", "'-2+3;2"]
    plain = render([{"text": "=1+1", "n": 1}], ["text", "n"])
    assert plain.decode().splitlines()[1] == "=1+1,1"
    numbers = render([{"index": -0.25, "n": 3}], ["index", "n"], excel=True)
    assert numbers.decode("utf-8-sig").splitlines()[1] == "-0,25;3"  # not a formula, a Russian decimal


def test_parse_when_uses_the_display_zone() -> None:
    from loyalty_monitor.cli import parse_when

    assert parse_when("2026-11-01", "Europe/Moscow") == datetime(2026, 10, 31, 21, tzinfo=UTC)
    assert parse_when("2026-11-01T00:00:00+00:00", "Europe/Moscow") == datetime(2026, 11, 1, tzinfo=UTC)


def test_text_search_folds_cyrillic_case(store: object) -> None:
    from core.mention import Mention
    from storage.export import mention_rows
    from storage.store import BrandLabel, Store, TaggedMention

    assert isinstance(store, Store)
    store.upsert_mentions(
        [
            Mention("vk", "1", "vk", "Пожалуюсь в ЦБ на Сбер", datetime(2026, 11, 1, tzinfo=UTC)),
            Mention("vk", "2", "vk", "Сбер, 100% кэшбэк_и", datetime(2026, 11, 1, tzinfo=UTC)),
        ]
    )
    store.save_tags(
        [TaggedMention(p, [BrandLabel("Сбербанк", "negative", 0.9, "v")]) for p in store.untagged()]
    )
    assert [r["external_id"] for r in mention_rows(store, search="цб")] == ["1"]
    assert [r["external_id"] for r in mention_rows(store, search="СБЕР")] == ["2", "1"]
    assert [r["external_id"] for r in mention_rows(store, search="0% к")] == ["2"]
    assert mention_rows(store, search="_") == [r for r in mention_rows(store) if "_" in r["text"]]


def test_handled_filter_applies_before_the_limit(sqlite_store: object) -> None:
    from core.mention import Mention
    from storage.export import mention_rows
    from storage.store import BrandLabel, Store, TaggedMention

    assert isinstance(sqlite_store, Store)
    ids = sqlite_store.upsert_mentions(
        [Mention("vk", str(i), "vk", f"Сбер {i}", datetime(2026, 11, 1, i, tzinfo=UTC)) for i in range(5)]
    )
    sqlite_store.save_tags(
        [TaggedMention(p, [BrandLabel("Сбербанк", "neutral", 0.9, "v")]) for p in sqlite_store.untagged()]
    )
    sqlite_store.mark_handled(ids[0])
    sqlite_store.mark_handled(ids[1])
    assert [r["external_id"] for r in mention_rows(sqlite_store, handled=True, limit=1)] == ["1"]
    assert [r["external_id"] for r in mention_rows(sqlite_store, handled=False, limit=2)] == ["4", "3"]


def test_corrections_export_feeds_training(config_file: Path, tmp_path: Path) -> None:
    import csv

    from storage.store import Store

    data = tmp_path / "in.jsonl"
    data.write_text(
        json.dumps(
            {
                "source": "crm",
                "external_id": "1",
                "channel": "vk",
                "text": "Сбер, ну такое",
                "published_at": "2026-11-01T10:00:00Z",
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    assert CliRunner().invoke(main, ["import", "--config", str(config_file), str(data)]).exit_code == 0
    store = Store.open(load_config(config_file).storage.url)
    store.correct_label(1, "Сбербанк", "negative")
    store.close()
    out = tmp_path / "mine.csv"
    result = CliRunner().invoke(main, ["export", "corrections", "--config", str(config_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows == [{"text": "Сбер, ну такое", "label": "negative", "target": "Сбербанк"}]


@pytest.mark.slow
def test_sentiment_train_adapts_to_corrections_from_the_database(tmp_path: Path) -> None:
    from core.mention import Mention
    from sentiment import current_version
    from storage.store import BrandLabel, Store, TaggedMention

    db = f"sqlite:///{tmp_path / 'c.db'}"
    config = tmp_path / "loyalty.toml"
    config.write_text(f'[storage]\nurl = "{db}"\n[sentiment]\nmodel_dir = "{tmp_path / "models"}"\n')
    empty = CliRunner().invoke(main, ["sentiment", "train", "--corrections", "--config", str(config)])
    assert empty.exit_code != 0 and "no corrected labels" in empty.output

    store = Store.open(db)
    texts = ["Полярбанк, ну такое", "Полярбанк опять", "Полярбанк как всегда", "Полярбанк снова"] * 5
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    store.upsert_mentions([Mention("vk", str(i), "vk", f"{t} {i}", t0) for i, t in enumerate(texts)])
    store.save_tags(
        [TaggedMention(p, [BrandLabel("Полярбанк", "neutral", 0.5, "x")]) for p in store.untagged()]
    )
    for mid in range(1, len(texts) + 1):
        store.correct_label(mid, "Полярбанк", "negative")
    store.close()
    # Only the fast model can be adapted; the adapted version then becomes this directory's default.
    result = CliRunner().invoke(
        main, ["sentiment", "train", "--corrections", "--model", "fast", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    version = json.loads(result.output.strip().splitlines()[-1])["version"]
    assert current_version(tmp_path / "models") == version
