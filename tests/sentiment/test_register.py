"""The register rule: news reports apart from social posts, from the text alone."""

from __future__ import annotations

import pytest

from sentiment import SentimentInput
from sentiment.register import is_news, news_score, reads_as_news

REPORTS = [
    "Как сообщили в пресс-службе ведомства, Роспотребнадзор оштрафовал компанию «Волнаком» на 300 тысяч "
    "рублей по итогам проверки.",
    "Президент США Дональд Трамп заявил, что переговоры с Северной Кореей продолжатся в марте.",
    "По данным агентства, 7 декабря 2019 года банк отозвал лицензию у трёх страховых компаний.",
    "Министр финансов Антон Силуанов отметил, что бюджет будет исполнен без дефицита.",
]
POSTS = [
    "я в шоке от Волнакома, опять нет связи(((",
    "Спасибо Линкору, вы лучшие!!! 😍",
    "ну и зачем мне ваша новая тарифная сетка? верните старую",
    "@volnakom когда уже починят интернет?",
    "блин, опять списали деньги за подписку",
]


@pytest.mark.parametrize("text", REPORTS)
def test_reports_read_as_news(text: str) -> None:
    assert is_news(text), news_score(text)


@pytest.mark.parametrize("text", POSTS)
def test_posts_read_as_social(text: str) -> None:
    assert not is_news(text), news_score(text)


def test_the_writers_voice_outweighs_a_reporting_word() -> None:
    """A post that quotes a report but speaks in the first person with emoji stays a post."""
    text = "Сбер заявил, что всё починили, а у меня до сих пор ничего не работает 😡!!"
    assert not is_news(text)
    assert news_score(text) < news_score("Сбер заявил, что сбой в работе приложения устранён.")


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", ")))", "\ud800", "a" * 10_000])
def test_odd_texts_get_an_answer(text: str) -> None:
    assert isinstance(is_news(text), bool)


def test_a_long_text_is_read_in_the_windows_around_the_target() -> None:
    """The register follows what the model reads: the windows around the brand, not the whole import row."""
    chatter = "ну вот я опять тут сижу, скучно мне))) " * 60
    report = (
        "Проверка длилась три месяца и затронула двенадцать регионов страны, говорится в сообщении "
        "ведомства. Как сообщили в пресс-службе, 7 декабря 2019 года Роспотребнадзор оштрафовал компанию "
        "Волнаком по итогам плановой проверки. Представитель компании Иван Петров заявил агентству, что "
        "решение будет обжаловано в суде. По данным ведомства, нарушения устранены не полностью."
    )
    item = SentimentInput(chatter + report, "Волнаком")
    assert not is_news(item.text[:1600])
    assert reads_as_news(item)
    assert not reads_as_news(SentimentInput(chatter + "Волнаком опять завис(((", "Волнаком"))
