"""How a post that names the target and a competitor is cut into what each brand's label is read from.

Why: read whole, "у X связь пропадает, а у Y ловит везде" or "ушёл из X в Y и не пожалел" mixes two
opinions into each brand's label, and the models then give both brands one label. Russian marks who is
praised and who is left behind with a small closed set of words: sentence ends and conjunctions that end a
clause, prepositions that make a brand the one left ("из X в Y", "с X на Y", "от X к Y", "вместо X",
"в пользу Y"), the standard of a comparison ("лучше, чем X", "удобнее X", "в отличие от X", "не то что
X", "по сравнению с X") and time ("раньше X ..., теперь Y ..."). This module reads that syntax, never a
brand's name, and says what the default model should read for a target besides the whole text:

* **its own clauses**: the clauses naming the target and no other brand, with the brand-less clauses that
  continue them;
* **the other side, mirrored**: when the target is the brand left or the standard of comparison, the
  whole text read for the competitor, whose negative and positive scores are then swapped ("ушёл из X в
  Y и не пожалел": X is read as Y's reading, mirrored). Switching and preferring are a choice between
  two: praise of the one chosen is a verdict against the one left, and regret ("перешёл с X на Y и
  пожалел") turns both. The brand chosen is read whole: its clause alone ("ушёл в Y и не пожалел") was
  read worse than the sentence (round fourteen of docs/sentiment-experiments.md);
* **the other side's own clauses, mirrored**, when the two brands own clauses joined by a contrastive
  word ("у X связь пропадает, а у Y ловит везде"; not an "а" that adds, "а также", nor a text that reads
  as a news report, :mod:`sentiment.register`, where "а" joins events rather than opinions);
* **one joint reading** when a clause judges the brands alike ("X и Y одинаково плохи", "у обоих", "у
  всех", "тоже", "ни X, ни Y", "ничем не лучше X"): the text with every brand marked as the target, one
  read shared by all its brands.

Besides the readings, :func:`stance` says what the syntax makes of the target (the brand chosen, the
brand left or measured against, or neither; regret turns it, a question sets none), which the default
adds as a prior: the choice itself is a verdict the models often miss.

Clauses (:func:`segments`) end at a sentence end and before a contrastive word (а, но, зато, однако,
хотя, теперь, сейчас, тогда, ныне). Commas do not end a clause (cutting there made each piece read
worse). A clause that names no brand continues the one before it ("все ругают X, а у меня ни одного
обрыва"), or the first one after it when it opens the text. "не то что X", "в отличие от X", "по
сравнению с X", "вместо X", "чего не скажешь о X" open a clause of their own, closed by the next comma,
and so does "не X," before "а Y" (or "а не Y" after "X,"): its brand is the standard the nearest other
brand is measured against.
Inside a clause naming both brands the prepositions and verbs decide (:func:`_side_left_in_clause`):
verbs of switching and, when the clause names no amount, of moving one's money ("перевёл все
накопления из X в Y"), of exchange ("поменял X на Y"), and of leaving ("закрыл счёт в X, открыл в Y");
"раньше X ..., теперь Y ..." sets the roles between clauses.

A negated comparative ("ничем не лучше X", "не хуже, чем X") names two brands judged alike and sets up
no roles; nor does a bare "из X в Y" without a verb of switching ("перевод из X в Y шёл три дня") or
with an amount ("перевёл 500 рублей из X в Y").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from core.text import analyser, normal_forms
from sentiment.register import is_news
from sentiment.text import TokenRole, locate, tokenize

__all__ = ["Reading", "Segment", "readings", "segments", "stance"]

_SENTENCE_END = frozenset(".!?;…")
# Words that open a new clause with a contrast of its own.
_CONTRAST_WORDS = frozenset({"а", "но", "зато", "однако", "хотя", "теперь", "сейчас", "тогда", "ныне"})
# Words after "а" that make it add or go on in time, not contrast ("а также", "а потом").
_ADDING_WORDS = frozenset({"также", "затем", "потом", "вскоре", "еще", "ещё", "заодно"})
# Phrases that open a clause whose brand is the standard another brand is measured against.
_STANDARD_PHRASES: tuple[tuple[str, ...], ...] = (
    ("не", "то", "что"),
    ("в", "отличие", "от"),
    ("по", "сравнению", "с"),
    ("по", "сравнению", "со"),
    ("в", "сравнении", "с"),
    ("в", "сравнении", "со"),
    ("чего", "не", "скажешь", "о"),
    ("чего", "не", "скажешь", "об"),
    ("чего", "не", "скажешь", "про"),
    ("вместо",),
)
# Words that put the clause they open after an earlier one in time: the brand before is the one left.
_NOW_WORDS = frozenset({"теперь", "сейчас", "ныне"})
_PAST_WORDS = frozenset({"раньше", "прежде", "ранее"})
# Prepositions of the brand left and of the brand chosen, in a clause with a verb of switching.
_FROM = frozenset({"из", "с", "со", "от"})
_TO = frozenset({"в", "во", "на", "к", "ко"})
# Verbs (and nouns) of switching, by normal form. Not "перевести": "перевод из X в Y" is often a payment.
_SWITCH_LEMMAS = frozenset(
    {
        "уйти",
        "уходить",
        "перейти",
        "переходить",
        "переход",
        "переехать",
        "переезжать",
        "переезд",
        "переключиться",
        "переключаться",
        "перебраться",
        "перебираться",
        "сбежать",
        "сбегать",
        "свалить",
        "вернуться",
        "возвращаться",
        "переметнуться",
        "пересесть",
        "отказаться",
        "отказываться",
    }
)
# Verbs that move one's money or business (perfective): a switch too, unless the clause names an amount
# ("перевёл 500 рублей из X в Y" is a payment) or uses the noun ("перевод из X в Y шёл три дня").
_TRANSFER_LEMMAS = frozenset({"перевести", "перенести"})
# Verbs of leaving a brand without a destination in their clause ("закрыл счёт в X, открыл в Y"): the
# brand within three words after one is left when the other brand is not.
_LEAVE_LEMMAS = frozenset(
    {
        "закрыть",
        "закрывать",
        "расторгнуть",
        "расторгать",
        "отключиться",
        "отключаться",
        "удалить",
        "отписаться",
        "бросить",
    }
)
# Words of regret: a switch regretted turns the roles' verdict ("перешёл с X на Y и пожалел").
_REGRET_LEMMAS = frozenset({"жалеть", "пожалеть", "ошибка", "зря", "зачем", "напрасно"})
# Words that judge the brands of a clause alike ("X и Y одинаково плохи", "у обоих", "у всех", "тоже").
_ALIKE_WORDS = frozenset(
    {"оба", "обе", "обоих", "обеих", "одинаково", "одинаковы", "одинаковые", "одинаковый", "тоже"}
)
# Verbs of exchange: "поменял X на Y", the object without a preposition is the brand left.
_EXCHANGE_LEMMAS = frozenset({"поменять", "менять", "сменить", "заменить", "променять", "обменять"})
# Prepositions between "чем" and the brand ("быстрее, чем в X").
_PREPOSITIONS = frozenset({"в", "во", "у", "на", "с", "со", "к", "ко", "о", "об", "про", "для"})
_NEGATIONS = frozenset({"не", "ни", "ничем", "ничуть", "нисколько"})


@dataclass(frozen=True, slots=True)
class Segment:
    """A clause: its token span, the brand roles it names, and whether a standard phrase opens it."""

    start: int
    end: int
    roles: frozenset[int]
    standard: bool = False


@dataclass(frozen=True, slots=True)
class Reading:
    """What to read for a target: ``text`` (tokens joined by spaces, which :func:`tokenize` reads back
    unchanged), about the target's own side (``role`` TARGET) or the competitor's (OTHER_BRAND), whose
    scores are then ``mirrored`` (negative and positive swapped). A ``joint`` reading (role TARGET) reads
    the competitors as the target too: the brands are judged alike, so one read is both brands' label."""

    text: str
    role: int
    mirrored: bool
    joint: bool = False


