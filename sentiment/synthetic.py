"""Synthetic (text, brand) pairs that teach what the real corpora hold too few of.

* :func:`switch_examples`: brand switching and regret ("ушёл из X в Y, доволен"), labelled for both
  brands (the fast model's recipe).
* :func:`comparison_examples`: two brands compared, preferred, or judged alike, with real and invented
  names (the e5 recipe). Its frames are deliberately not those of the hand-written comparison set in
  ``research/data``, so that set measures whether the construction was learnt, not the template.
* :func:`frame_examples`: the frames the e5 models kept missing (a switch told in one clause, "раньше X,
  теперь Y", "спасибо X, не то что Y", "у X ..., а у Y ...", lists of brands, praise by "не пожалел"),
  with real and invented names. They share frames with ``comparison_invented.jsonl`` and
  ``comparison_heldout.jsonl``; ``comparison_fresh.jsonl`` was written apart from them and is what
  measures whether a model trained on them generalises.

Every pair carries the other brand of its text in ``other_brands``, as the product passes competitors.
"""

from __future__ import annotations

import random

from sentiment.base import Label
from sentiment.corpora import BRAND_ALIASES
from sentiment.data import Example

__all__ = ["comparison_examples", "frame_examples", "switch_examples"]


# Contrastive templates for brand switching and comparison. ``{a}`` is the brand the writer turns away from
# (negative), ``{b}`` the one they prefer (positive); the ``regret`` templates flip that. Brand names are
# masked to role tokens by the featurizer, so the templates teach how *position in the construction*
# ("из X в Y", "с X на Y", "X хуже Y") decides the sentiment, which SentiRuEval has too few examples of.
_SWITCH = (
    "{verb} из {a} в {b}",
    "{verb} с {a} на {b}",
    "{verb} от {a} к {b}",
    "поменял {a} на {b}",
    "сменила {a} на {b}",
    "перевел зарплату из {a} в {b}",
    "закрыла карту {a} и открыла в {b}",
    "{b} лучше чем {a}",
    "{a} хуже чем {b}",
    "после {a} {b} просто сказка",
    "наконец-то избавился от {a}, теперь в {b}",
    "бегите из {a} в {b}",
)
_VERBS = ("ушел", "ушла", "перешел", "перешла", "свалил", "сбежал", "переехал", "ушёл")
_TAILS = (
    ", доволен",
    ", довольна",
    " и не жалею",
    ", счастлив",
    ". наконец-то",
    "",
    " и доволен как слон",
    ", всем советую",
    ". лучшее решение",
    " )))",
    "!",
    ", небо и земля",
)
_REGRET = (
    "зря {verb} из {a} в {b}, верните как было",
    "{verb} из {a} в {b} и пожалел",
    "{verb} с {a} на {b}, теперь жалею",
)
_NEUTRAL = (
    "{a} и {b} объявили о партнерстве",
    "{a} и {b} опубликовали отчетность",
    "{a} опередил {b} по числу клиентов",
    "сравнение тарифов {a} и {b}",
)
_DOMAINS = (
    ("sberbank", "vtb", "alfabank", "raiffeisen", "tinkoff", "otkritie", "gazprom", "pochtabank", "uralsib"),
    ("beeline", "mts", "megafon", "tele2", "rostelecom", "yota"),
)


_OPINION_TAILS = ("", "!", ".", "...", " !!!", ")")


