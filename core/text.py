"""Which configured brands a text names, and where.

Russian inflects brand names like any other noun ("Сбербанк", "Сбербанка", "Сбером"), people write them in
several scripts and joinings ("Альфа-Банк", "альфа банк", "альфабанк", "Alfa-Bank"), and short aliases hide
inside ordinary words ("Сбер" in "сбережения"). Substring search gets all of that wrong, so matching works
on whole tokens:

* every alias becomes a sequence of words, and every word the set of its surface forms, taken from the
  pymorphy3 lexeme plus a small hand-written declension for brand words the dictionary does not know
  ("Поляр" is guessed as a form of "поляра", yet people write "Поляром"); a multi-word alias also gets its
  joined spelling ("альфабанк", "альфабанка");
* a token that is not a known form but shares a prefix with an alias word is compared by normal forms
  (pymorphy3, cached), which catches inflections the lexeme missed and still rejects "сберечь";
* ``exclusions`` ("альфа-версия") are matched the same way and veto the brand hits they overlap;
* when aliases overlap, the longest wins ("Почта Банк" over "Почта"), so one place names one brand, while
  one text may name many brands.

All of that is precomputed in :class:`BrandMatcher`'s constructor; :meth:`BrandMatcher.match` does one regex
pass and dictionary look-ups, a few microseconds per token, because the pipeline tags over a thousand
mentions a second end to end.

Example::

    matcher = BrandMatcher([BrandSettings(name="Сбербанк", aliases=["Сбер", "SberBank"])])
    [hit.brand for hit in matcher.match("Ушёл из Сбера, но SberBank звонит")]  # ["Сбербанк"]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from loyalty_monitor.config import BrandSettings

__all__ = ["BrandHit", "BrandMatcher", "normalize_text"]

# A token: letters and digits, optionally followed by an apostrophe ending ("Tinkoff'а"). Applied to text
# already lower-cased with ё folded to е, so one character class serves every case.
_TOKEN = re.compile(r"[0-9a-zа-яе]+(?:['’`][а-яе]+)?")
# What may stand between the words of one alias: spaces, hyphens and dashes, an underscore (hashtags).
_GAP = re.compile(r"[\s\-‐‑‒–—_]{1,3}")
# A latin word with a Cyrillic ending glued on ("tinkoffом"): the latin head is looked up.
_LATIN_HEAD = re.compile(r"([0-9a-z]+)[а-яе]{1,4}")
_CYRILLIC_WORD = re.compile(r"[а-яе]+")

# Endings added to brand words by hand, by the word's last letter, for words the dictionary mis-parses.
# The dictionary lexeme covers real nouns; these cover invented names ("Поляр", "Борей") the same way.
_CONSONANT_ENDINGS = ("а", "у", "ом", "ем", "е", "ы", "и", "ов", "ев", "ам", "ами", "ах")
_HAND_ENDINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    # last letter: (letters to cut, endings to add)
    "й": ("й", ("я", "ю", "ем", "е", "и", "ев", "ям", "ями", "ях")),
    "ь": ("ь", ("я", "ю", "ем", "е", "и", "ей", "ью")),
    "а": ("а", ("ы", "и", "е", "у", "ой", "ою")),
    "я": ("я", ("и", "е", "ю", "ей", "ею")),
}
_INDECLINABLE_LAST = frozenset("оеиуыэю")
_PREFIX_LEN = 3


def normalize_text(text: str) -> str:
    """Lower-case and fold ё to е: the form both aliases and texts are compared in.

    Keeps the length of ``text`` for Cyrillic and Latin letters, so spans found in the result index the
    original; :class:`BrandMatcher` checks that and falls back to per-character folding when it does not.
    """
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=1)
def _morph() -> Any:
    """One shared analyzer: loading the dictionaries costs ~0.1 s and ~15 MB, once per process."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=65536)
def _normal_forms(word: str) -> frozenset[str]:
    """All normal forms pymorphy3 offers for ``word``; cached because texts repeat their vocabulary."""
    return frozenset(str(p.normal_form).replace("ё", "е") for p in _morph().parse(word))


def _hand_forms(word: str) -> set[str]:
    """Case endings for a Cyrillic brand word the dictionary may not know ("борей" -> "борея", "бореем")."""
    if len(word) < 3 or not _CYRILLIC_WORD.fullmatch(word):
        return set()
    last = word[-1]
    if last in _HAND_ENDINGS:
        cut, endings = _HAND_ENDINGS[last]
        stem = word[: -len(cut)]
        return {stem + e for e in endings}
    if last in _INDECLINABLE_LAST:
        return set()
    return {word + e for e in _CONSONANT_ENDINGS}


