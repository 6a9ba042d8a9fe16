"""Tokenisation, brand aliases and target location for the built-in models.

The fast model reads lowercase tokens and needs to know which tokens name the target brand and which name
other brands, so that a tweet like "ушёл из Сбера в Тинькофф, доволен" can be negative for one and positive
for the other. People write brands in many forms (Сбер, сбербанка, #сбербанк, @sberbank, СБЕР), so a token
matches an alias by exact form, by stem prefix (the alias without its final vowel) or by pymorphy3 normal
form. The same locator runs at training and at prediction time, so what the model learnt from SentiRuEval's
per-entity labels carries over to any brand the pipeline asks about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "BRAND_ALIASES",
    "AliasMatcher",
    "TokenRole",
    "locate",
    "tokenize",
]

# Entity columns of SentiRuEval-2016 and the well-known brands of the same markets, mapped to the surface
# forms people write. Multi-word aliases are space separated; hyphens in the text are skipped while matching.
BRAND_ALIASES: dict[str, tuple[str, ...]] = {
    "sberbank": ("сбербанк", "сбер", "sberbank", "sber", "сбербанк онлайн", "сбол"),
    "vtb": ("втб", "vtb", "втб24"),
    "gazprom": ("газпромбанк", "gazprombank", "гпб"),
    "alfabank": ("альфабанк", "альфа банк", "alfabank", "alfa bank", "альфа"),
    "bankmoskvy": ("банк москвы", "bankmoskvy"),
    "raiffeisen": ("райффайзенбанк", "райффайзен", "райфайзен", "raiffeisen", "райф"),
    "uralsib": ("уралсиб", "uralsib"),
    "rshb": ("россельхозбанк", "рсхб", "rshb"),
    "tinkoff": ("тинькофф", "тинькоф", "тиньков", "tinkoff", "т банк", "тбанк"),
    "otkritie": ("открытие", "otkritie"),
    "pochtabank": ("почта банк", "почтабанк"),
    "beeline": ("билайн", "beeline", "вымпелком"),
    "mts": ("мтс", "mts"),
    "megafon": ("мегафон", "megafon", "megafonru"),
    "tele2": ("теле2", "tele2", "теле 2", "tele 2", "т2"),
    "rostelecom": ("ростелеком", "rostelecom", "ртк"),
    "komstar": ("комстар", "komstar"),
    "skylink": ("скайлинк", "skylink"),
    "yota": ("йота", "yota"),
}

_URL = re.compile(r"https?://\S+|www\.\S+")
_TOKEN = re.compile(r"[^\W\d_]+\d*|\d+|([^\w\s])\1*")
_VOWELS = set("аеиоуыэюяйьaeiouy")


class TokenRole:
    """Role ids of tokens: ordinary, part of the target's name, part of another brand's name."""

    OTHER_TEXT = 0
    TARGET = 1
    OTHER_BRAND = 2


@lru_cache(maxsize=8192)
def _norm_token(tok: str) -> str:
    # Runs of the same punctuation (")))))", "!!!!") carry intensity but not beyond three.
    if len(tok) > 3 and not tok[0].isalnum():
        return tok[:3]
    return tok


def tokenize(text: str) -> list[str]:
    """Lowercase tokens: words (with trailing digits, "втб24"), numbers, runs of one punctuation mark.

    A regex rather than razdel: it is several times faster and the model only needs consistent tokens.
    Links become one ``<url>`` token; ``ё`` is folded to ``е`` as most writers do.
    """
    text = _URL.sub(" <url> ", text.lower().replace("ё", "е"))
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok == "<" or tok == ">":
            continue
        out.append(_norm_token(tok))
    # "<url>" is split by the regex into "<", "url", ">"; the brackets are dropped above.
    return out


def _stem(word: str) -> str:
    """The prefix a declined form of ``word`` starts with: drop a final vowel of words of 5+ letters."""
    if len(word) >= 5 and word[-1] in _VOWELS:
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def _normal_form(word: str) -> str:
    return _morph().parse(word)[0].normal_form if word.isalpha() else word


@lru_cache(maxsize=1)
def _morph():  # type: ignore[no-untyped-def]
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@dataclass(frozen=True, slots=True)
class _Alias:
    words: tuple[str, ...]
    stems: tuple[str, ...]
    normals: tuple[str, ...]


def _word_matches(tok: str, alias_word: str, stem: str, normal: str) -> bool:
    if tok == alias_word:
        return True
    if len(stem) >= 3 and tok.startswith(stem) and len(tok) <= len(alias_word) + 5:
        return True
    if len(alias_word) >= 4 and tok[:2] == alias_word[:2] and tok.isalpha():
        return _normal_form(tok) == normal
    return False


class AliasMatcher:
    """Finds the token spans naming one brand, given its name and aliases."""

    def __init__(self, names: Iterable[str]) -> None:
        aliases: list[_Alias] = []
        seen: set[tuple[str, ...]] = set()
        for name in names:
            words = tuple(t for t in tokenize(name) if t != "-")
            if not words or words in seen:
                continue
            seen.add(words)
            aliases.append(
                _Alias(words, tuple(_stem(w) for w in words), tuple(_normal_form(w) for w in words))
            )
        self._aliases = aliases
        self._first = {a.words[0][:2] for a in aliases}

    def spans(self, tokens: Sequence[str]) -> list[int]:
        """Indexes of the tokens that belong to a mention of the brand."""
        hits: list[int] = []
        n = len(tokens)
        for i, tok in enumerate(tokens):
            if tok[:2] not in self._first:
                continue
            for a in self._aliases:
                if not _word_matches(tok, a.words[0], a.stems[0], a.normals[0]):
                    continue
                idx = [i]
                j = i + 1
                ok = True
                for w, s, nf in zip(a.words[1:], a.stems[1:], a.normals[1:], strict=True):
                    while j < n and tokens[j] == "-":
                        j += 1
                    if j < n and _word_matches(tokens[j], w, s, nf):
                        idx.append(j)
                        j += 1
                    else:
                        ok = False
                        break
                if ok:
                    hits.extend(idx)
                    break
        return sorted(set(hits))


@lru_cache(maxsize=1024)
def _matcher(names: tuple[str, ...]) -> AliasMatcher:
    return AliasMatcher(names)


def _canonical(target: str) -> str | None:
    """The built-in brand key a target name refers to, if any (so its aliases are used too)."""
    toks = tuple(t for t in tokenize(target) if t != "-")
    if not toks:
        return None
    for key, aliases in BRAND_ALIASES.items():
        if target.lower() == key:
            return key
        for alias in aliases:
            if tuple(t for t in tokenize(alias) if t != "-") == toks:
                return key
        m = _matcher(aliases)
        if len(toks) == 1 and m.spans(list(toks)) == [0]:
            return key
    return None


@lru_cache(maxsize=1024)
def _target_names(target: str, aliases: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    key = _canonical(target)
    names = [target, *aliases]
    if key is not None:
        names.extend(BRAND_ALIASES[key])
    return tuple(names), key


def locate(tokens: Sequence[str], target: str | None, aliases: Sequence[str] = ()) -> list[int]:
    """Per-token roles (:class:`TokenRole`) for ``tokens`` with respect to ``target``.

    Without a target every token is ordinary. Otherwise the target's own spellings, its ``aliases`` and, when
    the target is a known brand, that brand's built-in aliases mark TARGET tokens; every other built-in
    brand found in the text marks OTHER_BRAND tokens.
    """
    roles = [TokenRole.OTHER_TEXT] * len(tokens)
    if target is None or not tokens:
        return roles
    names, key = _target_names(target, tuple(aliases))
    for key2, brand_aliases in BRAND_ALIASES.items():
        if key2 == key:
            continue
        for i in _matcher(brand_aliases).spans(tokens):
            roles[i] = TokenRole.OTHER_BRAND
    for i in _matcher(names).spans(tokens):
        roles[i] = TokenRole.TARGET
    return roles
