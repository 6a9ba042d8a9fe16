"""Pre-labelled import: a file's own ``brand`` and ``label`` columns are kept, and the model is skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from loyalty_monitor import service
from loyalty_monitor.cli import main
from storage.schema import MentionBrand, MentionRow
from storage.store import Store
from tests.fakes import FakeSentimentModel

CONFIG = """
[storage]
url = "sqlite:///{db}"
[[brands]]
name = "Сбербанк"
aliases = ["Сбер"]
own = true
[[brands]]
name = "Тинькофф"
aliases = ["Tinkoff"]
"""


def test_import_keeps_the_files_brands_and_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeSentimentModel()
    monkeypatch.setattr(service, "load_sentiment", lambda config: model)
    config = tmp_path / "loyalty.toml"
    config.write_text(CONFIG.format(db=tmp_path / "t.db"), encoding="utf-8")
    base = {"source": "crm", "channel": "vk", "published_at": "2026-11-01T10:00:00Z"}
    rows = [
        # An alias in any case and a numeric label: linked to the brand the text never names.
        {**base, "external_id": "1", "text": "отличный сервис, спасибо", "brand": "сбер", "label": -1},
        # A label without a brand: the brands are found in the text and all get the file's label.
        {**base, "external_id": "2", "text": "Tinkoff отлично работает", "label": "Negative"},
        # A brand without a label: the model labels it toward that brand.
        {**base, "external_id": "3", "text": "всё ужасно, плохо", "brand": "Тинькофф"},
        {**base, "external_id": "4", "text": "Сбер плохо", "label": "furious"},
        {**base, "external_id": "5", "text": "Сбер плохо", "brand": "Омега", "label": "1"},
        {**base, "external_id": "6", "text": "Сбер плохо"},
    ]
    data = tmp_path / "history.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "--config", str(config), str(data)])
    assert result.exit_code == 1, result.output
    assert f"{data}:line 4: field label: expected negative, neutral, positive or -1, 0, 1, got 'furious'" in (
        result.stderr
    )
    assert f"{data}:line 5: field brand: 'Омега' is not a configured brand or alias" in result.stderr
    assert "imported 4 new" in result.stdout

    store = Store.open(f"sqlite:///{tmp_path / 't.db'}")
    try:
        with store.engine.connect() as conn:
            links = {
                (r.external_id, r.brand): (r.label, r.model_version)
                for r in conn.execute(
                    select(
                        MentionRow.external_id,
                        MentionBrand.brand,
                        MentionBrand.label,
                        MentionBrand.model_version,
                    ).join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
                )
            }
    finally:
        store.close()
    assert links == {
        ("1", "Сбербанк"): ("negative", "import:history.jsonl"),
        ("2", "Тинькофф"): ("negative", "import:history.jsonl"),
        ("3", "Тинькофф"): ("negative", "fake@1"),
        ("6", "Сбербанк"): ("negative", "fake@1"),
    }
    asked = [item.text for call in model.calls for item in call]
    assert sorted(asked) == ["Сбер плохо", "всё ужасно, плохо"]