@lru_cache(maxsize=65536)
def _is_comparative(word: str) -> bool:
    """Whether pymorphy3 reads ``word`` as a comparative ("лучше", "удобнее", "дешевле")."""
    if not word.isalpha() or len(word) < 4:
        return False
    return any("COMP" in p.tag for p in analyser().parse(word)[:2])


@lru_cache(maxsize=65536)
def _is_lemma(word: str, lemmas: frozenset[str]) -> bool:
    return word.isalpha() and not normal_forms(word).isdisjoint(lemmas)


def _starts_phrase(tokens: Sequence[str], i: int) -> tuple[str, ...] | None:
    return next((p for p in _STANDARD_PHRASES if tuple(tokens[i : i + len(p)]) == p), None)


def segments(tokens: Sequence[str], roles: Sequence[int]) -> list[tuple[Segment, int]]:
    """The clauses of a tokenised text (see the module docstring), each with its sentence number.

    ``roles`` are the tokens' roles (:func:`sentiment.text.locate`): "не X, а Y" is told by them.
    """
    out: list[tuple[Segment, int]] = []
    n = len(tokens)
    start, standard, sentence = 0, False, 0

    def close(end: int) -> None:
        named = frozenset(roles[start:end]) - {TokenRole.OTHER_TEXT}
        words = [k for k in range(start, end) if tokens[k].isalnum()]
        if len(words) > 2 and tokens[words[0]] == "а" and tokens[words[1]] == "не":
            words = words[1:]  # "X, а не Y": the same denial, after the brand chosen
        # "не X, а Y": a clause that only denies a brand makes it the standard of the one beside it
        denied = len(words) > 1 and tokens[words[0]] == "не" and len(named) == 1
        denied = denied and all(roles[k] != TokenRole.OTHER_TEXT for k in words[1:])
        out.append((Segment(start, end, named, standard or denied), sentence))

    i = 0
    while i < n:
        tok = tokens[i]
        phrase = _starts_phrase(tokens, i)
        if phrase is not None or (tok in _CONTRAST_WORDS and i > start):
            if i > start:
                close(i)
                start = i
            standard = phrase is not None
            i += len(phrase) if phrase else 1
            continue
        if tok[0] in _SENTENCE_END or (standard and tok == ","):
            close(i + 1)
            start, standard = i + 1, False
            sentence += tok[0] in _SENTENCE_END
        i += 1
    if start < n:
        close(n)
    return out


