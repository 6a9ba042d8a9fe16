"""Themes on a stream of four known matters, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from loyalty_index.themes import THEME_COLUMNS, ThemeSettings, brand_themes, content_words, theme_rows
from storage.schema import ThemeRow
from storage.store import Store

START = datetime(2026, 3, 1, tzinfo=UTC)
AddMentions = Callable[..., None]  # the ``add_mentions`` fixture of tests/conftest.py

# Four matters people write about, each in several wordings; openers and closers carry no matter.
TOPICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "app": (
        "negative",
        (
            "Приложение {b} вылетает после обновления",
            "Не могу войти в приложение {b}, после обновления вылетает",
            "Приложение {b} зависает и вылетает при входе",
        ),
    ),
    "cashback": (
        "negative",
        (
            "{b} не начислил кэшбэк за покупки",
            "Обещали кэшбэк пять процентов, {b} начислил копейки",
            "Кэшбэк от {b} опять начислили не за ту категорию",
        ),
    ),
    "queue": (
        "negative",
        (
            "В отделении {b} очередь на час, окно работает одно",
            "Огромная очередь в отделении {b}, окно одно",
            "Отстоял очередь в отделении {b}, окно закрыли",
        ),
    ),
    "support": (
        "positive",
        (
            "Оператор поддержки {b} ответил быстро и вежливо",
            "Спасибо оператору поддержки {b}, вежливо и быстро",
            "Поддержка {b} вежливая, оператор помог быстро",
        ),
    ),
}
OPENERS = ("", "Друзья, ", "Честно, ", "Короче, ", "Ну вот, ")
CLOSERS = ("", " Ужас.", " Вот так.", " Такие дела.", " 😡", " 👍")
BRAND_SPELLINGS = ("Поляр", "Поляра", "Полярбанк", "Поляр Банк")


def _stream(days: Sequence[int], seed: int, weights: dict[str, int]) -> list[tuple[datetime, str, str]]:
    rng = random.Random(seed)
    out: list[tuple[datetime, str, str]] = []
    for day in days:
        for topic, n in weights.items():
            label, templates = TOPICS[topic]
            for _ in range(n):
                text = rng.choice(templates).format(b=rng.choice(BRAND_SPELLINGS))
                text = rng.choice(OPENERS) + text + rng.choice(CLOSERS)
                at = START + timedelta(days=day, minutes=rng.randrange(24 * 60))
                out.append((at, text, label))
    return out


ALIASES = ["Поляр", "Полярбанк"]
WEIGHTS = {"app": 12, "cashback": 8, "queue": 6, "support": 5}


def _topic_of(name: str) -> str | None:
    keys = {
        "app": ("приложение", "вылетать", "обновление", "вход", "зависать", "войти"),
        "cashback": ("кэшбэк", "начислить", "копейка", "категория", "покупка", "процент"),
        "queue": ("очередь", "отделение", "окно", "отстоять"),
        "support": ("оператор", "поддержка", "вежливый", "вежливо", "быстро"),
    }
    hits = {t for t, words in keys.items() for w in name.split(" / ") if w in words}
    return hits.pop() if len(hits) == 1 else None


def test_content_words_are_normal_forms_without_names() -> None:
    assert content_words("Начислили кэшбэк не за ту категорию") == ["начислить", "кэшбэк", "категория"]
    assert "поляр" not in content_words("Поляр начислил кэшбэк", frozenset({"поляр"}))


def test_four_matters_become_four_named_themes_with_their_sentiment(
    store: Store, add_mentions: AddMentions
) -> None:
    add_mentions(store, _stream(range(14), seed=1, weights=WEIGHTS))
    themes = brand_themes(
        store, "Поляр Банк", START + timedelta(days=7), START + timedelta(days=14), stop_terms=ALIASES
    )
    by_topic = {_topic_of(t.name): t for t in themes}
    assert {"app", "cashback", "queue", "support"} <= set(by_topic), [t.name for t in themes]
    for t in themes:
        assert not {"поляр", "полярбанк", "банк"} & set(t.words), t.name  # names carry no brand
    app = by_topic["app"]
    assert app.mentions >= 7 * 12 * 0.8
    assert app.negative == app.mentions and app.positive == 0
    support = by_topic["support"]
    assert support.positive == support.mentions
    assert [t.mentions for t in themes] == sorted((t.mentions for t in themes), reverse=True)
    assert all(len(t.examples) == 3 and all(e.url for e in t.examples) for t in themes)
    assert all("кэшбэк" in e.text.lower() for e in by_topic["cashback"].examples)
    # Steady stream: the previous week had the same volume, so nothing is rising.
    assert all(t.previous > 0 and not t.rising for t in themes)
    assert abs(app.change or 0.0) < 0.4


def test_same_data_same_themes(store: Store, add_mentions: AddMentions) -> None:
    add_mentions(store, _stream(range(7), seed=2, weights=WEIGHTS))
    args = (store, "Поляр Банк", START, START + timedelta(days=7))
    first = brand_themes(*args, stop_terms=ALIASES, remember=False)
    second = brand_themes(*args, stop_terms=ALIASES, remember=False)
    assert first == second
    assert first


def test_a_theme_keeps_its_name_the_next_day(store: Store, add_mentions: AddMentions) -> None:
    add_mentions(store, _stream(range(7), seed=3, weights=WEIGHTS))
    day7 = brand_themes(store, "Поляр Банк", START, START + timedelta(days=7), stop_terms=ALIASES)
    # One more day, with the app complaints worded mostly one way: the most used words shift.
    extra = [
        (at, "Приложение Поляра зависает, зависает и зависает при входе", "negative")
        for at, _, _ in _stream([7], seed=4, weights={"app": 40})
    ]
    add_mentions(store, _stream([7], seed=5, weights=WEIGHTS) + extra)
    day8 = brand_themes(
        store, "Поляр Банк", START + timedelta(days=1), START + timedelta(days=8), stop_terms=ALIASES
    )
    before = {_topic_of(t.name): (t.key, t.name) for t in day7}
    after = {(t.key, t.name) for t in day8}
    for topic in ("app", "cashback", "queue", "support"):
        assert before[topic] in after, (topic, before[topic], after)
    with store.engine.connect() as conn:
        rows = conn.execute(select(ThemeRow.key, ThemeRow.first_seen_at, ThemeRow.last_seen_at)).all()
    seen_again = {key for key, _ in after}
    assert {key for key, _, _ in rows} >= {t.key for t in day7}
    for key, first, last in rows:
        assert last == (START + timedelta(days=8) if key in seen_again else first)


def test_a_new_matter_is_rising(store: Store, add_mentions: AddMentions) -> None:
    add_mentions(store, _stream(range(14), seed=6, weights={"app": 10, "support": 6}))
    add_mentions(store, _stream(range(7, 14), seed=7, weights={"queue": 9}))
    themes = brand_themes(
        store, "Поляр Банк", START + timedelta(days=7), START + timedelta(days=14), stop_terms=ALIASES
    )
    by_topic = {_topic_of(t.name): t for t in themes}
    queue = by_topic["queue"]
    assert queue.rising and queue.previous == 0 and queue.change is None
    assert not by_topic["app"].rising
    rows = theme_rows(themes)
    assert list(rows[0]) == list(THEME_COLUMNS)
    row = next(r for r in rows if r["theme"] == queue.name)
    assert row["change"] == "" and row["mentions"] == queue.mentions
    assert row["examples"].startswith("https://vk.com/wall-1_")


def test_empty_and_reversed_periods(store: Store, add_mentions: AddMentions) -> None:
    assert brand_themes(store, "Поляр Банк", START, START + timedelta(days=1)) == []
    add_mentions(store, _stream([0], seed=8, weights={"app": 2}))
    assert brand_themes(store, "Поляр Банк", START, START + timedelta(days=1)) == []  # too few to be a theme
    with pytest.raises(ValueError, match="empty"):
        brand_themes(store, "Поляр Банк", START, START)


def test_small_settings_are_respected(store: Store, add_mentions: AddMentions) -> None:
    add_mentions(store, _stream(range(7), seed=9, weights=WEIGHTS))
    themes = brand_themes(
        store,
        "Поляр Банк",
        START,
        START + timedelta(days=7),
        stop_terms=ALIASES,
        settings=ThemeSettings(max_themes=2, name_words=2, examples=1),
        remember=False,
    )
    assert len(themes) == 2
    assert all(len(t.words) == 2 and len(t.examples) == 1 for t in themes)
