"""How a post naming two brands is read: clauses, the brand left or measured against, mirrored readings."""

from __future__ import annotations

import pytest

from sentiment.reading import Reading, readings, segments, stance
from sentiment.text import TokenRole, locate, tokenize

OWN, OTHER = TokenRole.TARGET, TokenRole.OTHER_BRAND


def _read(text: str, target: str, other: str) -> list[tuple[str, int, bool]]:
    return [(r.text, r.role, r.mirrored) for r in readings(text, target, (), (other,))]


def _segments(text: str, target: str, other: str) -> list[tuple[str, bool]]:
    tokens = tokenize(text)
    roles = locate(tokens, target, (), (other,))
    return [(" ".join(tokens[s.start : s.end]), s.standard) for s, _ in segments(tokens, roles)]


def test_clauses_end_at_sentences_contrastive_words_and_standard_phrases() -> None:
    assert _segments(
        "У Икса плохо, а у Игрека отлично. Спасибо Игреку, не то что Иксу, всё чётко", "Икс", "Игрек"
    ) == [
        ("у икса плохо ,", False),
        ("а у игрека отлично .", False),
        ("спасибо игреку ,", False),
        ("не то что иксу ,", True),  # a standard phrase closes at the next comma
        ("все четко", False),
    ]
    # "не X, а Y" and "Y, а не X": the clause that only denies a brand is a standard too
    assert _segments("Не Икс, а Игрек: вот где порядок", "Икс", "Игрек")[0] == ("не икс ,", True)
    assert _segments("Выбрал Игрек, а не Икс. Доволен", "Икс", "Игрек")[1] == ("а не икс .", True)
    # a denial that says more than the brand is an ordinary clause
    assert _segments("Хорошо у Игрека, а не как у Икса.", "Икс", "Игрек")[1] == ("а не как у икса .", False)


@pytest.mark.parametrize(
    ("text", "target", "other"),
    [
        ("Ушёл из Зорбанка в Кредо и ни разу не пожалел.", "Зорбанк", "Кредо"),
        ("Перешёл с Бурана на Вьюгу, тариф дешевле.", "Буран", "Вьюга"),
        ("Ушла от Омеги к Альфе, о чём не жалею.", "Омега", "Альфа"),
        ("Поменял Бурана на Вьюгу и доволен.", "Буран", "Вьюга"),
        ("Заменил Буран на Вьюгу.", "Буран", "Вьюга"),
        ("Отказался от Омеги в пользу Альфы.", "Омега", "Альфа"),
        ("Взял карту Альфы вместо Омеги, рекомендую.", "Омега", "Альфа"),
        ("Вместо Омеги теперь пользуюсь Альфой.", "Омега", "Альфа"),
        ("После Омеги в Альфе просто отдыхаю.", "Омега", "Альфа"),
        ("Альфа в разы удобнее Омеги!", "Омега", "Альфа"),
        ("В Альфе обслуживают быстрее, чем в Омеге.", "Омега", "Альфа"),
        ("По сравнению с Омегой Альфа просто находка.", "Омега", "Альфа"),
        ("В отличие от Омеги, Альфа ни разу не опоздала.", "Омега", "Альфа"),
        ("Альфа отвечает за минуту, чего не скажешь об Омеге.", "Омега", "Альфа"),
        ("Не то что Омега, в Альфе водители вежливые.", "Омега", "Альфа"),
        ("Не Омега, а Альфа: вот где порядок.", "Омега", "Альфа"),
        ("Выбрала Альфу, а не Омегу.", "Омега", "Альфа"),
        ("Теперь только Альфа, а не Омега!", "Омега", "Альфа"),
        ("Вернулась в Альфу после полугода в Омеге.", "Омега", "Альфа"),
        # a verb that moves one's money is a switch too; closing an account leaves the brand
        ("Перевёл все накопления из Омеги в Альфу: честные цены.", "Омега", "Альфа"),
        ("Перенесла зарплатный проект из Омеги в Альфу.", "Омега", "Альфа"),
        ("Закрыл счёт в Омеге, открыл в Альфе — красота.", "Омега", "Альфа"),
        ("Расторгла договор с Омегой и подключилась к Альфе.", "Омега", "Альфа"),
    ],
)
def test_the_brand_left_or_measured_against_reads_the_other_side_mirrored(
    text: str, target: str, other: str
) -> None:
    out = readings(text, target, (), (other,))
    assert Reading(" ".join(tokenize(text)), OTHER, True) in out
    # the brand chosen is never mirrored: it is read whole, or as its own clauses
    assert not any(r.mirrored for r in readings(text, other, (), (target,)))