def _mentions(tokens: Sequence[str], roles: Sequence[int], a: int, b: int) -> list[tuple[int, int, int]]:
    """(role, start, end) of each run of brand tokens in [a, b); a hyphen inside a name stays in it."""
    out: list[tuple[int, int, int]] = []
    k = a
    while k < b:
        r = roles[k]
        if r == TokenRole.OTHER_TEXT:
            k += 1
            continue
        e = k + 1
        while e < b and (roles[e] == r or (tokens[e] == "-" and e + 1 < b and roles[e + 1] == r)):
            e += 1
        out.append((r, k, e))
        k = e
    return out


def _negated(tokens: Sequence[str], k: int) -> bool:
    """Whether the word at ``k`` is negated ("не лучше", "ничем не лучше")."""
    return any(tokens[j] in _NEGATIONS for j in range(max(0, k - 2), k))


def _is_standard_of_comparison(tokens: Sequence[str], a: int, start: int) -> bool:
    """Whether the mention at ``start`` is what a comparison is measured against: "удобнее X" (a
    comparative, not negated, right before it) or "чем [предлог] X" after a comparative of the clause
    that is not negated ("ничем не лучше, чем X" judges both alike)."""
    k = start - 1
    if k >= a and tokens[k] in _PREPOSITIONS:
        k -= 1
    if k < a:
        return False
    if tokens[k] == "чем":
        comps = [j for j in range(a, k) if _is_comparative(tokens[j])]
        return bool(comps) and not _negated(tokens, comps[-1])
    return k == start - 1 and _is_comparative(tokens[k]) and not _negated(tokens, k)


