"""Tagging passes each brand's competitors found in the text to the sentiment model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from loyalty_monitor.config import BrandSettings
from loyalty_monitor.tagging import Tagger
from sentiment.base import SentimentInput, SentimentResult
from storage.store import PendingMention


class _Recorder:
    model_id = "test/recorder"
    version = "1"

    def __init__(self) -> None:
        self.seen: list[SentimentInput] = []

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        self.seen.extend(items)
        return [SentimentResult("neutral", 1.0, self.model_id, self.version) for _ in items]


def test_each_target_gets_the_other_brands_of_its_text() -> None:
    brands = [
        BrandSettings(name="Зорбанк", aliases=["Зор"], own=True),
        BrandSettings(name="Кредо-Плюс", aliases=["Кредо"]),
        BrandSettings(name="Полярбанк", aliases=["Поляр"]),
    ]
    model = _Recorder()
    text = "Ушёл из Зорбанка в Кредо, доволен"
    when = datetime(2026, 1, 1, tzinfo=UTC)
    tagged = Tagger(brands, model).tag([PendingMention(1, text, "vk", when, True)])
    assert [link.brand for link in tagged[0].links] == ["Зорбанк", "Кредо-Плюс"]
    by_target = {item.target: item for item in model.seen}
    assert set(by_target) == {"Зорбанк", "Кредо-Плюс"}
    assert by_target["Зорбанк"].aliases == ("Зор",)
    assert "Кредо-Плюс" in by_target["Зорбанк"].other_brands
    assert "Кредо" in by_target["Зорбанк"].other_brands  # the alias the text used
    assert "Зорбанк" in by_target["Кредо-Плюс"].other_brands
    assert not any("Поляр" in name for item in model.seen for name in item.other_brands)  # not in the text
    assert all(item.target not in item.other_brands for item in model.seen)
