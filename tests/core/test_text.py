"""Brand matching: inflections, spellings, word boundaries, exclusions, several brands in one text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.text import BrandMatcher, fold
from loyalty_monitor.config import BrandSettings

BRANDS = [
    BrandSettings(name="Сбербанк", aliases=["Сбер", "SberBank", "Sber"], own=True),
    BrandSettings(
        name="Альфа-Банк",
        aliases=["Альфа", "Alfa-Bank"],
        exclusions=["альфа-версия", "альфа-тестирование", "альфа-канал"],
    ),
    BrandSettings(name="Тинькофф", aliases=["Tinkoff", "Т-Банк", "Тинек"]),
    BrandSettings(name="МТС Банк", aliases=["МТС"]),
    BrandSettings(name="Почта Банк", aliases=["Почта-Банк"]),
    BrandSettings(name="Почта России", aliases=["Почта"]),
    BrandSettings(name="Полярбанк", aliases=["Поляр", "Поляр Банк", "Polyarbank"]),
    BrandSettings(name="Борей Банк", aliases=["Борей", "Borey"]),
]


@pytest.fixture(scope="module")
def matcher() -> BrandMatcher:
    return BrandMatcher(BRANDS)


def names(matcher: BrandMatcher, text: str) -> list[str]:
    return matcher.match_names(text)


@pytest.mark.parametrize(
    "text",
    [
        "Сбербанк опять завис",
        "в Сбербанке очередь",
        "перевёл из Сбербанка",
        "позвонил Сбербанку",
        "ушёл от Сбера",
        "доволен Сбером",
        "про Сбер",
        "СБЕРБАНК",
        "сбербанк",
        "SberBank app",
        "sber pay",
        "#сбер",
        "@sberbank",
    ],
)
def test_inflections_case_and_scripts(matcher: BrandMatcher, text: str) -> None:
    assert names(matcher, text) == ["Сбербанк"]


@pytest.mark.parametrize(
    "text",
    [
        "Альфа-Банк",
        "альфа банк",
        "альфабанк",
        "АльфаБанк",
        "в Альфа-Банке",
        "альфабанком",
        "Alfa-Bank",
        "в Альфе",
    ],
)
def test_hyphen_space_and_joined_spellings(matcher: BrandMatcher, text: str) -> None:
    assert names(matcher, text) == ["Альфа-Банк"]


@pytest.mark.parametrize(
    "text", ["Тинькофф", "Тинькоффа", "Тинькоффом", "Tinkoff", "Tinkoff'а", "Т-Банк", "т банк", "в Тинеке"]
)
def test_aliases_and_their_inflections(matcher: BrandMatcher, text: str) -> None:
    assert names(matcher, text) == ["Тинькофф"]


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("Полярбанка", "Полярбанк"),
        ("Поляром", "Полярбанк"),
        ("в Поляр Банке", "Полярбанк"),
        ("Бореем", "Борей Банк"),
        ("Борею", "Борей Банк"),
        ("из Борея", "Борей Банк"),
    ],
)
def test_invented_brand_words_are_declined(matcher: BrandMatcher, text: str, brand: str) -> None:
    assert names(matcher, text) == [brand]


def test_yo_and_e_are_one_letter() -> None:
    m = BrandMatcher([BrandSettings(name="Ёлка Банк", aliases=["Ёлка"])])
    assert m.match_names("в елке") == ["Ёлка Банк"]
    assert m.match_names("в ЁЛКЕ") == ["Ёлка Банк"]


@pytest.mark.parametrize(
    "text",
    [
        "надо сберечь деньги",
        "мои сбережения",
        "сберкасса",
        "бережливость",
        "МТСовский роутер",
        "мтскорее",
        "автосберегатель",
        "альфа-версия приложения",
        "в альфа-версии всё падает",
        "идёт альфа-тестирование",
        "альфа канал у png",
        "поляризация",
        "полярный круг",
        "борейский",
        "тинькнуть",
        "обычный банк и почтальон",
    ],
)
def test_no_false_hits(matcher: BrandMatcher, text: str) -> None:
    assert names(matcher, text) == []


def test_several_brands_in_one_text_keep_order_and_spans(matcher: BrandMatcher) -> None:
    text = "Ушёл из Сбера в Тинькофф, доволен. Альфа-Банк тоже звал, а МТС молчит. Сбербанку пока."
    hits = matcher.match(text)
    assert [h.brand for h in hits] == ["Сбербанк", "Тинькофф", "Альфа-Банк", "МТС Банк"]
    sber = hits[0]
    assert sber.own is True
    assert sber.forms == ("Сбера", "Сбербанку")
    assert all(text[a:b] == f for (a, b), f in zip(sber.spans, sber.forms, strict=True))


def test_longest_alias_wins_between_brands(matcher: BrandMatcher) -> None:
    assert names(matcher, "оформил карту в Почта Банке") == ["Почта Банк"]
    assert names(matcher, "посылку отправил Почтой") == ["Почта России"]
    assert names(matcher, "Почта-Банк и почта") == ["Почта Банк", "Почта России"]


def test_exclusion_vetoes_only_the_place_it_covers(matcher: BrandMatcher) -> None:
    hits = matcher.match("В альфа-версии баг, а в Альфе карта норм")
    assert [h.forms for h in hits] == [("Альфе",)]


def test_words_of_an_alias_must_be_adjacent(matcher: BrandMatcher) -> None:
    # "Т" and "банк" separated by a full stop are not "Т-Банк"; "банк" alone names nobody.
    assert names(matcher, "пункт Т. банк закрыт") == []


def test_terms_are_names_and_aliases_without_case_repeats() -> None:
    m = BrandMatcher(
        [
            BrandSettings(name="Сбербанк", aliases=["Сбер", "СБЕР", "SberBank"]),
            BrandSettings(name="Тинькофф", aliases=["Tinkoff"]),
        ]
    )
    assert m.terms() == ["Сбербанк", "Сбер", "SberBank", "Тинькофф", "Tinkoff"]
    assert m.terms("Тинькофф") == ["Тинькофф", "Tinkoff"]
    with pytest.raises(KeyError):
        m.terms("Нет такого")


def test_no_brands_no_hits() -> None:
    assert BrandMatcher([]).match("Сбербанк") == []


def test_text_whose_lower_case_is_longer_keeps_spans() -> None:
    m = BrandMatcher([BrandSettings(name="Сбербанк", aliases=["Сбер"])])
    text = "İİ Сбер"
    (hit,) = m.match(text)
    assert hit.forms == ("Сбер",)


INSERTED = [
    ("Сбербанка", "Сбербанк"),
    ("Сберу", "Сбербанк"),
    ("SberBank", "Сбербанк"),
    ("Альфа-Банку", "Альфа-Банк"),
    ("альфабанк", "Альфа-Банк"),
    ("Тинькоффом", "Тинькофф"),
    ("МТС", "МТС Банк"),
    ("Поляр Банке", "Полярбанк"),
    ("Бореем", "Борей Банк"),
]
_words = st.text(alphabet="абвгдежзийклмнопрстуфхцчшщыьэюя", min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(_words, max_size=8),
    after=st.lists(_words, max_size=8),
    inserted=st.sampled_from(INSERTED),
    sep=st.sampled_from([" ", ", ", "! ", " — ", "\n", " #"]),
)
def test_an_inserted_alias_is_always_found(
    matcher: BrandMatcher, before: list[str], after: list[str], inserted: tuple[str, str], sep: str
) -> None:
    form, brand = inserted
    head = " ".join(before)
    text = f"{head}{sep if head else ''}{form}{sep}{' '.join(after)}"
    start = len(head) + (len(sep) if head else 0)
    hits = {h.brand: h for h in matcher.match(text)}
    assert brand in hits
    assert any(a <= start < b for a, b in hits[brand].spans)


def test_fold_folds_case_and_yo() -> None:
    assert fold("ЁЖИК Ёлка") == "ежик елка"


def test_one_analyser_and_the_primitives_every_matcher_uses() -> None:
    from core.text import TermMatcher, analyser, normal_form, normal_forms, tokens

    assert analyser() is analyser()
    assert tokens("Ушёл из Tinkoff'а, СБЕР-банк 24") == ["ушел", "из", "tinkoff", "сбер", "банк", "24"]
    assert "роспотребнадзор" in normal_forms("роспотребнадзором")
    assert "роспотребнадзором" in normal_forms("роспотребнадзором")  # the word itself is one of its forms
    assert normal_form("журналистам") == "журналист"
    terms = TermMatcher({"regulator": ["Роспотребнадзор"], "demand": ["верните деньги"]})
    assert terms.find("Пишу в Роспотребнадзор, верните мне мои деньги!") == {
        "regulator": ["Роспотребнадзор"],
        "demand": ["верните деньги"],
    }
    assert terms.find("всё хорошо") == {}
