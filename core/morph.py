"""Matching escalation terms in Russian text on normal forms, so every case and number of a word matches.

"пожалуюсь в Роспотребнадзор", "Роспотребнадзором", "роспотребнадзору" are one term; "напишу в СМИ" and
"написал журналистам" name the media. A word matches a term word when the sets of their possible normal
forms (every pymorphy3 parse, plus the word itself) meet: surnames such as "Тинькову" parse both as
"тиньков" and "тинькова", and one guess would miss half of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["TermMatcher", "normal_forms", "tokens"]

_WORD = re.compile(r"[0-9A-Za-zА-Яа-яЁё]+")


@lru_cache(maxsize=1)
def _analyzer() -> object:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def tokens(text: str) -> list[str]:
    """Lowercased words of ``text`` (ё read as е)."""
    return [w.lower().replace("ё", "е") for w in _WORD.findall(text)]


@lru_cache(maxsize=200_000)
def normal_forms(word: str) -> frozenset[str]:
    """Every normal form pymorphy3 offers for ``word`` (lowercase), and the word itself."""
    morph = _analyzer()
    forms = {p.normal_form.replace("ё", "е") for p in morph.parse(word)}  # type: ignore[attr-defined]
    forms.add(word)
    return frozenset(forms)


@dataclass(frozen=True, slots=True)
class _Term:
    kind: str
    text: str
    words: tuple[frozenset[str], ...]


class TermMatcher:
    """Finds which kinds of escalation terms a text contains.

    ``terms`` maps a kind (``regulator``, ``media``, ``ceo``, ``demand``...) to phrases. Phrases of several
    words match in order, with at most two other words between them.
    """

    def __init__(self, terms: Mapping[str, Iterable[str]]) -> None:
        self._terms: list[_Term] = []
        for kind, phrases in terms.items():
            for phrase in phrases:
                words = tuple(normal_forms(w) for w in tokens(phrase))
                if words:
                    self._terms.append(_Term(kind, phrase, words))
        self._first: dict[str, list[_Term]] = {}
        for term in self._terms:
            for form in term.words[0]:
                self._first.setdefault(form, []).append(term)

    def find(self, text: str) -> dict[str, list[str]]:
        """``{kind: [matched phrases]}`` for ``text``; empty when nothing matches."""
        words = [normal_forms(w) for w in tokens(text)]
        found: dict[str, list[str]] = {}
        for i, forms in enumerate(words):
            candidates: dict[int, _Term] = {}
            for form in forms:
                for term in self._first.get(form, ()):
                    candidates[id(term)] = term
            for term in candidates.values():
                if _matches(words, i, term.words) and term.text not in found.get(term.kind, []):
                    found.setdefault(term.kind, []).append(term.text)
        return found


_MAX_GAP = 2
"""Words allowed between the words of a phrase: "верните мне мои деньги" is "верните деньги"."""


def _matches(words: Sequence[frozenset[str]], start: int, term: Sequence[frozenset[str]]) -> bool:
    pos = start
    for j, want in enumerate(term):
        if j == 0:
            if not words[pos] & want:
                return False
            continue
        for k in range(pos + 1, min(len(words), pos + 2 + _MAX_GAP)):
            if words[k] & want:
                pos = k
                break
        else:
            return False
    return True
