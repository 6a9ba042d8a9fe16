"""Threads and case changes in storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.mention import Mention
from storage.cases import NewCase, case_events, change_case, get_case, open_cases
from storage.schema import MentionRow
from storage.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _m(ext: str, parent: str | None = None, source: str = "vk") -> Mention:
    return Mention(
        source=source,
        external_id=ext,
        channel="vk",
        text=f"text {ext}",
        published_at=T0,
        author_id="-1",
        parent_external_id=parent,
    )


def _parents(store: Store) -> dict[str, tuple[str | None, str | None]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(MentionRow.id, MentionRow.external_id, MentionRow.parent_id)).all()
        ext = {r.id: r.external_id for r in rows}
        authors = dict(conn.execute(select(MentionRow.external_id, MentionRow.author_id)).all())
    return {
        r.external_id: (ext.get(r.parent_id) if r.parent_id else None, authors[r.external_id]) for r in rows
    }


def test_threads_link_whichever_half_comes_first(store: Store) -> None:
    store.upsert_mentions([_m("1_1?reply=2", parent="1_1"), _m("1_1?reply=3", parent="1_1?reply=2")])
    assert _parents(store)["1_1?reply=3"] == ("1_1?reply=2", "-1")
    assert _parents(store)["1_1?reply=2"] == (None, "-1")  # the post is not stored yet
    store.upsert_mentions([_m("1_1"), _m("other", parent="1_1", source="reddit")])
    got = _parents(store)
    assert got["1_1?reply=2"] == ("1_1", "-1")
    assert got["1_1"] == (None, "-1")
    assert got["other"] == (None, "-1")  # a parent id means something within its own source only


def _case(store: Store) -> int:
    store.upsert_mentions([_m("1_1")])
    with store.engine.connect() as conn:
        mid = conn.execute(select(MentionRow.id)).scalar_one()
    new = NewCase(mid, "Поляр", True, "vk", "negative", False, True, T0, T0 + timedelta(hours=24))
    (cid,) = open_cases(store, [new], T0)
    assert open_cases(store, [new], T0) == []  # once per mention and brand
    return cid


def test_changes_are_history(store: Store) -> None:
    cid = _case(store)
    later = T0 + timedelta(minutes=5)
    changes = change_case(store, cid, "anna", later, status="in_progress", assignee="anna")
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("assignee", None, "anna"),
        ("status", "new", "in_progress"),
    ]
    assert change_case(store, cid, "anna", later, status="in_progress") == []
    change_case(store, cid, "boris", later, status="answered")
    case = get_case(store, cid)
    assert (case.status, case.assignee, case.answered_by) == ("answered", "anna", "boris")
    assert [(e.actor, e.field, e.new) for e in case_events(store, cid)] == [
        ("system", "status", "new"),
        ("anna", "assignee", "anna"),
        ("anna", "status", "in_progress"),
        ("boris", "status", "answered"),
    ]
    with pytest.raises(ValueError, match="status must be one of"):
        change_case(store, cid, "anna", later, status="done")
    with pytest.raises(KeyError):
        change_case(store, cid + 100, "anna", later, status="closed")


def test_two_people_changing_one_case_at_once_lose_nothing(store: Store) -> None:
    cid = _case(store)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def person(name: str, status: str) -> None:
        try:
            start.wait()
            for i in range(5):
                change_case(store, cid, name, T0 + timedelta(seconds=i), status=status, assignee=name)
                change_case(store, cid, name, T0 + timedelta(seconds=i), status="new")
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=person, args=("anna", "in_progress")),
        threading.Thread(target=person, args=("boris", "closed")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = case_events(store, cid)[1:]
    # Every change read what the one before it left: the history is one unbroken chain per field.
    for field in ("status", "assignee"):
        chain = [e for e in events if e.field == field]
        for before, after in itertools.pairwise(chain):
            assert after.old == before.new, (field, before, after)
    case = get_case(store, cid)
    last = {e.field: e for e in events}
    assert case.status == last["status"].new  # the last write is what the case shows
    assert case.assignee == last["assignee"].new
    assert case.version == 1 + 20  # twenty calls, each counted once whatever it changed
