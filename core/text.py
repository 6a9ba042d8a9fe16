"""Russian text, once: tokens, ё-folding, normal forms (one pymorphy3 analyser), brand and phrase matching.

Every layer that reads Russian reads it through this module, so "Сбер" is a token, "ё" is "е" and
"Роспотребнадзором" has the same normal form everywhere:

* :func:`fold` lower-cases and folds ё to е without changing the length (spans found in the folded text
  index the original);
* :func:`tokens` are the words of a text (letters and digits; an apostrophe ending such as "Tinkoff'а" is
  dropped), folded;
* :func:`analyser` is the process's one pymorphy3 analyser; :func:`normal_forms` is every normal form it
  offers for a word (plus the word), :func:`normal_form` its likeliest one;
* :class:`BrandMatcher` finds configured brands (:class:`Brand`), :class:`TermMatcher` finds phrases such as
  the escalation terms of the alert rules ("пожалуюсь в Роспотребнадзор").

Brand matching. Russian inflects brand names like any other noun ("Сбербанк", "Сбербанка", "Сбером"),
people write them in several scripts and joinings ("Альфа-Банк", "альфа банк", "альфабанк", "Alfa-Bank"),
and short aliases hide inside ordinary words ("Сбер" in "сбережения"). Substring search gets all of that
wrong, so matching works on whole tokens:

* every alias becomes a sequence of words, and every word the set of its surface forms, taken from the
  pymorphy3 lexeme plus a small hand-written declension for brand words the dictionary does not know
  ("Поляр" is guessed as a form of "поляра", yet people write "Поляром"); a multi-word alias also gets its
  joined spelling ("альфабанк", "альфабанка");
* a token that is not a known form but shares a prefix with an alias word is compared by normal forms
  (cached), which catches inflections the lexeme missed and still rejects "сберечь";
* ``exclusions`` ("альфа-версия") are matched the same way and veto the brand hits they overlap;
* when aliases overlap, the longest wins ("Почта Банк" over "Почта"), so one place names one brand, while
  one text may name many brands.

All of that is precomputed in :class:`BrandMatcher`'s constructor; :meth:`BrandMatcher.match` does one regex
pass, dictionary look-ups and a bounded amount of work per match, so its time grows linearly with the text
(a text naming a brand 250,000 times costs 250,000 times one naming it once, not its square). Texts longer
than :data:`MATCH_MAX_CHARS` are read up to that length, with one warning line.

Phrase matching. A phrase word matches a text word when the sets of their possible normal forms meet:
surnames such as "Тинькову" parse both as "тиньков" and "тинькова", and one guess would miss half of them.

Example::

    matcher = BrandMatcher([BrandSettings(name="Сбербанк", aliases=["Сбер", "SberBank"])])
    [hit.brand for hit in matcher.match("Ушёл из Сбера, но SberBank звонит")]  # ["Сбербанк"]
    TermMatcher({"regulator": ["Роспотребнадзор"]}).find("пожалуюсь в роспотребнадзор")
    # {"regulator": ["Роспотребнадзор"]}
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

__all__ = [
    "MATCH_MAX_CHARS",
    "Brand",
    "BrandHit",
    "BrandMatcher",
    "TermMatcher",
    "analyser",
    "fold",
    "normal_form",
    "normal_forms",
    "tokens",
]

log = logging.getLogger(__name__)

MATCH_MAX_CHARS = 100_000
"""Brand matching reads at most this many characters of one text. A long article is some 40,000; beyond
this a text is a paste or an attack, and reading all of it would hold up the tagging of every other one."""

# A token: letters and digits, optionally followed by an apostrophe ending ("Tinkoff'а"). Applied to text
# already folded (lower case, ё as е), so one character class serves every case.
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


# -- primitives -------------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case and fold ё to е: the form every comparison of Russian words is made in.

    Keeps the length of ``text`` for Cyrillic and Latin letters, so spans found in the result index the
    original; :class:`BrandMatcher` checks that and falls back to per-character folding when it does not.
    """
    return text.lower().replace("ё", "е")


def _token_key(token: str) -> str:
    """The look-up key of a token: its apostrophe ending dropped ("tinkoff'а" -> "tinkoff")."""
    for quote in "'’`":
        if quote in token:
            return token.split(quote, 1)[0]
    return token


def _token_spans(folded: str) -> Iterator[tuple[str, int, int]]:
    """``(token, start, end)`` of every token of folded text; the token keeps its apostrophe ending."""
    for m in _TOKEN.finditer(folded):
        yield m.group(), m.start(), m.end()


def tokens(text: str) -> list[str]:
    """The folded words of ``text``, apostrophe endings dropped: ``"Сбер'а, ЁЛКИ"`` -> ``["сбер", "елки"]``.

    One word rule for brands and phrases alike (a word never ends inside "Tinkoff'а")."""
    return [_token_key(m.group()) for m in _TOKEN.finditer(fold(text))]


