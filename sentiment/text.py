"""Model tokens, brand aliases and target location for the built-in models.

The fast model reads lowercase tokens and needs to know which tokens name the target brand and which name
other brands, so that a tweet like "ушёл из Сбера в Тинькофф, доволен" can be negative for one and positive
for the other. People write brands in many forms (Сбер, сбербанка, #сбербанк, @sberbank, СБЕР), so a token
matches an alias by exact form, by stem prefix (the alias without its final vowel) or by pymorphy3 normal
form. The same locator runs at training and at prediction time, so what the model learnt from SentiRuEval's
per-entity labels carries over to any brand the pipeline asks about.

The Russian itself (lower-casing with ё folded to е, the pymorphy3 analyser and its normal forms) comes from
:mod:`core.text`, the project's one Russian text module, so a word has the same normal form here as in brand
matching and the alert rules. What stays here is the models' own token rule: unlike :func:`core.text.tokens`
it keeps punctuation runs, emoji and links as tokens, because ")))" and "!!!" carry sentiment and both
shipped models were trained on exactly these tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from core.text import fold, normal_form

__all__ = [
    "FOCUS_CHARS",
    "FOCUS_WINDOWS",
    "AliasMatcher",
    "TokenRole",
    "focus",
    "locate",
    "mark",
    "tokenize",
]

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
    text = _URL.sub(" <url> ", fold(text))
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


def _normal_form(word: str) -> str:
    """The likeliest normal form of an alphabetic token (:func:`core.text.normal_form`), else the token."""
    return normal_form(word) if word.isalpha() else word


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


def locate(
    tokens: Sequence[str],
    target: str | None,
    aliases: Sequence[str] = (),
    other_brands: Sequence[str] = (),
) -> list[int]:
    """Per-token roles (:class:`TokenRole`) for ``tokens`` with respect to ``target``.

    Without a target every token is ordinary. Otherwise the target and its ``aliases`` mark TARGET tokens
    and ``other_brands`` (the other configured brands found in the text, names and aliases) mark
    OTHER_BRAND tokens. No built-in list of brands takes part: what counts as a brand or a competitor is
    the user's configuration, so an invented or local brand is treated like a famous one.
    """
    roles = [TokenRole.OTHER_TEXT] * len(tokens)
    if target is None or not tokens:
        return roles
    if other_brands:
        for i in _matcher(tuple(other_brands)).spans(tokens):
            roles[i] = TokenRole.OTHER_BRAND
    for i in _matcher((target, *aliases)).spans(tokens):
        roles[i] = TokenRole.TARGET
    return roles


def mark(
    text: str,
    target: str,
    aliases: Sequence[str] = (),
    other_brands: Sequence[str] = (),
    mask: bool = True,
) -> str:
    """The text's tokens, space-joined, with the target and the other brands made visible to a model.

    With ``mask`` every mention of the target becomes ``[[ X ]]`` and every other brand ``{{ Y }}``
    (consecutive tokens of one mention collapse into one placeholder; a hyphen inside a name stays
    between the placeholders of its words), so the model reads the
    construction ("ушел из [[ X ]] в {{ Y }}") and cannot fall back on what it learned about a brand's
    name. Without ``mask`` the names stay inside the brackets.
    """
    tokens = tokenize(text)
    roles = locate(tokens, target, aliases, other_brands)
    out: list[str] = []
    prev = TokenRole.OTHER_TEXT
    for tok, role in zip(tokens, roles, strict=True):
        if role == TokenRole.OTHER_TEXT:
            out.append(tok)
        elif mask:
            if role != prev:
                out.append("[[ X ]]" if role == TokenRole.TARGET else "{{ Y }}")
        elif role == TokenRole.TARGET:
            out.append(f"[[ {tok} ]]")
        else:
            out.append(f"{{{{ {tok} }}}}")
        prev = role
    return " ".join(out)


# A long text is read in windows around the target's mentions: at most FOCUS_WINDOWS windows of about
# FOCUS_CHARS characters each, so the work per (text, brand) is bounded whatever the text's length.
FOCUS_CHARS = 400
FOCUS_WINDOWS = 4
_FOCUS_LIMIT = FOCUS_CHARS * FOCUS_WINDOWS
_SURROGATE = re.compile("[\ud800-\udfff]")


def _search_stems(names: Sequence[str]) -> list[str]:
    """Lowercase prefixes a mention of one of ``names`` starts with (the first word's stem)."""
    out: set[str] = set()
    for name in names:
        words = [t for t in tokenize(name) if t != "-"]
        if words:
            stem = _stem(words[0])
            out.add(stem if len(stem) >= 2 else words[0])
    return sorted(out, key=len, reverse=True)


def focus(text: str, target: str | None, aliases: Sequence[str] = ()) -> str:
    """``text`` itself when short; otherwise up to :data:`FOCUS_WINDOWS` windows around the target.

    Why: a long article or a 5 MB import row would otherwise be tokenised and matched whole, and a brand
    named 250,000 times would be located 250,000 times. The search is one linear regex scan that stops
    after the first mentions; windows that overlap are merged and joined with " … ". Without a target,
    or when the target is not found by its stem, the start of the text is read.
    """
    if _SURROGATE.search(text):
        # A lone surrogate (JSON "\ud800") cannot be encoded for the tokenizers: read it as U+FFFD.
        text = _SURROGATE.sub("\ufffd", text)
    if len(text) <= _FOCUS_LIMIT:
        return text
    starts: list[int] = []
    stems = _search_stems((target, *aliases)) if target else []
    if stems:
        low = fold(text)  # same length as text: offsets carry over
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(s) for s in stems) + ")")
        for m in pattern.finditer(low):
            if starts and m.start() < starts[-1] + FOCUS_CHARS // 2:
                continue
            starts.append(m.start())
            if len(starts) >= FOCUS_WINDOWS:
                break
    if not starts:
        return text[:_FOCUS_LIMIT]
    half = FOCUS_CHARS // 2
    spans: list[list[int]] = []
    for at in starts:
        lo, hi = max(0, at - half), min(len(text), at + half)
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi])
    return " … ".join(text[lo:hi] for lo, hi in spans)
