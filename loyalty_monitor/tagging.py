"""Tagging: link each mention to the brands it names and label the sentiment toward each of them.

One text naming two brands gets two sentiment predictions, each with its own target, because the label is
about a brand, not about the text ("ушёл из Сбера в Тинькофф, доволен"); each prediction also gets the
other configured brands the text names (``other_brands``), which the models mark apart from the target.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.text import BrandMatcher
from loyalty_monitor.config import BrandSettings
from sentiment.base import SentimentInput, SentimentModel
from storage.store import BrandLabel, PendingMention, TaggedMention

__all__ = ["Tagger"]


class Tagger:
    """Brand matching plus batched sentiment for pending mentions."""

    def __init__(self, brands: Sequence[BrandSettings], model: SentimentModel, batch_size: int = 256) -> None:
        self.matcher = BrandMatcher(brands)
        self.model = model
        self.batch_size = batch_size
        self._aliases = {b.name: tuple(b.aliases) for b in brands}

    def tag(self, pending: Sequence[PendingMention]) -> list[TaggedMention]:
        """Tag a batch. Mentions that name no configured brand come back with no links."""
        pairs: list[tuple[int, str]] = []
        inputs: list[SentimentInput] = []
        for i, mention in enumerate(pending):
            # Per brand: its name, the aliases that matched and the forms the text uses. Every other brand
            # found is passed with the target as a competitor, so "ушёл из X в Y" is read per brand.
            found: dict[str, list[str]] = {}
            for hit in self.matcher.match(mention.text, where=f"mention {mention.id}"):
                found.setdefault(hit.brand, [hit.brand]).extend([*hit.aliases, *hit.forms])
            for brand in found:
                others = tuple(dict.fromkeys(n for b, names in found.items() if b != brand for n in names))
                pairs.append((i, brand))
                inputs.append(
                    SentimentInput(
                        mention.text, target=brand, aliases=self._aliases[brand], other_brands=others
                    )
                )
        results = self.model.predict(inputs, batch_size=self.batch_size) if inputs else []
        links: list[list[BrandLabel]] = [[] for _ in pending]
        for (i, brand), res in zip(pairs, results, strict=True):
            links[i].append(
                BrandLabel(brand, res.label, float(res.score), f"{res.model_id}@{res.model_version}")
            )
        return [TaggedMention(m, ls) for m, ls in zip(pending, links, strict=True)]