@dataclass(frozen=True, slots=True)
class _Word:
    """One word of an alias: its surface forms, and normal forms for the slower check."""

    forms: frozenset[str]
    lemmas: frozenset[str]

    def accepts(self, token: str) -> bool:
        return token in self.forms or bool(self.lemmas and (self.lemmas & _normal_forms(token)))


@lru_cache(maxsize=4096)
def _word(word: str) -> _Word:
    """Forms of one alias word: the pymorphy3 lexeme of its nominative reading, plus hand endings.

    A reading whose normal form is the word itself is preferred (the alias is given in the nominative),
    nouns before other parts of speech; when no reading is, the word was given inflected or is a guess,
    and every reading contributes. Latin words and numbers get no lexeme: "tinkoff" stays "tinkoff".
    """
    if not _CYRILLIC_WORD.fullmatch(word):
        return _Word(frozenset({word}), frozenset())
    parses = list(_morph().parse(word))
    exact = [p for p in parses if str(p.normal_form).replace("ё", "е") == word]
    nouns = [p for p in exact if "NOUN" in p.tag]
    chosen = nouns or exact or parses
    forms = {word} | _hand_forms(word)
    for parse in chosen:
        forms.update(str(f.word).replace("ё", "е") for f in parse.lexeme)
    lemmas = {str(p.normal_form).replace("ё", "е") for p in chosen} | {word}
    return _Word(frozenset(forms), frozenset(lemmas))


def _joined_word(words: Sequence[str]) -> _Word:
    """The joined spelling of a multi-word alias: "альфа" + every form of "банк" ("альфабанка")."""
    head = "".join(words[:-1])
    last = _word(words[-1])
    forms = {head + form for form in last.forms} | {"".join(words)}
    return _Word(frozenset(forms), frozenset())


def _alias_tokens(alias: str) -> list[str]:
    return [_token_key(m.group()) for m in _TOKEN.finditer(normalize_text(alias))]


def _token_key(token: str) -> str:
    """The look-up key of a token: its apostrophe ending dropped ("tinkoff'а" -> "tinkoff")."""
    for quote in "'’`":
        if quote in token:
            return token.split(quote, 1)[0]
    return token


@dataclass(frozen=True, slots=True)
class _Pattern:
    """An alias or an exclusion as a sequence of words, owned by the brand at ``brand``."""

    brand: int
    alias: str
    words: tuple[_Word, ...]
    exclusion: bool


@dataclass(frozen=True, slots=True)
class BrandHit:
    """One brand a text names: where (character spans into the text), as what, and by which alias."""

    brand: str
    own: bool
    spans: tuple[tuple[int, int], ...]
    forms: tuple[str, ...]
    aliases: tuple[str, ...]


