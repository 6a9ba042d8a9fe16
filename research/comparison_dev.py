"""A generated dev set of comparison posts, for developing how the default reads two brands in one post.

    python -m research.comparison_dev [--posts 160] [--seed 13] [--out FILE]
    python -m research.comparison_dev --more --posts 96 --seed 17   # the second set, other frames

Why: the hand-written comparison sets hold 32 posts between them, too few to develop reading rules on
without fitting them post by post, and ``comparison_fresh.jsonl`` must stay unseen until the end. This
generator writes posts in the shape of those sets (``post``, ``text``, ``target``, ``aliases``,
``other_brands``, ``label``) from frames that no training generator in :mod:`sentiment.synthetic`
produces (other verbs, prepositions and word orders for switching, comparing and contrasting, with
regret, negated comparatives, lists and neutral reports), with brand names built from syllables the
training generators never use, declined as Russian masculine nouns. The frames are general Russian
constructions; none is a copy of a post of the hand-written sets.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

__all__ = ["DEV_SET", "FRAMES", "FRAMES_MORE", "MORE_SET", "generate", "main"]

DEV_SET = Path(__file__).parent / "data" / "comparison_generated.jsonl"  # the default --out
MORE_SET = DEV_SET.parent / "comparison_generated_more.jsonl"  # --more

# Consonant-final stems and tails, so that every name declines as a masculine noun: gen -а, dat -у,
# prep -е, instr -ом (accusative = nominative for things). None of them is in sentiment.synthetic.
_HEADS = ("Альт", "Чиж", "Крон", "Вест", "Орб", "Дельт", "Ларк", "Омег", "Пульс", "Гранд", "Форт", "Квант")
_TAILS = ("банк", "трейд", "маркет", "сервис", "кард", "телеком", "стрим", "пэйс", "драйв", "полис")

# Opinion fillers, worded apart from the training generators' phrases.
_GOOD_VP = (
    "ни разу не подвёл",
    "отвечает в чате за минуту",
    "работает как часы",
    "вернул деньги в тот же день",
    "ни разу не завис",
)
_BAD_VP = (
    "вечно зависает",
    "списывает деньги без спроса",
    "неделями не отвечает",
    "каждый месяц поднимает цены",
    "не выполняет обещаний",
)
_GOOD_NP = ("честные цены", "толковая поддержка", "ни одного сбоя за год", "быстрый возврат денег")
_BAD_NP = ("сплошные зависания", "поддержка-автоответчик", "навязанные подписки", "очереди по часу")
_PRAISE_TAIL = (
    ", о чём ни капли не жалею",
    " и очень довольна",
    " — небо и земля",
    ", рекомендую",
    " и живу спокойно",
)
_REGRET_TAIL = (", о чём жалею каждый день", ", и это была ошибка", " и горько пожалел")

# (template, label of {a}, label of {b}[, label of {c}]). Case forms: {a} nominative/accusative,
# {a_g} genitive, {a_d} dative, {a_p} prepositional, {a_i} instrumental.
FRAMES: tuple[tuple[str, ...], ...] = (
    # a switch told in one clause, source before destination
    ("Переключилась с {a_g} на {b}{praise}", "negative", "positive"),
    ("Перевёл все накопления из {a_g} в {b}: {good_np}", "negative", "positive"),
    ("Ушла от {a_g} к {b_d}{praise}", "negative", "positive"),
    ("Перебрался из {a_g} в {b} ещё весной{praise}", "negative", "positive"),
    ("Заменил {a} на {b}{praise}", "negative", "positive"),
    ("Переехала с {a_g} на {b} из-за цен, тут {good_np}", "negative", "positive"),
    # regret: the switch went wrong
    ("Поменял {a} на {b}{regret}: {b} {bad}", "positive", "negative"),
    ("Зачем я только ушёл с {a_g} на {b}, тут {bad_np}", "positive", "negative"),
    ("Вернулась в {a} после полугода в {b_p}: {b} {bad}", "positive", "negative"),
    # the brand given up, named by "вместо", "в пользу", "после"
    ("Взял карту {b_g} вместо {a_g}{praise}", "negative", "positive"),
    ("Вместо {a_g} теперь пользуюсь {b_i}: {good_np}", "negative", "positive"),
    ("Отказался от {a_g} в пользу {b_g}{praise}", "negative", "positive"),
    ("После {a_g} в {b_p} просто отдыхаю: {good_np}", "negative", "positive"),
    # comparatives and their standards
    ("{b} в разы удобнее {a_g}", "negative", "positive"),
    ("В {b_p} обслуживают быстрее, чем в {a_p}", "negative", "positive"),
    ("{a} заметно хуже {b_g}: {bad_np}", "negative", "positive"),
    ("По сравнению с {a_i} {b} просто находка", "negative", "positive"),
    ("{a} ничем не лучше {b_g}: у обоих {bad_np}", "negative", "negative"),
    ("{b} ничуть не хуже {a_g}, у обоих {good_np}", "positive", "positive"),
    # contrast between clauses
    ("В {a_p} {bad_np}, тогда как в {b_p} {good_np}", "negative", "positive"),
    ("{a} {good}, чего не скажешь о {b_p}", "positive", "negative"),
    ("Сидела на {a_p} пять лет, сейчас на {b_p}{praise}", "negative", "positive"),
    ("Прежде хвалил {a}, а сейчас {a} {bad}. Хорошо, что есть {b}", "negative", "positive"),
    ("{a} {bad}, {b} {good}", "negative", "positive"),
    ("Спасибо {b_d}, выручили, а {a} даже не ответил", "negative", "positive"),
    ("{b} {good}, в отличие от {a_g}", "negative", "positive"),
    ("Сравнивал {a} и {b}: у {b_g} {good_np}, у {a_g} {bad_np}", "negative", "positive"),
    ("Закрыл счёт в {a_p}, открыл в {b_p} — {good_np}", "negative", "positive"),
    ("Не {a}, а {b}: вот где {good_np}", "negative", "positive"),
    # alike, lists, neutral reports
    ("{a} радует, да и {b} не подводит", "positive", "positive"),
    ("{a} и {b} одинаково плохи: {bad_np}", "negative", "negative"),
    ("{a}, {b}, {c} — у всех {bad_np}", "negative", "negative", "negative"),
    ("Пробовал {a}, {b} и {c}, везде {good_np}", "positive", "positive", "positive"),
    ("{a} и {b} подписали соглашение о сотрудничестве", "neutral", "neutral"),
    ("Кто лучше, {a} или {b}? Посоветуйте", "neutral", "neutral"),
    ("{a} выкупил у {b_g} сеть терминалов", "neutral", "neutral"),
    ("{a}, {b} и {c} с понедельника меняют тарифы", "neutral", "neutral", "neutral"),
)

# A second dev set (``--more``, MORE_SET): frames of round seventeen, for checking that reading rules
# developed on FRAMES hold on constructions they were not developed on. The same kinds (switching with
# negated praise and regret, contrast, standards, likeness, questions, reports), other words and orders.
FRAMES_MORE: tuple[tuple[str, ...], ...] = (
    ("Сбежал от {a_g} к {b_d} ещё в марте{praise}", "negative", "positive"),
    ("Три года мучился с {a_i}, месяц назад перешёл на {b}{praise}", "negative", "positive"),
    ("Решила уйти из {a_g} в {b} и не пожалела ни на минуту", "negative", "positive"),
    ("Сменил {a} на {b}, ни капли не жалею", "negative", "positive"),
    ("Перешёл на {b} с {a_g}{regret}", "positive", "negative"),
    ("Раньше пользовался {a_i}, теперь только {b}: {good_np}", "negative", "positive"),
    ("Год назад был в {a_p}, сейчас в {b_p} — {good_np}", "negative", "positive"),
    ("У {a_g} {bad_np}, а у {b_g} {good_np}", "negative", "positive"),
    ("{a} {bad}, зато {b} {good}", "negative", "positive"),
    ("{b} {good}, а вот {a} {bad}", "negative", "positive"),
    ("Спасибо {b_d} за {good_np}, не то что {a}", "negative", "positive"),
    ("{b} намного лучше, чем {a}", "negative", "positive"),
    ("С {b_i} всё проще, чем с {a_i}: {good_np}", "negative", "positive"),
    ("{a} во всём хуже {b_g}", "negative", "positive"),
    ("{b} дешевле {a_g} и {good}", "negative", "positive"),
    ("Ни {a}, ни {b} так и не вернули деньги", "negative", "negative"),
    ("{a}, как и {b}, {bad}", "negative", "negative"),
    ("{a} и {b} оба {good}", "positive", "positive"),
    ("Кто-нибудь уходил из {a_g} в {b}? Стоит ли?", "neutral", "neutral"),
    ("Что выбрать: {a} или {b}?", "neutral", "neutral"),
    ("{a} купил долю в {b_p}", "neutral", "neutral"),
    ("{a} и {b} запустили общий проект", "neutral", "neutral"),
    ("Открыла вклад в {b_p}, а карту {a_g} закрыла: {bad_np}", "negative", "positive"),
    ("{a} {good}, и {b} тоже", "positive", "positive"),
)


def _name(rng: random.Random) -> str:
    return rng.choice(_HEADS) + rng.choice(_TAILS)


def _forms(name: str) -> dict[str, str]:
    return {"": name, "_g": name + "а", "_d": name + "у", "_p": name + "е", "_i": name + "ом"}


def generate(
    posts: int = 160, seed: int = 13, frames: tuple[tuple[str, ...], ...] = FRAMES, first: int = 1000
) -> list[dict[str, object]]:
    """``posts`` posts (every frame in turn, brands and fillers drawn), one row per (post, brand), the
    posts numbered from ``first``."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for p in range(posts):
        template, *labels = frames[p % len(frames)]
        names: list[str] = []
        while len(names) < len(labels):
            n = _name(rng)
            if all(n[:3] != m[:3] for m in names):  # no two brands sharing a stem
                names.append(n)
        fill: dict[str, str] = {
            "good": rng.choice(_GOOD_VP),
            "bad": rng.choice(_BAD_VP),
            "good_np": rng.choice(_GOOD_NP),
            "bad_np": rng.choice(_BAD_NP),
            "praise": rng.choice(_PRAISE_TAIL),
            "regret": rng.choice(_REGRET_TAIL),
        }
        for letter, name in zip("abc", names, strict=False):
            fill.update({letter + suffix: form for suffix, form in _forms(name).items()})
        text = template.format(**fill)
        text = text[0].upper() + text[1:] + rng.choice((".", "", "!", "."))
        for k, (name, label) in enumerate(zip(names, labels, strict=True)):
            # a user's configuration: the name, a spaced alias; competitors with theirs
            others = [x for j, m in enumerate(names) if j != k for x in (m, _spaced(m))]
            rows.append(
                {
                    "post": first + p,
                    "text": text,
                    "target": name,
                    "aliases": [_spaced(name)],
                    "other_brands": others,
                    "label": label,
                }
            )
    return rows


def _spaced(name: str) -> str:
    """ "Альтбанк" -> "Альт банк": how people also write a two-part name."""
    for tail in _TAILS:
        if name.endswith(tail):
            return f"{name[: -len(tail)]} {tail}"
    return name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=160)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=None, help=f"default {DEV_SET} ({MORE_SET} with --more)")
    parser.add_argument("--more", action="store_true", help="the second set's frames (FRAMES_MORE)")
    args = parser.parse_args(argv)
    if args.more:
        rows = generate(args.posts, args.seed, FRAMES_MORE, 3000)
        args.out = args.out or MORE_SET
    else:
        rows = generate(args.posts, args.seed)
        args.out = args.out or DEV_SET
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} pairs from {args.posts} posts -> {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