def switch_examples(n: int, seed: int) -> list[Example]:
    """``n`` synthetic (text, brand) pairs: each template is labelled for both brands it names.

    Why: the implicit switch ("ушёл из Сбера в Тинькофф, доволен") carries opposite sentiment for the two
    brands, but the real data has only a handful of such tweets, so the network read it as positive for
    both. Pairs come in twos from one text, so the only cue that separates the labels is the brand's role.
    """
    rng = random.Random(seed)
    out: list[Example] = []
    while len(out) < n:
        keys = rng.sample(rng.choice(_DOMAINS), 2)
        a, b = (rng.choice(BRAND_ALIASES[k][:3]) for k in keys)
        a, b = (x.title() if rng.random() < 0.5 else x for x in (a, b))
        verb = rng.choice(_VERBS)
        kind = rng.random()
        if kind < 0.75:
            text = rng.choice(_SWITCH).format(verb=verb, a=a, b=b) + rng.choice(_TAILS)
            labels: tuple[Label, Label] = ("negative", "positive")
        elif kind < 0.88:
            text = rng.choice(_REGRET).format(verb=verb, a=a, b=b)
            labels = ("positive", "negative")
        else:
            text = rng.choice(_NEUTRAL).format(a=a, b=b)
            labels = ("neutral", "neutral")
        group = f"synthetic:{len(out)}"
        first, second = (BRAND_ALIASES[k] for k in keys)
        out.append(Example(text, labels[0], keys[0], "synthetic", 0, 2, group, first, second))
        out.append(Example(text, labels[1], keys[1], "synthetic", 0, 2, group, second, first))
    return out


# Two-brand frames for the e5 recipe: (template, label of {a}, label of {b}). {good}/{bad} are present-tense
# verb phrases (no grammatical gender to agree with), {good_np}/{bad_np} noun phrases. Kept apart from the
# frames of the hand-written comparison set (research/data/comparison_invented.jsonl): no "из X в Y",
# "у X ..., а у Y ...", "не то что", "раньше X, теперь Y", "зато", "и X, и Y" here.
_COMPARE: tuple[tuple[str, Label, Label], ...] = (
    ("{b} намного лучше, чем {a}", "negative", "positive"),
    ("{a} во всем хуже, чем {b}", "negative", "positive"),
    ("{a}: {bad_np}. {b}: {good_np}.", "negative", "positive"),
    ("{a} {bad}. {b} {good}.", "negative", "positive"),
    ("{b} {good}. {a} {bad}.", "negative", "positive"),
    ("{a} {good}. {b} {bad}.", "positive", "negative"),
    ("в {b} {good_np}, в отличие от {a}", "negative", "positive"),
    ("{a} {bad}, поэтому теперь я с {b}", "negative", "positive"),
    ("выбирайте {b}, а не {a}", "negative", "positive"),
    ("{a} -> {b}, {good_np}", "negative", "positive"),
    ("прощай, {a}! здравствуй, {b}!", "negative", "positive"),
    ("если выбирать между {a} и {b}, однозначно {b}", "negative", "positive"),
    ("по сравнению с {a} {b} просто сказка", "negative", "positive"),
    ("{a} {good}, в то время как {b} {bad}", "positive", "negative"),
    ("сменил {a} на {b} и теперь кусаю локти: {b} {bad}", "positive", "negative"),
    ("что {a}, что {b}: {bad_np}", "negative", "negative"),
    ("{a} {bad}, и {b} тоже", "negative", "negative"),
    ("{a} {good}, и {b} тоже", "positive", "positive"),
    ("{a} с {b} одинаково радуют: {good_np}", "positive", "positive"),
    ("{a} и {b} опубликовали отчетность за квартал", "neutral", "neutral"),
    ("{a} обновил тарифы вслед за {b}", "neutral", "neutral"),
    ("в рейтинге {a} на втором месте, {b} на третьем", "neutral", "neutral"),
    ("кто-нибудь пользовался {a} или {b}? что выбрать?", "neutral", "neutral"),
    ("{a} объявил о партнерстве с {b}", "neutral", "neutral"),
    ("{b} {bad}, а {a} ни при чем", "neutral", "negative"),
)
_GOOD_VP = (
    "работает без сбоев",
    "решает вопросы за минуту",
    "возвращает деньги сразу",
    "держит нормальные цены",
    "всегда на связи",
    "радует скоростью",
    "делает все быстро и вежливо",
)
_BAD_VP = (
    "списывает лишние деньги",
    "не отвечает на звонки",
    "теряет заказы",
    "постоянно глючит",
    "навязывает платные услуги",
    "обманывает с тарифами",
    "тянет с возвратом денег",
)
_GOOD_NP = (
    "все быстро и четко",
    "приятные цены",
    "вежливая поддержка",
    "удобное приложение",
    "сервис на высоте",
)
_BAD_NP = ("сплошные сбои", "вечные очереди", "скрытые комиссии", "хамство в поддержке", "задержки по неделе")
_SYLLABLE_HEADS = (
    "Зел",
    "Мир",
    "Кор",
    "Нов",
    "Тех",
    "Гор",
    "Свет",
    "Бел",
    "Рус",
    "Вит",
    "Сам",
    "Круг",
    "Бор",
    "Ян",
)
_SYLLABLE_TAILS = (
    "банк",
    "ком",
    "тел",
    "маркет",
    "нет",
    "лайн",
    "экспресс",
    "фуд",
    "такси",
    "страх",
    "мобайл",
)


