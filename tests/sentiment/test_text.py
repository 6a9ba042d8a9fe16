from __future__ import annotations

import pytest

from sentiment.text import (
    FOCUS_CHARS,
    FOCUS_WINDOWS,
    TokenRole,
    focus,
    locate,
    mark,
    tokenize,
)


def roles_of(
    text: str, target: str, aliases: tuple[str, ...] = (), others: tuple[str, ...] = ()
) -> dict[str, int]:
    toks = tokenize(text)
    return dict(zip(toks, locate(toks, target, aliases, others), strict=True))


def test_tokenize_lowercases_and_keeps_emoticons() -> None:
    assert tokenize("Ёлки, СБЕР!!!!! ))))) https://t.co/x") == ["елки", ",", "сбер", "!!!", ")))", "url"]


def test_two_brands_get_opposite_roles() -> None:
    text = "ушёл из Сбера в Тинькофф, доволен"
    assert roles_of(text, "Сбер", others=("Тинькофф",))["сбера"] == TokenRole.TARGET
    assert roles_of(text, "Сбер", others=("Тинькофф",))["тинькофф"] == TokenRole.OTHER_BRAND
    assert roles_of(text, "Тинькофф", others=("Сбер",))["сбера"] == TokenRole.OTHER_BRAND
    assert roles_of(text, "Тинькофф", others=("Сбер",))["тинькофф"] == TokenRole.TARGET


def test_no_built_in_brand_list_decides_roles() -> None:
    """Competitors come from the configuration: a famous brand not passed is ordinary text, and an
    invented one passed as a competitor is marked like any other."""
    text = "ушёл из Сбера в Тинькофф, доволен"
    assert roles_of(text, "Сбер")["тинькофф"] == TokenRole.OTHER_TEXT
    assert (
        roles_of("ушёл из Зорбанка в Кредо", "Кредо", others=("Зорбанк",))["зорбанка"]
        == TokenRole.OTHER_BRAND
    )
    assert roles_of("обслуживание в сбербанке", "sberbank")["сбербанке"] == TokenRole.OTHER_TEXT


@pytest.mark.parametrize(
    ("text", "target", "token"),
    [
        ("Обслуживание в сбербанке ужасное", "Сбербанк", "сбербанке"),
        ("@ru_mts верните деньги", "МТС", "mts"),
        ("перешёл на теле2", "Tele2", "теле2"),
        ("карта Альфа-Банка", "Альфа-банк", "альфа"),
        ("звонил в билайн", "beeline", "билайн"),
        ("кредит в втб24", "ВТБ", "втб24"),
        ("Рога и Копыта опять подвели", "Рога и Копыта", "копыта"),
    ],
)
def test_target_forms_are_found(text: str, target: str, token: str) -> None:
    # The other spellings come from the configured aliases (no built-in list fills them in).
    aliases = {"МТС": ("MTS",), "Tele2": ("Теле2",), "beeline": ("Билайн",)}.get(target, ())
    assert roles_of(text, target, aliases)[token] == TokenRole.TARGET


def test_aliases_are_used() -> None:
    assert roles_of("ЗБС банк лучший", "Зеленый банк", ("ЗБС",))["збс"] == TokenRole.TARGET


def test_similar_word_is_not_a_brand() -> None:
    assert roles_of("Дима Билан спел", "Билайн")["билан"] == TokenRole.OTHER_TEXT


def test_no_target_no_roles() -> None:
    toks = tokenize("Сбер и ВТБ")
    assert locate(toks, None) == [TokenRole.OTHER_TEXT] * len(toks)


def test_mark_masks_target_and_competitors_to_placeholders() -> None:
    text = "Ушёл из Зорбанка в Кредо-Плюс, доволен"
    # A hyphen inside a name is kept between the placeholders of its words (as the shipped model reads it).
    assert mark(text, "Зорбанк", (), ("Кредо-Плюс",)) == "ушел из [[ X ]] в {{ Y }} - {{ Y }} , доволен"
    assert mark(text, "Кредо-Плюс", (), ("Зорбанк",)) == "ушел из {{ Y }} в [[ X ]] - [[ X ]] , доволен"
    assert (
        mark("Ушёл из Зорбанка в Кредо Плюс", "Кредо Плюс", (), ("Зорбанк",)) == "ушел из {{ Y }} в [[ X ]]"
    )
    assert mark(text, "Зорбанк", (), ("Кредо-Плюс",), mask=False) == (
        "ушел из [[ зорбанка ]] в {{ кредо }} - {{ плюс }} , доволен"
    )


def test_short_text_is_read_whole() -> None:
    assert focus("Сбер опять завис", "Сбер") == "Сбер опять завис"


def test_a_huge_text_is_read_in_a_bounded_number_of_windows() -> None:
    text = "Полярбанк опять списал деньги. " * 170_000  # 5 MB naming the brand 170,000 times
    out = focus(text, "Полярбанк")
    assert len(out) <= FOCUS_WINDOWS * (FOCUS_CHARS + 3)
    assert out.count("Полярбанк") >= FOCUS_WINDOWS
    mid = "слово " * 200_000 + "а вот Полярбанк молодцы " + "слово " * 200_000
    assert "Полярбанк молодцы" in focus(mid, "Полярбанк")  # the window is where the brand is


def test_a_huge_text_without_the_target_is_cut_to_its_start() -> None:
    text = "просто текст " * 100_000
    assert focus(text, "Полярбанк") == text[: FOCUS_WINDOWS * FOCUS_CHARS]
    assert focus(text, None) == text[: FOCUS_WINDOWS * FOCUS_CHARS]


def test_a_lone_surrogate_is_replaced() -> None:
    assert focus("Сбер \ud800 молодцы", "Сбер") == "Сбер \ufffd молодцы"
