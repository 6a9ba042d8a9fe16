"""Tagging: link each mention to the brands it names and label the sentiment toward each of them.

One text naming two brands gets two sentiment predictions, each with its own target, because the label is
about a brand, not about the text ("ушёл из Сбера в Тинькофф, доволен"); each prediction also gets the
other configured brands the text names (``other_brands``), which the models mark apart from the target.

Imported history may come with its own brand and label (:class:`Hint`): a named brand is linked without
text matching, a given label is kept and the model is not asked, so history exported from another tool
keeps the labels it was judged by; ``model_version`` then says where the label came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from collectors.accounts import account_key, parse_account
from core.text import BrandMatcher
from loyalty_monitor.config import BrandSettings
from sentiment.base import SentimentInput, SentimentModel
from storage.store import BrandLabel, PendingMention, TaggedMention

__all__ = ["Hint", "Tagger"]


@dataclass(frozen=True, slots=True)
class Hint:
    """What a file (or a stored link) already says about a mention: its brand and/or its label.

    ``brand`` is a configured brand name (resolve aliases with :meth:`Tagger.resolve_brand` first); ``None``
    means "find the brands in the text". ``label`` is negative/neutral/positive; ``None`` means "ask the
    model". ``source`` is recorded as the link's ``model_version`` when the label is kept.
    """

    brand: str | None = None
    label: str | None = None
    source: str = "imported"


class Tagger:
    """Brand matching plus batched sentiment for pending mentions."""

    def __init__(self, brands: Sequence[BrandSettings], model: SentimentModel, batch_size: int = 256) -> None:
        self.matcher = BrandMatcher(brands)
        self.model = model
        self.batch_size = batch_size
        self._aliases = {b.name: tuple(b.aliases) for b in brands}
        self._names: dict[str, str] = {}
        for b in brands:
            for name in b.all_names():
                self._names.setdefault(name.casefold().strip(), b.name)
        #: (source, author id) -> brand: a mention by an own account is the brand's reply, not an opinion.
        self.accounts: dict[tuple[str, str], str] = {}
        for b in brands:
            for spec in b.accounts:
                account = parse_account(spec)
                self.accounts[(account.source, account.author_id)] = b.name

    def reply_brand(self, mention: PendingMention) -> str | None:
        """The brand whose own account wrote ``mention``, if one did.

        The account's source is compared with the mention's source, then with its channel: a file import
        (or the demo stream) of VK mentions has its own source name but channel ``vk`` and VK author ids.
        """
        if not self.accounts or not mention.author_id:
            return None
        for platform in dict.fromkeys((mention.source, mention.channel)):
            brand = self.accounts.get((platform, account_key(platform, mention.author_id)))
            if brand is not None:
                return brand
        return None

    def resolve_brand(self, name: str) -> str | None:
        """The configured brand ``name`` is (its name or an alias, in any case); ``None``: not configured."""
        return self._names.get(name.casefold().strip())

    def brand_names(self) -> list[str]:
        """The configured brand names, in the config's order."""
        return list(self._aliases)

    def tag(
        self, pending: Sequence[PendingMention], hints: Mapping[int, Sequence[Hint]] | None = None
    ) -> list[TaggedMention]:
        """Tag a batch. Mentions that name no configured brand come back with no links.

        ``hints`` (by mention id) replace text matching where they name a brand and the model where they
        give a label; a mention without hints is matched and labelled as usual.
        """
        hints = hints or {}
        # (mention index, brand, kept label or None, model_version of a kept label)
        wanted: list[tuple[int, str, str | None, str]] = []
        inputs: list[SentimentInput] = []
        replies: dict[int, str] = {}
        for i, mention in enumerate(pending):
            if (brand_reply := self.reply_brand(mention)) is not None:
                # The brand's own words: no links, so no index, share of voice, theme or alert counts them.
                replies[i] = brand_reply
                continue
            given = hints.get(mention.id, ())
            named = [h for h in given if h.brand is not None]
            # Per brand: its name, the aliases that matched and the forms the text uses. Every other brand
            # found is passed with the target as a competitor, so "ушёл из X в Y" is read per brand.
            found: dict[str, list[str]] = {}
            if not named:
                for hit in self.matcher.match(mention.text, where=f"mention {mention.id}"):
                    found.setdefault(hit.brand, [hit.brand]).extend([*hit.aliases, *hit.forms])
                blanket = next((h for h in given if h.label is not None), None)
                targets: list[tuple[str, Hint | None]] = [(b, blanket) for b in found]
            else:
                by_brand: dict[str, Hint] = {}
                for h in named:
                    by_brand.setdefault(h.brand or "", h)
                for brand in by_brand:
                    found[brand] = [brand, *self._aliases.get(brand, ())]
                targets = list(by_brand.items())
            for brand, hint in targets:
                if hint is not None and hint.label is not None:
                    wanted.append((i, brand, hint.label, hint.source))
                    continue
                others = tuple(dict.fromkeys(n for b, names in found.items() if b != brand for n in names))
                wanted.append((i, brand, None, ""))
                inputs.append(
                    SentimentInput(
                        mention.text, target=brand, aliases=self._aliases.get(brand, ()), other_brands=others
                    )
                )
        results = iter(self.model.predict(inputs, batch_size=self.batch_size) if inputs else [])
        links: list[list[BrandLabel]] = [[] for _ in pending]
        for i, brand, label, source in wanted:
            if label is not None:
                links[i].append(BrandLabel(brand, label, 1.0, source))
                continue
            res = next(results)
            links[i].append(
                BrandLabel(brand, res.label, float(res.score), f"{res.model_id}@{res.model_version}")
            )
        return [
            TaggedMention(m, ls, reply_brand=replies.get(i))
            for i, (m, ls) in enumerate(zip(pending, links, strict=True))
        ]
