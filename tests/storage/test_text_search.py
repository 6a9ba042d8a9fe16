"""Text search: the SQLite trigram index (migration 0006) answers like the LIKE scan, and stays in step."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, delete, insert, select, update

import storage.store
from core.mention import Mention
from storage import migrate
from storage.schema import MentionRow
from storage.store import Store, text_contains, text_search
from storage.textnorm import text_hash

T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)

TEXTS = [
    "Пожалуюсь в ЦБ на СБЕРБАНК",
    "сбер снова списал комиссию, жалоба в цб",
    "Ёлка в офисе Тинькофф",
    "елка без точек",
    'Кэшбэк 100% и "двойные" кавычки',
    "user_name AND field_1 OR NEAR(x) * ^start",
    "Sberbank app is down",
]


def _store(store: Store, texts: list[str] = TEXTS) -> Store:
    store.upsert_mentions([Mention("vk", str(i), "vk", t, T0) for i, t in enumerate(texts, 1)])
    return store


def _store_old_schema(store: Store, rows: list[tuple[str, str]]) -> None:
    """Mentions written as a database at an older revision holds them: only the columns it had then."""
    with store.engine.begin() as conn:
        conn.execute(
            insert(MentionRow),
            [
                {
                    "source": "vk",
                    "external_id": ext,
                    "channel": "vk",
                    "text": t,
                    "text_hash": text_hash(t),
                    "published_at": T0,
                    "collected_at": T0,
                }
                for ext, t in rows
            ],
        )


def _ids(store: Store, cond: ColumnElement[bool]) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(MentionRow.id).where(cond).order_by(MentionRow.id)).scalars())


def _search(store: Store, needle: str) -> list[int]:
    with store.engine.connect() as conn:
        cond = text_search(conn, needle)
        return list(conn.execute(select(MentionRow.id).where(cond).order_by(MentionRow.id)).scalars())


def _uses_index(store: Store, needle: str) -> bool:
    with store.engine.connect() as conn:
        return "lower" not in str(text_search(conn, needle))


def _scan(store: Store, needle: str) -> list[int]:
    return _ids(store, text_contains(MentionRow.text, needle))


def _integrity_check(store: Store) -> None:
    """FTS5 compares the index with the mentions table and raises on any difference."""
    with store.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO mentions_fts (mentions_fts, rank) VALUES ('integrity-check', 1)")


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("Сбер", [1, 2]),  # finds СБЕРБАНК and сбер
        ("СБЕРБАНК", [1]),
        ("в цб", [1, 2]),  # "в ЦБ" and "в цб"
        ("ЁЛКА", [3]),  # ё and е stay different letters, as in Python's lower()
        ("елка", [4]),
        ("SBERBANK", [7]),
    ],
)
def test_index_folds_case_like_the_scan(sqlite_store: Store, needle: str, expected: list[int]) -> None:
    _store(sqlite_store)
    assert _uses_index(sqlite_store, needle)
    assert _search(sqlite_store, needle) == expected == _scan(sqlite_store, needle)


def test_every_russian_letter_folds_the_same_in_the_index_and_the_scan(sqlite_store: Store) -> None:
    alphabet = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    _store(sqlite_store, [alphabet, alphabet.upper(), "другой текст"])
    for i in range(len(alphabet) - 2):
        for needle in (alphabet[i : i + 3], alphabet[i : i + 3].upper()):
            assert _uses_index(sqlite_store, needle)
            assert _search(sqlite_store, needle) == [1, 2], needle


@pytest.mark.parametrize("needle", ["ЦБ", "цб", "ё", "%", "_"])
def test_short_needles_scan(sqlite_store: Store, needle: str) -> None:
    _store(sqlite_store)
    assert not _uses_index(sqlite_store, needle)
    assert _search(sqlite_store, needle) == _scan(sqlite_store, needle)
    assert _search(sqlite_store, "ЦБ") == [1, 2]


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("0% и", [5]),
        ("00%", [5]),
        ("1%", []),  # % is a character, not "anything"
        ("r_n", [6]),
        ("r_na", [6]),
        ("rxn", []),  # _ is a character, not "any one"
        ('"двойные"', [5]),
        ('"дв', [5]),
        ('е" к', [5]),
        ('""', []),
        ("AND field", [6]),
        (" OR ", [6]),
        ("NEAR(x)", [6]),
        ("* ^start", [6]),
        ("sber*", []),  # no prefix query: * is a character
    ],
)
def test_query_syntax_in_the_needle_is_literal(store: Store, needle: str, expected: list[int]) -> None:
    """The same answers on both databases: FTS5 operators, quotes, % and _ are text to find."""
    _store(store)
    assert _search(store, needle) == expected
    assert _scan(store, needle) == expected


def test_common_needles_scan_and_rare_ones_use_the_index(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.store, "FTS_MAX_HITS", 3)
    _store(sqlite_store, [f"жалоба номер {i}" for i in range(5)] + ["редкий текст"])
    assert not _uses_index(sqlite_store, "жалоба")  # 5 hits >= 3: the newest-first scan finds a page soon
    assert _search(sqlite_store, "жалоба") == [1, 2, 3, 4, 5]
    assert _uses_index(sqlite_store, "редкий")
    assert _search(sqlite_store, "редкий") == [6]
    assert _uses_index(sqlite_store, "нет такого")
    assert _search(sqlite_store, "нет такого") == []


def test_without_a_connection_the_search_scans(sqlite_store: Store) -> None:
    _store(sqlite_store)
    cond = text_search(None, "Сбербанк")
    assert "lower" in str(cond)
    assert _ids(sqlite_store, cond) == [1]


def test_updates_and_deletes_keep_the_index_in_step(sqlite_store: Store) -> None:
    _store(sqlite_store)
    with sqlite_store.engine.begin() as conn:
        conn.execute(update(MentionRow).where(MentionRow.id == 1).values(text="Жалоба на Альфа-Банк"))
        conn.execute(delete(MentionRow).where(MentionRow.id == 2))
    assert _search(sqlite_store, "Сбер") == []
    assert _search(sqlite_store, "альфа-банк") == [1]
    assert _search(sqlite_store, "в цб") == []
    # counters, tagging and handled_at do not touch the text: the index is left alone, and stays right
    sqlite_store.mark_handled(1)
    sqlite_store.update_engagement("vk", "1", {"likes": 5})
    sqlite_store.upsert_mentions([Mention("vk", "new", "vk", "Новый СБЕР", T0)])
    assert _search(sqlite_store, "сбер") == [8]
    _integrity_check(sqlite_store)


def test_upgrade_indexes_existing_rows_and_downgrade_removes_the_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store.open(url, migrate_schema=False)
    migrate.upgrade(old.engine, "0005_mentions_duplicate_of")
    _store_old_schema(old, [(str(i), t) for i, t in enumerate(TEXTS, 1)])  # stored before the index existed
    old.close()

    store = Store.open(url)  # runs 0006
    assert _uses_index(store, "Сбер")
    assert _search(store, "Сбер") == [1, 2]
    _integrity_check(store)

    from alembic import command

    cfg = migrate.alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_mentions_duplicate_of")
    store.close()
    con = sqlite3.connect(tmp_path / "old.db")
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE name LIKE '%mentions_fts%'")}
    con.close()
    assert names == set()
    store = Store.open(url, migrate_schema=False)
    assert not _uses_index(store, "Сбер")  # no index: the scan answers
    _store_old_schema(store, [("after", "сбер после отката")])
    assert _search(store, "Сбер") == [1, 2, 8]
    store.close()