def test_a_switch_in_one_clause_reads_the_brand_chosen_whole() -> None:
    text = "Ушёл из Зорбанка в Кредо и ни разу не пожалел."
    assert _read(text, "Кредо", "Зорбанк") == []
    assert _read(text, "Зорбанк", "Кредо") == [(" ".join(tokenize(text)), OTHER, True)]


def test_contrasting_clauses_are_each_brands_own() -> None:
    text = "У Волнакома связь пропадает, а у Линкора ловит везде."
    mine, theirs = "у волнакома связь пропадает ,", "а у линкора ловит везде ."
    # contrasted clauses: each side also reads the other side's own clauses, mirrored
    assert _read(text, "Волнаком", "Линкор") == [(mine, OWN, False), (theirs, OTHER, True)]
    assert _read(text, "Линкор", "Волнаком") == [(theirs, OWN, False), (mine, OTHER, True)]
    # a brand-less clause continues the clause before it
    text = "Все ругают Домлинк, а у меня ни одного обрыва. Зато Нетфокс падает."
    assert _read(text, "Домлинк", "Нетфокс")[0] == (
        "все ругают домлинк , а у меня ни одного обрыва .",
        OWN,
        False,
    )


@pytest.mark.parametrize(
    "text",
    [
        "Альфа выпустила карту, а также Омега открыла офис.",  # "а" that adds
        "Альфа открыла офис, а потом Омега запустила карту.",  # "а" that goes on in time
        "Альфа открыла офис. Омега запустила карту.",  # no contrastive word
        # a report: the register reads it as news, where "а" joins events, not opinions
        "Как сообщили в пресс-службе 7 декабря, Альфа открыла новый офис в Казани, а Омега объявила "
        "о закрытии двух отделений в Москве.",
    ],
)
def test_clauses_not_contrasted_read_only_their_own(text: str) -> None:
    assert not any(r.mirrored for r in readings(text, "Альфа", (), ("Омега",)))
    assert not any(r.mirrored for r in readings(text, "Омега", (), ("Альфа",)))


def test_before_and_now_make_the_earlier_brand_the_one_left() -> None:
    text = "Раньше страховалась в Щитстрахе, теперь в Обереге. Нервов меньше."
    assert _read(text, "Щитстрах", "Оберег") == [
        ("раньше страховалась в щитстрахе ,", OWN, False),
        (" ".join(tokenize(text)), OTHER, True),
    ]
    assert _read(text, "Оберег", "Щитстрах") == [("теперь в обереге . нервов меньше .", OWN, False)]
    # the same brand before and now is no switch
    text = "Прежде хвалил Зорбанк, а сейчас Зорбанк подводит. Хорошо, что есть Кредо."
    assert not any(r.mirrored for r in readings(text, "Зорбанк", (), ("Кредо",)))


@pytest.mark.parametrize(
    ("text", "a", "b"),
    [
        ("Перевод из Альфы в Омегу шёл три дня.", "Альфа", "Омега"),  # no verb of switching
        ("Перевёл 500 рублей из Альфы в Омегу.", "Альфа", "Омега"),  # an amount: a payment
        ("Альфа не закрыла мне счёт в Омеге.", "Альфа", "Омега"),  # a negated verb of leaving
        ("Альфа и Омега подписали соглашение.", "Альфа", "Омега"),
        ("Альфа, Омега и Сигма открыли офисы.", "Альфа", "Омега"),  # a list, nothing said alike
        ("Кто лучше, Альфа или Омега?", "Альфа", "Омега"),
        ("Альфа выкупила у Омеги сеть терминалов.", "Альфа", "Омега"),
    ],
)
def test_no_roles_where_the_syntax_sets_none(text: str, a: str, b: str) -> None:
    assert readings(text, a, (), (b,)) == []
    assert readings(text, b, (), (a,)) == []