def _after_verb(
    tokens: Sequence[str], roles: Sequence[int], a: int, prep: int, lemmas: frozenset[str]
) -> bool:
    """Whether a verb of ``lemmas`` is among the three words before ``prep`` (brand names skipped), not
    negated: "ушёл из X в Y" makes Y the destination, "вернулась в X после полугода в Y" only X;
    "закрыл счёт в X" leaves X."""
    words = [k for k in range(prep - 1, a - 1, -1) if roles[k] == TokenRole.OTHER_TEXT][:3]
    return any(_is_lemma(tokens[k], lemmas) and not _negated(tokens, k) for k in words)


def _alike(tokens: Sequence[str], roles: Sequence[int], a: int, b: int) -> bool:
    """Whether a clause naming both sides judges them alike: a word of likeness ("одинаково", "оба",
    "тоже"), "у всех", "ни X, ни Y", or a negated comparative ("ничем не лучше X", "не хуже, чем X")."""
    for k in range(a, b):
        t = tokens[k]
        if t in _ALIKE_WORDS or (t == "всех" and k > a and tokens[k - 1] == "у"):
            return True
        if _is_comparative(t) and _negated(tokens, k):
            return True
    neither = {
        roles[k + 1] for k in range(a, b - 1) if tokens[k] == "ни" and roles[k + 1] != TokenRole.OTHER_TEXT
    }
    return len(neither) > 1


def _side_left_in_clause(tokens: Sequence[str], roles: Sequence[int], a: int, b: int) -> int | None:
    """In a clause naming both sides: the side that is the brand left or the standard, or None.

    A mention is the one left after "вместо", a standard phrase ("в отличие от", "по сравнению с", ...),
    a comparative ("удобнее X", "быстрее, чем в X"), "после X" with a brand after it, a source preposition
    (из, с, от) in a clause with a verb of switching and a destination (в, на, к, "в пользу") after it,
    or as the object of a verb of exchange ("поменял X на Y"). A mention after a destination preposition
    or "в пользу" is the one chosen. Both sides found left, or one found both, is no reading.
    """
    mentions = _mentions(tokens, roles, a, b)
    left: set[int] = set()
    chosen: set[int] = set()
    switching = any(_is_lemma(tokens[k], _SWITCH_LEMMAS) for k in range(a, b)) or (
        any(_is_lemma(tokens[k], _TRANSFER_LEMMAS) for k in range(a, b))
        and not any(any(c.isdigit() for c in tokens[k]) for k in range(a, b))
    )
    exchange = [k for k in range(a, b) if _is_lemma(tokens[k], _EXCHANGE_LEMMAS)]
    for idx, (role, s, _) in enumerate(mentions):
        before = tokens[s - 1] if s > a else ""
        later = [(lr, tokens[ls - 1]) for lr, ls, _ in mentions[idx + 1 :] if lr != role]
        after_phrase = any(tuple(tokens[max(a, s - len(p)) : s]) == p for p in _STANDARD_PHRASES)
        if (
            after_phrase
            or _is_standard_of_comparison(tokens, a, s)
            or (before == "после" and later)
            or (before in _FROM and switching and any(w in _TO or w == "пользу" for _, w in later))
            or _after_verb(tokens, roles, a, s, _LEAVE_LEMMAS)
            or (
                exchange
                and exchange[0] < s
                and before not in _PREPOSITIONS
                and any(w == "на" for _, w in later)
            )
        ):
            left.add(role)
        elif (before in _TO and _after_verb(tokens, roles, a, s - 1, _SWITCH_LEMMAS)) or (
            s - 2 >= a and (tokens[s - 2], before) == ("в", "пользу")
        ):
            chosen.add(role)
    if len(left) == 1 and not left & chosen:
        return next(iter(left))
    if not left and len(chosen) == 1 and switching:
        # "вернулась в X после полугода в Y": the destination of the switch is chosen, the other left
        return TokenRole.TARGET if TokenRole.OTHER_BRAND in chosen else TokenRole.OTHER_BRAND
    return None


