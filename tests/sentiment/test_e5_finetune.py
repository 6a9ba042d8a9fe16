"""Target marking for the e5 fine-tune: one tweet naming two brands must become two different inputs."""

from __future__ import annotations

from sentiment.e5_finetune import mark_target


def test_the_target_and_only_the_target_is_marked() -> None:
    text = "Ушёл из Сбера в Тинькофф, доволен"
    assert mark_target(text, "Сбер") == "ушел из [[ сбера ]] в тинькофф , доволен"
    assert mark_target(text, "Тинькофф") == "ушел из сбера в [[ тинькофф ]] , доволен"


def test_aliases_and_declined_forms_are_found() -> None:
    assert (
        mark_target("Пользуюсь Полярбанком третий год", "Полярбанк")
        == "пользуюсь [[ полярбанком ]] третий год"
    )
    assert mark_target("Поляр опять завис", "Полярбанк", aliases=("Поляр",)) == "[[ поляр ]] опять завис"
