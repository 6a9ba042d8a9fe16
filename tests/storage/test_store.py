"""The store on SQLite and PostgreSQL: idempotency, duplicates, cursors, tagging, health, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from core.mention import Mention
from storage.schema import EngagementSnapshot, MentionBrand, MentionRow
from storage.store import BrandLabel, Store, TaggedMention, cluster_query
from storage.textnorm import dedup_form, text_hash

T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def m(ext: str, text: str = "Сбер снова списал комиссию", source: str = "vk", **kw: object) -> Mention:
    return Mention(
        source=source,
        external_id=ext,
        channel=kw.pop("channel", "vk"),
        text=text,  # type: ignore[arg-type]
        published_at=kw.pop("published_at", T0),
        **kw,
    )  # type: ignore[arg-type]


def test_save_page_is_idempotent_by_source_and_id(store: Store) -> None:
    assert store.save_page("vk", "сбер", [m("1"), m("2", "другой текст")], "c1") == [1, 2]
    assert store.save_page("vk", "сбер", [m("1"), m("2", "другой текст")], "c1") == []
    # the same external id from another source is another mention
    assert len(store.save_page("tg", "сбер", [m("1", source="tg")], "x")) == 1
    assert store.counts()["mentions"] == 3


def test_cursor_is_committed_with_its_page(store: Store) -> None:
    assert store.get_cursor("vk", "сбер") is None
    store.save_page("vk", "сбер", [m("1")], "next-1")
    assert store.get_cursor("vk", "сбер") == "next-1"
    store.save_page("vk", "сбер", [], "next-2")
    assert store.get_cursor("vk", "сбер") == "next-2"
    assert store.get_cursor("vk", "другое") is None


def test_failed_page_stores_neither_mentions_nor_cursor(store: Store) -> None:
    bad = m("2")
    bad.published_at = datetime(2026, 11, 1, 9, 30)  # noqa: DTZ001 - naive: refused by the column type
    with pytest.raises(Exception, match="naive"):
        store.save_page("vk", "q", [m("1"), bad], "c9")
    assert store.counts()["mentions"] == 0
    assert store.get_cursor("vk", "q") is None


def test_near_identical_copies_are_grouped(store: Store) -> None:
    ids = store.save_page(
        "vk",
        None,
        [
            m("1", "Сбер снова списал комиссию! https://t.co/abc"),
            m("2", "RT @ivan: сбер СНОВА списал комиссию"),
            m("3", "Совсем другой текст"),
        ],
    )
    with store.engine.connect() as conn:
        dup = dict(conn.execute(select(MentionRow.id, MentionRow.duplicate_of)).all())
    assert dup == {ids[0]: None, ids[1]: ids[0], ids[2]: None}
    pending = {p.id: p.counted for p in store.untagged()}
    assert pending == {ids[0]: True, ids[1]: False, ids[2]: True}


def test_a_repost_cluster_sums_its_reach(store: Store) -> None:
    ids = store.save_page(
        "vk",
        None,
        [
            m("1", "Сбер снова списал комиссию!", author_reach=1000),
            m("2", "RT: сбер снова списал комиссию", author_reach=250),
            m("3", "сбер снова списал комиссию", author_reach=None),
            m("4", "Совсем другой текст", author_reach=7),
        ],
    )
    assert store.cluster_totals([ids[0], ids[3]]) == {ids[0]: (3, 1250), ids[3]: (1, 7)}


def test_normalisation() -> None:
    assert dedup_form("RT @a: Ёлка — ЗЕЛЁНАЯ!!! http://x.ru/1") == "елка зеленая"
    assert text_hash("Привет, мир") == text_hash("привет мир!!")
    assert text_hash("привет мир") != text_hash("привет миру")


def test_counters_refresh_and_snapshots(store: Store) -> None:
    store.save_page("vk", None, [m("1", likes=1, reposts=0)])
    store.save_page("vk", None, [m("1", likes=5, reposts=3)])
    store.save_page("vk", None, [m("1", likes=5, reposts=3)])  # unchanged: no new snapshot
    assert store.update_engagement("vk", "1", {"views": 1000, "reposts": 10}, T0 + timedelta(hours=1))
    assert not store.update_engagement("vk", "nope", {"views": 1})
    with store.engine.connect() as conn:
        row = conn.execute(select(MentionRow.likes, MentionRow.reposts, MentionRow.views)).one()
        snaps = (
            conn.execute(select(EngagementSnapshot.reposts).order_by(EngagementSnapshot.id)).scalars().all()
        )
    assert tuple(row) == (5, 10, 1000)
    assert snaps == [3, 10]


def test_tagging_round_trip_and_corrections(store: Store) -> None:
    ids = store.save_page("vk", None, [m("1", "Ушёл из Сбера в Тинькофф, доволен"), m("2", "погода")])
    pending = store.untagged()
    assert [p.id for p in pending] == ids
    store.save_tags(
        [
            TaggedMention(
                pending[0],
                [
                    BrandLabel("Сбербанк", "negative", 0.9, "default@1"),
                    BrandLabel("Тинькофф", "positive", 0.8, "default@1"),
                ],
            ),
            TaggedMention(pending[1], []),
        ]
    )
    assert store.untagged() == []
    store.save_tags([TaggedMention(pending[0], [BrandLabel("Сбербанк", "neutral", 0.5, "x")])])  # idempotent
    store.correct_label(ids[0], "Сбербанк", "neutral")
    with pytest.raises(KeyError):
        store.correct_label(ids[1], "Сбербанк", "neutral")
    with pytest.raises(ValueError):
        store.correct_label(ids[0], "Сбербанк", "angry")
    with store.engine.connect() as conn:
        links = conn.execute(
            select(
                MentionBrand.brand,
                MentionBrand.label,
                MentionBrand.corrected_label,
                MentionBrand.model_version,
            ).order_by(MentionBrand.brand)
        ).all()
    assert [tuple(r) for r in links] == [
        ("Сбербанк", "negative", "neutral", "default@1"),
        ("Тинькофф", "positive", None, "default@1"),
    ]
    assert store.corrections() == [("Ушёл из Сбера в Тинькофф, доволен", "neutral", "Сбербанк")]


def test_times_come_back_aware_utc(store: Store) -> None:
    msk = timezone(timedelta(hours=3))
    store.save_page("vk", None, [m("1", published_at=datetime(2026, 11, 1, 12, 30, tzinfo=msk))])
    (p,) = store.untagged()
    assert p.published_at == T0 and p.published_at.tzinfo is not None
    assert p.published_at.utcoffset() == timedelta(0)


def test_source_health(store: Store) -> None:
    store.record_failure("vk", "HTTP 500 from api.vk.com")
    store.record_failure("vk", "HTTP 502 from api.vk.com")
    store.record_success("rss", mentions=4)
    health = {h.source: h for h in store.source_health()}
    assert health["vk"].consecutive_failures == 2 and health["vk"].last_error == "HTTP 502 from api.vk.com"
    assert health["rss"].mentions_total == 4 and health["rss"].last_success_at is not None
    store.record_success("vk", mentions=1)
    assert {h.source: h for h in store.source_health()}["vk"].consecutive_failures == 0


def test_migrations_are_idempotent(store: Store) -> None:
    from storage import migrate

    migrate.upgrade(store.engine)
    migrate.upgrade(store.engine)
    assert store.counts()["mentions"] == 0


def test_the_bulk_insert_columns_are_the_schema_s_and_every_one_is_filled() -> None:
    """The insert column list is read from the table: a new column in the schema is either filled for a new
    row or named as set later, never silently left out of one of the two bulk paths."""
    from storage import store as store_module

    row = store_module._row(m("1", "текст"), T0)
    assert set(row) == set(store_module._COPY_COLUMNS)
    table = [c.name for c in MentionRow.__table__.columns]
    assert set(table) == set(store_module._COPY_COLUMNS) | store_module._SET_AFTER_INSERT
    assert list(store_module._COPY_COLUMNS) == [c for c in table if c in store_module._COPY_COLUMNS]


def test_sqlite_bulk_insert_stores_what_sqlalchemy_stores(sqlite_store: Store) -> None:
    """The driver-level insert must write the exact text SQLAlchemy would: queries compare these strings."""
    import sqlite3

    from sqlalchemy import insert

    from storage.store import _row

    moscow = timezone(timedelta(hours=3))
    at = datetime(2026, 11, 1, 12, 30, 15, 123, tzinfo=moscow)
    seen = datetime(2026, 11, 2, 8, 0, 0, 5, tzinfo=UTC)
    full = m("a", "Текст", published_at=at, collected_at=seen, raw={"ключ": "значение", "n": [1]}, likes=3)
    bare = m("b", "Текст 2", published_at=at.replace(microsecond=0), collected_at=seen)
    sqlite_store.upsert_mentions([full, bare])
    with sqlite_store.engine.begin() as conn:
        for copy in (full, bare):
            conn.execute(insert(MentionRow), _row(copy, seen) | {"external_id": copy.external_id + "-orm"})
    path = sqlite_store.engine.url.database
    assert path is not None
    con = sqlite3.connect(path)
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT external_id, text, text_hash, published_at, collected_at, likes, author_reach, raw"
            " FROM mentions"
        )
    }
    con.close()
    assert rows["a"] == rows["a-orm"]
    assert rows["b"] == rows["b-orm"]
    assert rows["a"][2:4] == ("2026-11-01 09:30:15.000123", "2026-11-02 08:00:00.000005")  # naive UTC
    assert rows["b"][6] == "null"  # no raw payload: JSON null, as SQLAlchemy writes it
    with sqlite_store.engine.connect() as conn:
        found = conn.execute(select(MentionRow.external_id).where(MentionRow.published_at == at)).scalars()
        assert sorted(found) == ["a", "a-orm"]


def test_sqlite_bulk_insert_splits_large_pages(sqlite_store: Store) -> None:
    """One statement takes at most SQLite's parameter limit: a large page goes in several."""
    page = [m(str(i), f"текст {i}") for i in range(2500)]
    assert sqlite_store.upsert_mentions(page) == list(range(1, 2501))
    assert sqlite_store.upsert_mentions(page) == []
    assert sqlite_store.counts()["mentions"] == 2500


def test_repost_cluster_lookup_stays_on_indexes_once_sqlite_has_statistics(tmp_path: Path) -> None:
    """Most mentions are originals. With a plain index over ``duplicate_of`` (all NULLs but a few), SQLite's
    planner, once ANALYZE had run, scanned the whole table for every batch of roots (40 s for a 30-day
    export of 1M mentions); the partial index over copies keeps it a look-up."""
    store = Store.open(f"sqlite:///{tmp_path / 'clusters.db'}")
    originals = [m(str(i), f"отзыв номер {i}: банк как банк") for i in range(400)]
    ids = store.save_page("vk", None, [*originals, m("copy", "Отзыв номер 7: банк как банк!!")])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        sql = str(cluster_query(ids[:3]).compile(conn.engine, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "SCAN" not in plan, plan
    assert store.cluster_totals([ids[7]]) == {ids[7]: (2, 0)}
    store.close()