def _invented(rng: random.Random) -> str:
    name = rng.choice(_SYLLABLE_HEADS) + rng.choice(_SYLLABLE_TAILS)
    return name if rng.random() < 0.7 else f"{name}-{rng.choice(('Плюс', 'Групп', 'Онлайн'))}"


def comparison_examples(n: int, seed: int, invented: float = 0.5) -> list[Example]:
    """``n`` synthetic pairs from two-brand texts (see ``_COMPARE``), both brands of each text labelled.

    Why: real tweets rarely compare two brands, so a model learns "a brand near a complaint is criticised"
    and reads a comparison as one judgement of both. Here the only cue that separates the two labels is
    where each brand stands in the sentence. A share ``invented`` of the names is made up, so nothing can
    be learnt from a name; the rest are the known brands of one market.
    """
    rng = random.Random(seed)
    out: list[Example] = []
    while len(out) < n:
        if rng.random() < invented:
            a, b = _invented(rng), _invented(rng)
            if a == b:
                continue
            aliases_a: tuple[str, ...] = ()
            aliases_b: tuple[str, ...] = ()
        else:
            ka, kb = rng.sample(rng.choice(_DOMAINS), 2)
            a, b = (rng.choice(BRAND_ALIASES[k][:3]).title() for k in (ka, kb))
            aliases_a, aliases_b = BRAND_ALIASES[ka], BRAND_ALIASES[kb]
        frame, la, lb = rng.choice(_COMPARE)
        text = frame.format(
            a=a,
            b=b,
            good=rng.choice(_GOOD_VP),
            bad=rng.choice(_BAD_VP),
            good_np=rng.choice(_GOOD_NP),
            bad_np=rng.choice(_BAD_NP),
        )
        text = text[0].upper() + text[1:] + rng.choice(_OPINION_TAILS)
        group = f"compare:{len(out)}"
        out.append(Example(text, la, a, "synthetic", 0, 2, group, aliases_a, (b, *aliases_b)))
        out.append(Example(text, lb, b, "synthetic", 0, 2, group, aliases_b, (a, *aliases_a)))
    return out


