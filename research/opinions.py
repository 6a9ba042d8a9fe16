"""One-brand praise by negation or contrast, each with a twin of the opposite label (an experiment).

Tried on the fast model against ``bench/sentiment_probe.py`` (docs/sentiment-experiments.md, eighth
round) and not shipped; kept here so the experiment can be rerun.
"""

from __future__ import annotations

import random

from sentiment.corpora import BRAND_ALIASES
from sentiment.data import Example
from sentiment.synthetic import _DOMAINS, _OPINION_TAILS

__all__ = ["opinion_examples"]


# One-brand opinions whose polarity is decided by negation or by a contrast, each paired with a twin of the
# opposite label built from the same words. SentiRuEval's tweets rarely praise by negating a complaint ("ни
# одного сбоя", "не пожалеете"), so the network learned that a negative word near a brand is bad for it and
# read such praise as a complaint. The twins make the negation (or the clause after "но"/"а"), not the
# word, the only cue that separates the labels. Each entry is (positive phrase, negative phrase).
_NEGATED = (
    ("не пожалеете", "пожалеете"),
    ("ни разу не пожалел", "сто раз пожалел"),
    ("ни одного сбоя за {period}", "{period} сплошные сбои"),
    ("никаких проблем за {period}", "{period} одни проблемы"),
    ("все прошло без проблем", "все прошло с проблемами"),
    ("ни одной задержки", "опять задержка"),
    ("жалоб нет", "одни жалобы"),
    ("претензий никаких", "претензий куча"),
    ("ни разу не подвел", "опять подвел"),
    ("не бесит", "бесит"),
    ("приложение ни разу не глючило", "приложение постоянно глючит"),
    ("ни копейки лишней не списали", "опять списали лишнее"),
    ("ничего не тормозит", "все тормозит"),
    ("никто не навязывает страховку", "опять навязывают страховку"),
    ("ждать не пришлось", "пришлось ждать час"),
    ("связь не пропадает", "связь пропадает"),
    ("ни одного обрыва", "постоянные обрывы"),
    ("ошибок не было", "ошибка за ошибкой"),
    ("советую", "не советую"),
    ("рекомендую", "не рекомендую"),
    ("сразу помогли", "не помогли"),
    ("отвечают за минуту", "не отвечают"),
    ("деньги вернули", "деньги не вернули"),
    ("дозвонилась сразу", "не дозвониться"),
    ("починили за день", "так ничего и не починили"),
)
_FRAMES = ("{b}: {p}", "с {b} {p}", "у {b} {p}", "в {b} {p}", "{p}, {b}", "{b} - {p}", "про {b}: {p}")
_PERIODS = ("год", "полгода", "три года", "месяц", "все время")
_GOOD = (
    "все сделали за пять минут",
    "все решили с первого звонка",
    "вернули деньги на следующий день",
    "починили за час",
    "все работает как часы",
    "все отлично",
)
_BAD = (
    "все испортили",
    "опять все сломали",
    "снова потеряли платеж",
    "опять отключили связь",
    "все висит",
    "одни ошибки",
)
# (positive frame, negative frame): the part after "но" / "а" decides.
_CONTRAST = (
    ("думал, {b} опять {bad}, но нет - {good}", "думал, у {b} {good}, но нет - {bad}"),
    ("все ругают {b}, а у меня {good}", "все хвалят {b}, а у меня {bad}"),
    ("в другом банке {bad}, а в {b} {good}", "в другом банке {good}, а в {b} {bad}"),
    ("сначала сомневалась насчет {b}, но {good}", "сначала {b} нравился, но теперь {bad}"),
)


def opinion_examples(n: int, seed: int) -> list[Example]:
    """``n`` synthetic one-brand pairs (a praise and its complaint twin, see ``_NEGATED``/``_CONTRAST``)."""
    rng = random.Random(seed)
    out: list[Example] = []
    while len(out) < n:
        key = rng.choice(rng.choice(_DOMAINS))
        b = rng.choice(BRAND_ALIASES[key][:3])
        b = b.title() if rng.random() < 0.5 else b
        if rng.random() < 0.7:
            pair = rng.choice(_NEGATED)
            frame, period = rng.choice(_FRAMES), rng.choice(_PERIODS)
            texts = [frame.format(b=b, p=p.format(period=period)) for p in pair]
        else:
            good, bad = rng.choice(_GOOD), rng.choice(_BAD)
            texts = [t.format(b=b, good=good, bad=bad) for t in rng.choice(_CONTRAST)]
        tail = rng.choice(_OPINION_TAILS)
        group = f"opinion:{len(out)}"
        for text, label in zip(texts, ("positive", "negative"), strict=True):
            text = text[0].upper() + text[1:] if rng.random() < 0.5 else text
            out.append(Example(text + tail, label, key, "synthetic", 0, 1, group, BRAND_ALIASES[key]))  # type: ignore[arg-type]
    return out