@lru_cache(maxsize=1)
def analyser() -> Any:
    """The process's one pymorphy3 analyser: loading its dictionaries costs ~0.1 s and ~15 MB, once."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def normal_forms(word: str) -> frozenset[str]:
    """Every normal form pymorphy3 offers for ``word`` (folded), and the word itself; cached because texts
    repeat their vocabulary."""
    forms = {fold(str(p.normal_form)) for p in analyser().parse(word)}
    forms.add(word)
    return frozenset(forms)


@lru_cache(maxsize=65536)
def normal_form(word: str) -> str:
    """The likeliest normal form of ``word`` (pymorphy3's first parse), folded."""
    parses = analyser().parse(word)
    return fold(str(parses[0].normal_form)) if parses else word


# -- brand matching --------------------------------------------------------------------------------------


class Brand(Protocol):
    """What brand matching needs to know about a configured brand (``BrandSettings`` in the config)."""

    @property
    def name(self) -> str: ...

    @property
    def own(self) -> bool: ...

    @property
    def exclusions(self) -> Sequence[str]: ...

    def all_names(self) -> list[str]:
        """The name and aliases, the name first, without repeats."""
        ...


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
        return token in self.forms or bool(self.lemmas and (self.lemmas & normal_forms(token)))


@lru_cache(maxsize=4096)
def _word(word: str) -> _Word:
    """Forms of one alias word: the pymorphy3 lexeme of its nominative reading, plus hand endings.

    A reading whose normal form is the word itself is preferred (the alias is given in the nominative),
    nouns before other parts of speech; when no reading is, the word was given inflected or is a guess,
    and every reading contributes. Latin words and numbers get no lexeme: "tinkoff" stays "tinkoff".
    """
    if not _CYRILLIC_WORD.fullmatch(word):
        return _Word(frozenset({word}), frozenset())
    parses = list(analyser().parse(word))
    exact = [p for p in parses if fold(str(p.normal_form)) == word]
    nouns = [p for p in exact if "NOUN" in p.tag]
    chosen = nouns or exact or parses
    forms = {word} | _hand_forms(word)
    for parse in chosen:
        forms.update(fold(str(f.word)) for f in parse.lexeme)
    lemmas = {fold(str(p.normal_form)) for p in chosen} | {word}
    return _Word(frozenset(forms), frozenset(lemmas))


def _joined_word(words: Sequence[str]) -> _Word:
    """The joined spelling of a multi-word alias: "альфа" + every form of "банк" ("альфабанка")."""
    head = "".join(words[:-1])
    last = _word(words[-1])
    forms = {head + form for form in last.forms} | {"".join(words)}
    return _Word(frozenset(forms), frozenset())


def _alias_tokens(alias: str) -> list[str]:
    return [_token_key(m.group()) for m in _TOKEN.finditer(fold(alias))]


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

    def __init__(self, brands: Sequence[Brand], *, max_chars: int = MATCH_MAX_CHARS) -> None:
        self._brands = list(brands)
        self._max_chars = max_chars
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
    def brands(self) -> list[Brand]:
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
                seen.setdefault(fold(name), name)
        if brand is not None and not seen:
            raise KeyError(f"no brand named {brand!r}")
        return list(seen.values())

    def match(self, text: str, *, where: str = "a text") -> list[BrandHit]:
        """The brands ``text`` names, in order of first appearance, each with every place it is named.

        A text longer than the matcher's ``max_chars`` is read up to there (a word cut in two is dropped),
        with one warning naming ``where`` (``mention 42``): its hits are the ones in that part.
        """
        cut = len(text) > self._max_chars
        if cut:
            log.warning(
                "brand matching: %s has %d characters; only the first %d are searched for brands",
                where,
                len(text),
                self._max_chars,
            )
        part = text[: self._max_chars] if cut else text
        low = fold(part)
        if len(low) != len(part):  # a letter whose lower case is longer ("İ"): fold one by one
            low = "".join(fold(ch)[:1] or ch for ch in part)
        tokens = list(_token_spans(low))
        if cut and tokens and tokens[-1][2] == len(low) and fold(text[len(part)]).isalnum():
            tokens.pop()  # the cut fell inside this word
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
        """Resolve overlaps among ``found`` (in token order): exclusions veto, the longest match wins.

        Linear in the number of matches: a match is compared only with the accepted matches that cover its
        own tokens (a bounded number: accepted matches on one token all have the same range and differ in
        brand), and matches are visited longest first by bucketing on length, not by comparing with every
        match accepted so far.
        """
        excluded: dict[int, set[int]] = {}  # brand -> token indexes inside its exclusions
        matches: list[tuple[_Pattern, int, int]] = []
        for pattern, start, end in found:
            if pattern.exclusion:
                excluded.setdefault(pattern.brand, set()).update(range(start, end))
            else:
                matches.append((pattern, start, end))
        by_length: dict[int, list[int]] = {}
        for index, (_, start, end) in enumerate(matches):
            by_length.setdefault(end - start, []).append(index)
        # Longest first; a match overlapping a longer accepted one gives way, equal ranges of different
        # brands both stand (the text is genuinely ambiguous).
        accepted = [False] * len(matches)
        cover: dict[int, list[tuple[_Pattern, int, int]]] = {}  # token index -> accepted matches on it
        for length in sorted(by_length, reverse=True):
            for index in by_length[length]:
                pattern, start, end = matches[index]
                vetoes = excluded.get(pattern.brand)
                if vetoes and any(t in vetoes for t in range(start, end)):
                    continue
                if any(
                    other.brand == pattern.brand or (s, e) != (start, end)
                    for t in range(start, end)
                    for other, s, e in cover.get(t, ())
                ):
                    continue
                accepted[index] = True
                for t in range(start, end):
                    cover.setdefault(t, []).append(matches[index])
        grouped: dict[int, list[tuple[_Pattern, int, int]]] = {}
        for index, item in enumerate(matches):  # token order: the order of first appearance
            if accepted[index]:
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


# -- phrase matching -------------------------------------------------------------------------------------


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
