"""Complaints as sets of words: what :mod:`.recurring_problem` and :mod:`.copies_across_channels` compare.

A complaint's words are the normal forms (pymorphy3) of its tokens of three letters or more, without
numbers and without the brands' own names: two people writing about the same failure share its words,
not the brand's name every complaint carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.rules.queries import Complaint
from alerts.settings import AlertBrand
from core.text import normal_forms, tokens

__all__ = ["CACHE_LIMIT", "Recent", "WordSets", "contains", "jaccard"]

CACHE_LIMIT = 50_000
"""Word sets kept in memory (by mention id) before the cache starts over."""


@dataclass(frozen=True, slots=True)
class Recent:
    """A recent complaint with its word set."""

    id: int
    author: str | None
    thread: str
    channel: str
    published_at: datetime
    tokens: frozenset[str]


class WordSets:
    """Word sets of mentions, cached by mention id (a mention's text does not change)."""

    def __init__(self, brands: Sequence[AlertBrand]) -> None:
        self._brand_words = {
            w for b in brands for name in (b.name, *b.names) for t in tokens(name) for w in normal_forms(t)
        }
        self._cache: dict[int, frozenset[str]] = {}

    def of(self, mention_id: int, text: str) -> frozenset[str]:
        """The words of one mention."""
        cached = self._cache.get(mention_id)
        if cached is None:
            words = set()
            for t in tokens(text):
                if len(t) < 3 or t.isdigit():
                    continue
                forms = normal_forms(t)
                if forms & self._brand_words:
                    continue
                words.add(min(forms))
            cached = frozenset(words)
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
            self._cache[mention_id] = cached
        return cached

    def recent(self, complaints: Sequence[Complaint]) -> list[Recent]:
        """``complaints`` with their word sets, in the same order."""
        return [
            Recent(c.id, c.author, c.thread, c.channel, c.published_at, self.of(c.id, c.text))
            for c in complaints
        ]


def contains(text: frozenset[str], original: frozenset[str], min_words: int, containment: float) -> bool:
    """``text`` carries (nearly) every word of a long ``original``: a repost with a comment, a forward,
    a syndicated copy. Short originals never qualify: one common sentence is not a copy."""
    return len(original) >= min_words and len(text & original) >= containment * len(original)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0 for two empty sets."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)