class BrandMatcher:
    """Finds configured brands in texts; build once per configuration, call :meth:`match` per text.

    Thread-safe after construction: the only shared mutable state is the ``lru_cache`` of normal forms.
    """

    def __init__(self, brands: Sequence[BrandSettings]) -> None:
        self._brands = list(brands)
        self._by_form: dict[str, list[_Pattern]] = {}
        self._by_prefix: dict[str, list[_Pattern]] = {}
        for index, brand in enumerate(self._brands):
            for alias in brand.all_names():
                self._add(index, alias, exclusion=False)
            for phrase in brand.exclusions:
                self._add(index, phrase, exclusion=True)

    def _add(self, brand: int, alias: str, *, exclusion: bool) -> None:
        tokens = _alias_tokens(alias)
        if not tokens:
            return
        variants = [tuple(_word(t) for t in tokens)]
        if len(tokens) > 1:
            variants.append((_joined_word(tokens),))
        for words in variants:
            pattern = _Pattern(brand, alias, words, exclusion)
            first = words[0]
            for form in first.forms:
                bucket = self._by_form.setdefault(form, [])
                if pattern not in bucket:
                    bucket.append(pattern)
            for prefix in {lemma[:_PREFIX_LEN] for lemma in first.lemmas}:
                self._by_prefix.setdefault(prefix, []).append(pattern)

    @property
    def brands(self) -> list[BrandSettings]:
        """The brands this matcher looks for, in configuration order."""
        return list(self._brands)

    def terms(self, brand: str | None = None) -> list[str]:
        """Search queries for collectors: every name and alias (of ``brand``, or of all brands).

        Repeats that differ only in case or ё/е are dropped: platform search ignores those anyway.
        """
        seen: dict[str, str] = {}
        for settings in self._brands:
            if brand is not None and settings.name != brand:
                continue
            for name in settings.all_names():
                seen.setdefault(normalize_text(name), name)
        if brand is not None and not seen:
            raise KeyError(f"no brand named {brand!r}")
        return list(seen.values())

    def match(self, text: str) -> list[BrandHit]:
        """The brands ``text`` names, in order of first appearance, each with every place it is named."""
        low = normalize_text(text)
        if len(low) != len(text):  # a letter whose lower case is longer ("İ"): fold one by one
            low = "".join(normalize_text(ch)[:1] or ch for ch in text)
        tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(low)]
        found: list[tuple[_Pattern, int, int]] = []
        for i, (token, _, _) in enumerate(tokens):
            key = _token_key(token)
            candidates = self._candidates(key)
            for pattern in candidates:
                end = self._extend(pattern, tokens, i, low)
                if end is not None:
                    found.append((pattern, i, end))
        if not found:
            return []
        return self._hits(found, tokens, text)

    def match_names(self, text: str) -> list[str]:
        """Just the brand names :meth:`match` finds."""
        return [hit.brand for hit in self.match(text)]

    def _candidates(self, key: str) -> Iterable[_Pattern]:
        patterns = self._by_form.get(key)
        if patterns is not None:
            return patterns
        if key[:1].isascii() and not key.isascii():
            head = _LATIN_HEAD.fullmatch(key)
            if head is not None:
                return self._by_form.get(head.group(1), ())
        by_prefix = self._by_prefix.get(key[:_PREFIX_LEN])
        if by_prefix is None or len(key) < _PREFIX_LEN:
            return ()
        return [p for p in by_prefix if p.words[0].accepts(key)]

    @staticmethod
    def _extend(pattern: _Pattern, tokens: list[tuple[str, int, int]], i: int, low: str) -> int | None:
        """The index after the last token of ``pattern`` matched from token ``i``, or ``None``."""
        j = i
        for word in pattern.words[1:]:
            j += 1
            if j >= len(tokens):
                return None
            token, start, _ = tokens[j]
            if not _GAP.fullmatch(low, tokens[j - 1][2], start) or not word.accepts(_token_key(token)):
                return None
        return j + 1

    def _hits(
        self, found: list[tuple[_Pattern, int, int]], tokens: list[tuple[str, int, int]], text: str
    ) -> list[BrandHit]:
        excluded: dict[int, list[tuple[int, int]]] = {}
        matches: list[tuple[_Pattern, int, int]] = []
        for pattern, start, end in found:
            if pattern.exclusion:
                excluded.setdefault(pattern.brand, []).append((start, end))
            else:
                matches.append((pattern, start, end))
        # Longest first; a match overlapping a longer accepted one gives way, equal ranges of different
        # brands both stand (the text is genuinely ambiguous).
        matches.sort(key=lambda m: (m[1] - m[2], m[1]))
        accepted: list[tuple[_Pattern, int, int]] = []
        for pattern, start, end in matches:
            if any(s < end and start < e for s, e in excluded.get(pattern.brand, ())):
                continue
            clash = False
            for other, s, e in accepted:
                if (
                    s < end
                    and start < e
                    and ((e - s) > (end - start) or other.brand == pattern.brand or (s, e) != (start, end))
                ):
                    clash = True
                    break
            if not clash:
                accepted.append((pattern, start, end))
        accepted.sort(key=lambda m: m[1])
        grouped: dict[int, list[tuple[_Pattern, int, int]]] = {}
        for item in accepted:
            grouped.setdefault(item[0].brand, []).append(item)
        hits = []
        for brand_index, items in grouped.items():
            spans = tuple((tokens[s][1], tokens[e - 1][2]) for _, s, e in items)
            settings = self._brands[brand_index]
            hits.append(
                BrandHit(
                    brand=settings.name,
                    own=settings.own,
                    spans=spans,
                    forms=tuple(text[a:b] for a, b in spans),
                    aliases=tuple(dict.fromkeys(p.alias for p, _, _ in items)),
                )
            )
        return hits