def readings(
    text: str, target: str | None, aliases: Sequence[str] = (), other_brands: Sequence[str] = ()
) -> list[Reading]:
    """What to read for ``target`` besides the whole text; empty when the text names no other brand.

    At most two readings: the target's own clauses, and, when the target is the brand left or measured
    against and the competitors are not, the whole text read for the competitors, mirrored; or, when a
    clause judges the brands alike, one joint reading. See the module docstring.
    """
    return list(_analyse(text, target, tuple(aliases), tuple(other_brands))[0])


def stance(
    text: str, target: str | None, aliases: Sequence[str] = (), other_brands: Sequence[str] = ()
) -> int:
    """What the syntax says of the target in a post naming a competitor: +1 the brand chosen, -1 the brand
    left or measured against, 0 neither (see :func:`_stance`).

    Why: switching and preferring are a choice, and the choice itself is a verdict ("ушёл из X в Y";
    "не X, а Y"; "Y удобнее X"). The models often read the brand chosen wrongly where the praise is
    negated ("ни разу не пожалел", "ни одного сбоя") or only implied ("взял карту Y вместо X"), and
    regret ("перешёл с X на Y, и это была ошибка") is beyond them; the default adds this as a prior to the
    pair's scores (``stance_weight`` in meta.json).
    """
    return _analyse(text, target, tuple(aliases), tuple(other_brands))[1]


@lru_cache(maxsize=4096)
def _analyse(
    text: str, target: str | None, aliases: tuple[str, ...], other_brands: tuple[str, ...]
) -> tuple[tuple[Reading, ...], int]:
    """The readings and the stance of a target; cached because the default asks for both of one pair."""
    if not target or not other_brands:
        return (), 0
    tokens = tokenize(text)
    roles = locate(tokens, target, aliases, other_brands)
    if TokenRole.OTHER_BRAND not in roles or TokenRole.TARGET not in roles:
        return (), 0
    segs = segments(tokens, roles)
    role_sentences: set[int] = set()  # the sentences whose clauses set a role
    mine: list[tuple[int, int]] = []  # the target's own clauses
    left_sides: set[int] = set()  # the sides that are a brand left or a standard of comparison
    owner: int | None = None  # the side of the last clause naming one brand (-1: both)
    owned_at: list[tuple[int, int]] = []  # (segment index, side) of the clauses naming one side
    leading: list[tuple[int, int]] = []  # brand-less clauses before the first brand
    alike = False  # a clause naming both judges them alike
    theirs: list[tuple[int, int]] = []  # the competitors' own clauses
    contrasted = False  # a clause of one side opens with a contrastive word after the other's
    for i, (seg, sent) in enumerate(segs):
        span = (seg.start, seg.end)
        if seg.standard and len(seg.roles) == 1:
            side = next(iter(seg.roles))
            if _nearest(segs, owned_at, i, sent, side) is not None:
                left_sides.add(side)
                role_sentences.add(sent)
            continue
        if not seg.roles:
            if owner is None:
                leading.append(span)
            elif owner == TokenRole.TARGET:
                mine.append(span)
            elif owner == TokenRole.OTHER_BRAND:
                theirs.append(span)
            continue
        if len(seg.roles) > 1:
            side_left = _side_left_in_clause(tokens, roles, seg.start, seg.end)
            if side_left is not None:
                left_sides.add(side_left)
                role_sentences.add(sent)
            elif _alike(tokens, roles, seg.start, seg.end):
                alike = True
            owner = -1  # a clause naming both is read whole, never as one brand's own
            continue
        side = next(iter(seg.roles))
        if owned_at and _follows_in_time(tokens, segs, owned_at[-1], i, side):
            left_sides.add(owned_at[-1][1])
            role_sentences.add(sent)
        if owned_at and owned_at[-1][1] != side and _contrasts(tokens, seg.start):
            contrasted = True
        owner = side
        if side == TokenRole.TARGET:
            mine.extend(leading)
            mine.append(span)
        else:
            theirs.extend(leading)
            theirs.append(span)
        leading = []
        owned_at.append((i, side))
    out: list[Reading] = []
    whole = " ".join(tokens)
    own = " ".join(" ".join(tokens[a:b]) for a, b in mine)
    if own and own != whole:
        out.append(Reading(own, TokenRole.TARGET, False))
    if TokenRole.TARGET in left_sides and TokenRole.OTHER_BRAND not in left_sides:
        out.append(Reading(whole, TokenRole.OTHER_BRAND, True))
    elif alike and not left_sides:
        out.append(Reading(whole, TokenRole.TARGET, False, joint=True))
    elif contrasted and not left_sides and own and theirs and not is_news(text):
        # "у X плохо, а у Y хорошо": contrasted clauses, each side reads the other's mirrored too
        out.append(Reading(" ".join(" ".join(tokens[a:b]) for a, b in theirs), TokenRole.OTHER_BRAND, True))
    return tuple(out), _stance(tokens, segs, left_sides, role_sentences)


