"""Hand-written brand posts that decide their sentiment by negation or contrast, and how a model reads them.

    python bench/sentiment_probe.py                  # the shipped fast model
    python bench/sentiment_probe.py --model e5       # any spec load_model understands

Why: the public corpora rarely praise a brand by negating a complaint ("ни одного сбоя", "не пожалеете") or
by contrast ("все ругают X, а у меня всё отлично"), so a model trained on them tends to read such praise as
a complaint, and the benchmark figures do not show it. ``CONSTRUCTIONS`` are common ones, written for this
check; ``HELD_OUT`` are other constructions of the same kinds, written before any model was trained against
this weakness and kept out of every training template (``sentiment/train.py: opinion_examples``), so they
show whether a change generalises or only learned its own phrases. Plain complaints, praise and news are
mixed in so that reading everything as positive does not score. Prints JSON: correct / total per set and
every miss.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentiment.base import SentimentModel

Probe = tuple[str, str, str]  # (text, target brand, expected label)

CONSTRUCTIONS: list[Probe] = [
    ("Берите Тинькофф, не пожалеете!", "Тинькофф", "positive"),
    ("Третий год с МТС и ни разу не пожалела", "МТС", "positive"),
    ("Наконец-то банк, который не бесит. Спасибо, Альфа!", "Альфа-Банк", "positive"),
    ("Сбер без проблем вернул деньги за ошибочный платёж, не ожидал", "Сбер", "positive"),
    ("У Билайна ни одного сбоя за год, связь отличная", "Билайн", "positive"),
    ("Мегафон, спасибо за быструю помощь!", "Мегафон", "positive"),
    ("ВТБ снова заблокировал карту без причины, позор", "ВТБ", "negative"),
    ("Теле2 не ловит в метро, сколько можно", "Теле2", "negative"),
    ("Ростелеком третий день без интернета, поддержка молчит", "Ростелеком", "negative"),
    ("Не советую Сбер, обслуживание ужасное", "Сбер", "negative"),
    ("Никогда больше не возьму кредит в Альфе", "Альфа-Банк", "negative"),
    ("Тинькофф не отвечает в чате уже час", "Тинькофф", "negative"),
    ("МТС повысил тарифы без предупреждения", "МТС", "negative"),
    ("Сбербанк открыл новый офис на Тверской", "Сбербанк", "neutral"),
    ("Как подключить роуминг у Билайна?", "Билайн", "neutral"),
    ("ВТБ опубликовал отчёт за третий квартал", "ВТБ", "neutral"),
    ("Мегафон проведёт техработы в ночь на субботу", "Мегафон", "neutral"),
    ("Перешла с МТС на Теле2, связь стала лучше", "МТС", "negative"),
    ("Перешла с МТС на Теле2, связь стала лучше", "Теле2", "positive"),
    ("Не понимаю, почему все ругают Тинькофф, у меня всё отлично", "Тинькофф", "positive"),
    ("Думала, Сбер опять всё испортит, но нет — всё сделали за 5 минут", "Сбер", "positive"),
    ("Ростелеком молодцы, починили за час", "Ростелеком", "positive"),
    ("Приложение ВТБ стало намного удобнее", "ВТБ", "positive"),
    ("Альфа-Банк списал комиссию, которой нет в тарифе", "Альфа-Банк", "negative"),
    ("Билайн, верните нормальный интернет!!!", "Билайн", "negative"),
    ("Хочу поблагодарить сотрудницу Сбербанка Ольгу за помощь", "Сбербанк", "positive"),
    ("Кэшбэк в Тинькофф опять урезали", "Тинькофф", "negative"),
    ("Мегафон лучший оператор, без вариантов", "Мегафон", "positive"),
    ("Не жалею, что ушла в Тинькофф", "Тинькофф", "positive"),
    ("Ни разу не подвёл Билайн в поездках", "Билайн", "positive"),
]

HELD_OUT: list[Probe] = [
    ("Не могу нарадоваться на новое приложение Сбера", "Сбер", "positive"),
    ("Ни капли не жалею, что открыла вклад в ВТБ", "ВТБ", "positive"),
    ("К Мегафону придраться не к чему, всё чётко", "Мегафон", "positive"),
    ("Теле2 ещё ни разу не оставил меня без связи", "Теле2", "positive"),
    ("Скрытых комиссий у Тинькофф нет, всё прозрачно", "Тинькофф", "positive"),
    ("Очередей в отделении Альфы вообще нет, красота", "Альфа-Банк", "positive"),
    ("Ростелеком не обманул, подключили в срок", "Ростелеком", "positive"),
    ("МТС не разочаровывает уже пятый год", "МТС", "positive"),
    ("Все пугали, что Билайн тормозит, а у меня летает", "Билайн", "positive"),
    ("Боялась идти в Сбербанк с этим вопросом, а там всё решили за десять минут", "Сбербанк", "positive"),
    ("Зря я столько лет боялась переходить в Тинькофф", "Тинькофф", "positive"),
    ("Не думал, что скажу это, но Ростелеком молодцы", "Ростелеком", "positive"),
    ("Без ВТБ как без рук, всё в одном приложении", "ВТБ", "positive"),
    ("У Мегафона нет ни покрытия, ни нормальной поддержки", "Мегафон", "negative"),
    ("Сбер так и не вернул мои деньги", "Сбер", "negative"),
    ("Тинькофф больше не торт", "Тинькофф", "negative"),
    ("В Альфе никто ничего не знает, гоняют из окна в окно", "Альфа-Банк", "negative"),
    ("МТС ни разу не решил мою проблему с первого раза", "МТС", "negative"),
    ("Билайн обещал перезвонить и не перезвонил", "Билайн", "negative"),
    ("ВТБ не может нормально сделать перевод уже неделю", "ВТБ", "negative"),
    ("Думала, Теле2 исправились, но нет, связь всё та же", "Теле2", "negative"),
    ("Ростелеком ничего не починил за три дня", "Ростелеком", "negative"),
    ("Сбербанк объявил о снижении ставок по ипотеке", "Сбербанк", "neutral"),
    ("Тинькофф запускает новую карту для подростков", "Тинькофф", "neutral"),
    ("Кто-нибудь пользовался роумингом Мегафона в Турции?", "Мегафон", "neutral"),
    ("МТС и Билайн договорились о совместном использовании вышек", "МТС", "neutral"),
]


def score(model: SentimentModel, probes: Sequence[Probe]) -> dict[str, object]:
    """Correct count, total and the misses (text, brand, expected, got, score) of ``model`` on ``probes``."""
    from sentiment import SentimentInput

    results = model.predict([SentimentInput(text, brand) for text, brand, _ in probes])
    misses = [
        {"text": text, "brand": brand, "expected": want, "got": r.label, "score": round(r.score, 2)}
        for (text, brand, want), r in zip(probes, results, strict=True)
        if r.label != want
    ]
    return {"correct": len(probes) - len(misses), "total": len(probes), "misses": misses}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="shipped", help="model spec (default: the shipped fast model)")
    args = parser.parse_args()
    import torch

    from sentiment import load_model

    torch.set_num_threads(2)
    model = load_model(args.model)
    report = {
        "model": model.model_id,
        "version": model.version,
        "constructions": score(model, CONSTRUCTIONS),
        "held_out": score(model, HELD_OUT),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