# (template, label of {a}, label of {b}[, label of {c}]): the frames of the comparison posts that the
# e5 models read as one opinion of both brands. {v} is a switching verb, {t} a tail that praises the switch.
_FRAMES: tuple[tuple[str, Label, Label] | tuple[str, Label, Label, Label], ...] = (
    ("{v} из {a} в {b}{t}", "negative", "positive"),
    ("{v} с {a} на {b}{t}", "negative", "positive"),
    ("{v} из {a} в {b}. {b} {good}", "negative", "positive"),
    ("{v} из {a} в {b}, потому что {a} {bad}", "negative", "positive"),
    ("{v} с {a} на {b}: {good_np}", "negative", "positive"),
    ("не пожалел, что {v} из {a} в {b}", "negative", "positive"),
    ("{v} из {a} в {b} и пожалел: {b} {bad}", "positive", "negative"),
    ("{v} с {a} на {b}, а зря: {bad_np}", "positive", "negative"),
    ("вернулся из {b} обратно в {a}: {b} {bad}", "positive", "negative"),
    ("раньше был в {a}, теперь в {b}{t}", "negative", "positive"),
    ("раньше {a}, теперь только {b}: {good_np}", "negative", "positive"),
    ("раньше пользовалась {a}, теперь {b}. {a} {bad}", "negative", "positive"),
    ("раньше хвалил {a}, теперь {a} {bad}, а {b} {good}", "negative", "positive"),
    ("спасибо {b}, {good_np}, не то что {a}", "negative", "positive"),
    ("спасибо {b}: {b} {good}, не то что {a}", "negative", "positive"),
    ("не то что {a}: {b} {good}", "negative", "positive"),
    ("не то что {a}, в {b} {good_np}", "negative", "positive"),
    ("у {a} {bad_np}, а у {b} {good_np}", "negative", "positive"),
    ("у {a} {good_np}, а у {b} {bad_np}", "positive", "negative"),
    ("{a} {bad}, зато {b} {good}", "negative", "positive"),
    ("{a} {good}, а {b} {bad}", "positive", "negative"),
    ("все ругают {a}, а у меня с {a} {good_np}. а вот {b} {bad}", "positive", "negative"),
    ("{a}, {b} и {c}: везде {bad_np}", "negative", "negative", "negative"),
    ("{a}, {b}, {c} - все {bad}", "negative", "negative", "negative"),
    ("и {a}, и {b} {good}", "positive", "positive"),
    ("{a}, {b} и {c} - у всех {good_np}", "positive", "positive", "positive"),
    ("{a}, {b} и {c} подняли тарифы с первого числа", "neutral", "neutral", "neutral"),
    ("{a} {bad}, {b} {bad}, только {c} {good}", "negative", "negative", "positive"),
    ("{v} из {a} в {b}, тариф тот же", "neutral", "neutral"),
)
_SWITCH_TAILS = (
    "",
    " и не пожалел",
    " и ни разу не пожалела",
    ", доволен",
    ", довольна как никогда",
    ", {good_np}",
    " - {good_np}",
    ". наконец-то",
    ", всем советую",
    " и забыл про проблемы",
)


def frame_examples(n: int, seed: int, invented: float = 0.5) -> list[Example]:
    """``n`` synthetic pairs from the frames in ``_FRAMES``, every brand of each text labelled.

    Why: the shipped model read "ушёл из X в Y и не пожалел" and "раньше X, теперь Y" as one opinion of
    both brands; the clause reading cannot help when both brands sit in one clause, so the model has to
    learn which side of "из ... в", "с ... на", "не то что" a brand stands on.
    """
    rng = random.Random(seed)
    out: list[Example] = []
    while len(out) < n:
        frame = rng.choice(_FRAMES)
        template, labels = frame[0], frame[1:]
        brands: list[tuple[str, tuple[str, ...]]] = []
        if rng.random() < invented:
            while len(brands) < len(labels):
                name = _invented(rng)
                if name not in [b for b, _ in brands]:
                    brands.append((name, ()))
        else:
            keys = rng.sample(rng.choice(_DOMAINS), len(labels))
            brands = [(rng.choice(BRAND_ALIASES[k][:3]).title(), BRAND_ALIASES[k]) for k in keys]
        names = dict(zip("abc", [b for b, _ in brands], strict=False))
        fill = {
            "v": rng.choice(_VERBS),
            "good": rng.choice(_GOOD_VP),
            "bad": rng.choice(_BAD_VP),
            "good_np": rng.choice(_GOOD_NP),
            "bad_np": rng.choice(_BAD_NP),
        }
        fill["t"] = rng.choice(_SWITCH_TAILS).format(**fill)
        text = template.format(**names, **fill)
        text = text[0].upper() + text[1:] + rng.choice(_OPINION_TAILS)
        group = f"frame:{len(out)}"
        for k, ((name, aliases), label) in enumerate(zip(brands, labels, strict=True)):
            others = tuple(x for j, (b, al) in enumerate(brands) if j != k for x in (b, *al))
            out.append(Example(text, label, name, "synthetic", 0, len(brands), group, aliases, others))
    return out[:n]
