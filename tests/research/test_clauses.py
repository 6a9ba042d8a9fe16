"""The round-eleven clause rule, which ``research.clauses --reading before`` compares against."""

from __future__ import annotations

import pytest

from research.clauses import clauses, target_clauses
from sentiment.text import tokenize


def test_clauses_end_at_sentences_and_contrastive_words() -> None:
    toks = tokenize("у X связь плохая, а у Y отличная. Спасибо Z, не то что W, всё чётко")
    spans = [" ".join(toks[a:b]) for a, b in clauses(toks)]
    assert spans == [
        "у x связь плохая ,",
        "а у y отличная .",
        "спасибо z ,",
        "не то что w ,",
        "все четко",
    ]


@pytest.mark.parametrize(
    ("text", "target", "other", "expected"),
    [
        (
            "У Волнакома связь пропадает, а у Линкора ловит везде.",
            "Линкор",
            "Волнаком",
            "а у линкора ловит везде .",
        ),
        (
            "У Волнакома связь пропадает, а у Линкора ловит везде.",
            "Волнаком",
            "Линкор",
            "у волнакома связь пропадает ,",
        ),
        # a brand-less clause continues the clause before it
        (
            "Все ругают Домлинк, а у меня ни одного обрыва. Зато Нетфокс падает.",
            "Домлинк",
            "Нетфокс",
            "все ругают домлинк , а у меня ни одного обрыва .",
        ),
        # one clause names both: nothing to separate
        ("Ушёл из Зорбанка в Кредо и не пожалел.", "Зорбанк", "Кредо", None),
        # no other brand in the text
        ("Зорбанк молодцы, а погода плохая.", "Зорбанк", "Кредо", None),
    ],
)
def test_target_clauses(text: str, target: str, other: str, expected: str | None) -> None:
    assert target_clauses(text, target, (), (other,)) == expected
    assert target_clauses(text, target, ()) is None  # competitors come only from the caller


def test_target_clauses_read_back_as_the_same_tokens() -> None:
    text = "Кредо-Плюс заблокировал карту!!! Зато Зорбанк помог :)"
    clause = target_clauses(text, "Кредо-Плюс", ("Кредо Плюс",), ("Зорбанк",))
    assert clause is not None and tokenize(clause) == tokenize("Кредо-Плюс заблокировал карту!!!")