def test_competitors_come_only_from_the_caller() -> None:
    text = "Ушёл из Зорбанка в Кредо и ни разу не пожалел."
    assert readings(text, "Зорбанк") == []
    assert readings(text, None, (), ("Кредо",)) == []
    assert readings("Зорбанк молодцы, а погода плохая.", "Зорбанк", (), ("Кредо",)) == []


def test_readings_read_back_as_the_same_tokens() -> None:
    text = "Кредо-Плюс заблокировал карту!!! Зато Зорбанк помог :)"
    r, _ = readings(text, "Кредо-Плюс", ("Кредо Плюс",), ("Зорбанк",))
    assert tokenize(r.text) == tokenize("Кредо-Плюс заблокировал карту!!!")


@pytest.mark.parametrize(
    "text",
    [
        "Альфа ничем не лучше Омеги: у обоих очереди.",  # a negated comparative
        "Альфа ничуть не хуже, чем Омега.",
        "Альфа и Омега одинаково плохи.",
        "Альфа, Омега, Сигма — у всех очереди.",
        "Ни Альфа, ни Омега так и не ответили.",
        "Альфа, как и Омега, тоже подняла цены.",
        "Альфа и Омега оба хороши.",
    ],
)
def test_brands_judged_alike_read_one_joint_reading(text: str) -> None:
    whole = " ".join(tokenize(text))
    assert readings(text, "Альфа", (), ("Омега",)) == [Reading(whole, OWN, False, joint=True)]
    assert readings(text, "Омега", (), ("Альфа",)) == [Reading(whole, OWN, False, joint=True)]


def test_likeness_never_overrides_roles() -> None:
    # a switch judged with "тоже" is still a switch: the brand left reads the other side mirrored
    text = "Ушёл из Омеги в Альфу, там тоже очереди, но меньше."
    assert [r.mirrored for r in readings(text, "Омега", (), ("Альфа",))] == [True]


@pytest.mark.parametrize(
    ("text", "left", "chosen"),
    [
        ("Ушёл из Омеги в Альфу, ни капли не жалею.", "Омега", "Альфа"),
        ("Взяла карту Альфы вместо Омеги и живу спокойно.", "Омега", "Альфа"),
        ("Не Омега, а Альфа: вот где ни одного сбоя.", "Омега", "Альфа"),
        ("Альфа в разы удобнее Омеги.", "Омега", "Альфа"),
        ("Раньше сидел на Омеге, теперь на Альфе.", "Омега", "Альфа"),
        # regret, not negated, turns the verdict of the choice
        ("Перешёл на Омегу с Альфы, и это была ошибка.", "Омега", "Альфа"),
        ("Зачем я только ушёл с Альфы на Омегу, тут очереди.", "Омега", "Альфа"),
        ("Поменял Альфу на Омегу и горько пожалел.", "Омега", "Альфа"),
        # regret of a switch made late is no regret of the switch
        ("Ушёл из Омеги в Альфу, жалею только, что раньше не ушёл.", "Омега", "Альфа"),
    ],
)
def test_stance_says_which_brand_the_syntax_chose(text: str, left: str, chosen: str) -> None:
    assert stance(text, left, (), (chosen,)) == -1
    assert stance(text, chosen, (), (left,)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Кто-нибудь уходил из Омеги в Альфу? Стоит ли?",  # a switch only asked about
        "Альфа и Омега одинаково плохи.",  # alike
        "Перевод из Альфы в Омегу шёл три дня.",  # no roles
        "Альфа лучше Омеги, а Омега лучше Альфы.",  # both sides found left
    ],
)
def test_no_stance_where_no_choice_is_made(text: str) -> None:
    assert stance(text, "Альфа", (), ("Омега",)) == 0
    assert stance(text, "Омега", (), ("Альфа",)) == 0
    assert stance("Ушёл из Омеги в Альфу.", "Альфа") == 0  # no competitor configured
