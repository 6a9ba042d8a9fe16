from __future__ import annotations

import pytest

from sentiment.text import TokenRole, locate, tokenize


def roles_of(text: str, target: str, aliases: tuple[str, ...] = ()) -> dict[str, int]:
    toks = tokenize(text)
    return dict(zip(toks, locate(toks, target, aliases), strict=True))


def test_tokenize_lowercases_and_keeps_emoticons() -> None:
    assert tokenize("Ёлки, СБЕР!!!!! ))))) https://t.co/x") == ["елки", ",", "сбер", "!!!", ")))", "url"]


def test_two_brands_get_opposite_roles() -> None:
    text = "ушёл из Сбера в Тинькофф, доволен"
    assert roles_of(text, "Сбер")["сбера"] == TokenRole.TARGET
    assert roles_of(text, "Сбер")["тинькофф"] == TokenRole.OTHER_BRAND
    assert roles_of(text, "Тинькофф")["сбера"] == TokenRole.OTHER_BRAND
    assert roles_of(text, "Тинькофф")["тинькофф"] == TokenRole.TARGET


@pytest.mark.parametrize(
    ("text", "target", "token"),
    [
        ("Обслуживание в сбербанке ужасное", "sberbank", "сбербанке"),
        ("@ru_mts верните деньги", "МТС", "mts"),
        ("перешёл на теле2", "Tele2", "теле2"),
        ("карта Альфа-Банка", "Альфа-банк", "альфа"),
        ("звонил в билайн", "beeline", "билайн"),
        ("кредит в втб24", "ВТБ", "втб24"),
        ("Рога и Копыта опять подвели", "Рога и Копыта", "копыта"),
    ],
)
def test_target_forms_are_found(text: str, target: str, token: str) -> None:
    assert roles_of(text, target)[token] == TokenRole.TARGET


def test_aliases_are_used() -> None:
    assert roles_of("ЗБС банк лучший", "Зеленый банк", ("ЗБС",))["збс"] == TokenRole.TARGET


def test_similar_word_is_not_a_brand() -> None:
    assert roles_of("Дима Билан спел", "Билайн")["билан"] == TokenRole.OTHER_TEXT


def test_no_target_no_roles() -> None:
    toks = tokenize("Сбер и ВТБ")
    assert locate(toks, None) == [TokenRole.OTHER_TEXT] * len(toks)