def _stance(
    tokens: Sequence[str], segs: Sequence[tuple[Segment, int]], left_sides: set[int], sentences: set[int]
) -> int:
    """+1 when the target is the brand chosen, -1 when it is the brand left or measured against, 0 when
    the syntax sets no roles, both sides were found left, or a role is only asked about ("кто уходил из X
    в Y?"). Regret ("о чём жалею", "зря", "это была ошибка", "зачем я ушёл"), not negated, turns it."""
    if len(left_sides) != 1:
        return 0
    ends = [t for t in tokens if t[0] in _SENTENCE_END]
    if any(k < len(ends) and ends[k].startswith("?") for k in sentences) and not _regret(tokens):
        return 0
    side = -1 if TokenRole.TARGET in left_sides else 1
    return -side if _regret(tokens) else side


def _regret(tokens: Sequence[str]) -> bool:
    """Whether the text regrets (a word of regret not negated: "жалею", not "ни капли не жалею"), and
    not only a switch made late ("жалею, что раньше не ушёл": "что ... не" right after it)."""
    for k, t in enumerate(tokens):
        if not _is_lemma(t, _REGRET_LEMMAS) or _negated(tokens, k):
            continue
        after = list(tokens[k + 1 : k + 6])
        if "что" in after and "не" in after[after.index("что") :]:
            continue
        return True
    return False


def _contrasts(tokens: Sequence[str], k: int) -> bool:
    """Whether the clause at ``k`` opens with a contrast ("а", "но", "зато", ...), not an "а" that only
    adds or goes on in time ("а также", "а потом")."""
    if tokens[k] not in _CONTRAST_WORDS:
        return False
    return not (tokens[k] == "а" and k + 1 < len(tokens) and tokens[k + 1] in _ADDING_WORDS)


def _nearest(
    segs: Sequence[tuple[Segment, int]], owned_at: Sequence[tuple[int, int]], i: int, sent: int, side: int
) -> int | None:
    """The side of the nearest clause of the same sentence naming the other side: before, else after."""
    for j, s in reversed(owned_at):
        if segs[j][1] == sent and s != side:
            return s
    for j in range(i + 1, len(segs)):
        seg, s_sent = segs[j]
        if s_sent != sent:
            break
        if len(seg.roles) == 1 and not seg.standard and side not in seg.roles:
            return next(iter(seg.roles))
    return None


def _follows_in_time(
    tokens: Sequence[str], segs: Sequence[tuple[Segment, int]], prev: tuple[int, int], i: int, side: int
) -> bool:
    """ "раньше X ..., теперь Y ...": clause ``i`` (side ``side``) opens with теперь/сейчас after a clause of
    the other side, or follows one that says раньше/прежде."""
    j, prev_side = prev
    if prev_side == side:
        return False
    seg = segs[i][0]
    first = [t for t in tokens[seg.start : seg.start + 2] if t not in {"а", "и", "но"}]
    if first and first[0] in _NOW_WORDS:
        return True
    p = segs[j][0]
    return any(t in _PAST_WORDS for t in tokens[p.start : p.end])
