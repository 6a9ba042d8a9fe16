"""The queue page through AppTest: the open cases, take one, answer it, it leaves the list; history kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from storage.cases import NewCase, case_events, get_case, open_cases
from storage.schema import MentionRow
from storage.store import Store
from tests.dashboard.fixtures import EVIL_TEXT, OWN

MakeApp = Callable[..., AppTest]


def open_evil_case(store: Store) -> int:
    """A case on the fixture's hostile mention (our brand, negative), due in an hour."""
    with store.engine.connect() as conn:
        mid, published = conn.execute(
            select(MentionRow.id, MentionRow.published_at).where(MentionRow.external_id == "evil")
        ).one()
    now = datetime.now(UTC)
    case = NewCase(mid, OWN, True, "vk", "negative", True, True, published, now + timedelta(hours=1))
    (cid,) = open_cases(store, [case], now)
    return cid


def test_take_a_case_answer_it_and_it_leaves_the_queue(make_app: MakeApp, db: tuple[str, Store]) -> None:
    _, store = db
    cid = open_evil_case(store)
    at = make_app().run()
    at.sidebar.radio(key="page").set_value("queue").run()
    assert not at.exception
    assert at.dataframe[0].value["id"].tolist() == [cid]
    assert any(EVIL_TEXT in t.value for t in at.text)  # the thread, as text
    assert at.warning[0].value.startswith("Введите своё имя")  # no actions without a name for the history
    at.text_input(key="queue_me").set_value("Анна").run()
    at.button(key=f"take_{cid}").click().run()
    assert get_case(store, cid).status == "in_progress"
    assert get_case(store, cid).assignee == "Анна"
    at.button(key=f"mark_answered_{cid}").click().run()
    assert not at.exception
    assert get_case(store, cid).status == "answered"
    assert [i.value for i in at.info][:1] == ["Открытых обращений нет"]
    assert [(e.actor, e.field, e.new) for e in case_events(store, cid)] == [
        ("system", "status", "new"),
        ("Анна", "assignee", "Анна"),
        ("Анна", "status", "in_progress"),
        ("Анна", "status", "answered"),
    ]
