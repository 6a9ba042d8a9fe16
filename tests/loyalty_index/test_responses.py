"""Cases from mentions to answers: the brand's own replies close them, nobody else's do (SQLite and PG)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from core.mention import Mention
from loyalty_index.response_settings import ResponsesSettings
from loyalty_index.responses import ResponseTracker, is_question, response_metrics
from loyalty_monitor.config import BrandSettings
from loyalty_monitor.tagging import Tagger
from storage.cases import case_events, find_cases, get_case, thread
from storage.schema import CaseRow, MentionBrand, MentionRow
from storage.store import Store
from tests.fakes import FakeSentimentModel

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BRANDS = [
    BrandSettings(name="Поляр Банк", aliases=["Поляр"], own=True, accounts=["vk:-100", "telegram:polarbank"]),
    BrandSettings(name="Север Банк", aliases=["Север"], accounts=["vk:-200"]),
]


class Flow:
    """Store, tag and track mentions the way the pipeline does, on the test's clock."""

    def __init__(self, store: Store, settings: ResponsesSettings | None = None) -> None:
        self.store = store
        self.tagger = Tagger(BRANDS, FakeSentimentModel())
        self.tracker = ResponseTracker(
            store, settings or ResponsesSettings(), [(b.name, b.own) for b in BRANDS], ["прокуратура"]
        )

    def add(self, *mentions: Mention, now: datetime) -> list[int]:
        self.store.upsert_mentions(list(mentions))
        pending = self.store.untagged()
        tagged = self.tagger.tag(pending)
        self.store.save_tags(tagged)
        self.tracker.after_tag([t.mention.id for t in tagged if t.links], now)
        return [p.id for p in pending]


def post(
    ext: str,
    text: str,
    at: datetime,
    *,
    author_id: str = "1",
    parent: str | None = None,
    source: str = "vk",
    reach: int | None = None,
) -> Mention:
    return Mention(
        source=source,
        external_id=ext,
        channel=source,
        text=text,
        published_at=at,
        author=f"user {author_id}",
        author_id=author_id,
        author_reach=reach,
        parent_external_id=parent,
    )


def mention_id(store: Store, ext: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(MentionRow.id).where(MentionRow.external_id == ext)).scalar_one())


def case_of(store: Store, ext: str, brand: str = "Поляр Банк") -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(CaseRow.id).where(CaseRow.mention_id == mention_id(store, ext), CaseRow.brand == brand)
            ).scalar_one()
        )


def test_questions_are_recognised() -> None:
    assert is_question("Поляр Банк, когда вернёте деньги")
    assert is_question("Подскажите, Поляр работает в выходные")
    assert is_question("Перевёл вчера. Почему до сих пор нет денег")
    assert is_question("Работает ли Поляр в субботу")
    assert is_question("это нормально?")
    assert not is_question("Поляр Банк как всегда на высоте")
    assert not is_question("Что-то Поляр сегодня медленный")
    assert not is_question("Открыл вклад в Поляр Банке")


def test_a_brand_reply_answers_its_case(store: Store) -> None:
    flow = Flow(store)
    flow.add(post("-1_1", "Поляр Банк, верните деньги, это обман", T0), now=T0)
    case = get_case(store, case_of(store, "-1_1"))
    assert (case.status, case.reason, case.important) == ("new", "negative", True)
    assert case.due_at == T0 + timedelta(hours=24)

    reply_at = T0 + timedelta(minutes=42)
    flow.add(
        post(
            "-1_1?reply=7",
            "Здравствуйте! Напишите нам в личные сообщения",
            reply_at,
            author_id="-100",
            parent="-1_1",
        ),
        now=reply_at,
    )
    case = get_case(store, case.id)
    assert case.status == "answered"
    assert case.first_reply_at == reply_at
    assert case.answered_by == "reply"
    # The reply is the brand's words: stored, in the thread, and counted nowhere.
    rid = mention_id(store, "-1_1?reply=7")
    with store.engine.connect() as conn:
        assert conn.execute(select(MentionBrand).where(MentionBrand.mention_id == rid)).first() is None
        assert (
            conn.execute(select(MentionRow.reply_brand).where(MentionRow.id == rid)).scalar() == "Поляр Банк"
        )
    assert [(i.depth, i.reply_brand) for i in thread(store, case.mention_id)] == [
        (0, None),
        (1, "Поляр Банк"),
    ]
    assert [e.field for e in case_events(store, case.id)] == ["status", "first_reply_at", "status"]
    assert find_cases(store, now=reply_at) == []


def test_a_reply_by_somebody_else_or_by_a_competitor_does_not(store: Store) -> None:
    flow = Flow(store)
    flow.add(post("-1_1", "Поляр Банк, почему не работает приложение", T0), now=T0)
    later = T0 + timedelta(hours=1)
    flow.add(
        post("-1_1?reply=2", "У меня тоже не работает", later, author_id="555", parent="-1_1"),
        post("-1_1?reply=3", "Переходите к нам, у нас работает", later, author_id="-200", parent="-1_1"),
        now=later,
    )
    case = get_case(store, case_of(store, "-1_1"))
    assert (case.status, case.reason, case.first_reply_at) == ("new", "question", None)
    assert [c.id for c in find_cases(store, now=later)] == [case.id]


def test_a_reply_stored_before_the_complaint_still_answers_it(store: Store) -> None:
    flow = Flow(store)
    reply_at = T0 + timedelta(hours=3)
    flow.add(
        post("-1_1?reply=9", "Разобрались, деньги вернули", reply_at, author_id="-100", parent="-1_1"),
        now=reply_at,
    )
    flow.add(post("-1_1", "Поляр Банк списал деньги, верните", T0), now=reply_at)
    case = get_case(store, case_of(store, "-1_1"))
    assert case.status == "answered"
    assert case.first_reply_at == reply_at


def test_a_deleted_reply_reopens_and_an_edited_one_changes_nothing(store: Store) -> None:
    flow = Flow(store)
    flow.add(post("-1_1", "Поляр Банк, верните деньги", T0), now=T0)
    first = T0 + timedelta(minutes=10)
    flow.add(post("-1_1?reply=7", "Ответили в личке", first, author_id="-100", parent="-1_1"), now=first)
    cid = case_of(store, "-1_1")
    events = len(case_events(store, cid))

    # Edited: collected again with new text (and the same id) -> the first reply stays as it was.
    edited = post("-1_1?reply=7", "Ответили в личке (исправлено)", first, author_id="-100", parent="-1_1")
    flow.add(edited, now=first + timedelta(hours=1))
    assert get_case(store, cid).first_reply_at == first
    assert len(case_events(store, cid)) == events

    # Deleted: the reply's row is gone -> owed an answer again, on the original clock.
    with store.engine.begin() as conn:
        conn.execute(delete(MentionRow).where(MentionRow.external_id == "-1_1?reply=7"))
    flow.tracker.sync(first + timedelta(hours=2))
    case = get_case(store, cid)
    assert (case.status, case.first_reply_at, case.due_at) == ("new", None, T0 + timedelta(hours=24))
    flow.tracker.sync(first + timedelta(hours=3))  # nothing more to do
    assert len(case_events(store, cid)) == events + 2

    # A second reply answers it again.
    second = T0 + timedelta(hours=5)
    flow.add(post("-1_1?reply=8", "Ещё раз: ответили", second, author_id="-100", parent="-1_1"), now=second)
    assert get_case(store, cid).first_reply_at == second


def test_priority_follows_urgency_and_importance(store: Store) -> None:
    flow = Flow(store, ResponsesSettings(influential_reach=1000, urgent_reach=100_000))
    flow.add(
        post("1", "Поляр Банк, верните деньги, пишу в прокуратуру", T0),  # urgent + important
        post("2", "Поляр Банк, верните деньги", T0, author_id="2"),  # important
        post("3", "Подскажите, Поляр работает в субботу", T0, author_id="3"),  # neither
        post("4", "Подскажите, Поляр работает в воскресенье", T0, author_id="4", reach=5000),  # influential
        post("5", "Открыл вклад в Поляр Банке, отлично", T0, author_id="5"),  # no case
        now=T0,
    )
    got = {c.mention_id: c.priority for c in find_cases(store, now=T0)}
    assert got == {
        mention_id(store, "1"): 1,
        mention_id(store, "2"): 2,
        mention_id(store, "3"): 4,
        mention_id(store, "4"): 2,
    }
    # The queue comes by priority.
    assert [c.priority for c in find_cases(store, now=T0)] == [1, 2, 2, 4]


def test_a_repeat_complainer_is_important(store: Store) -> None:
    flow = Flow(store)
    flow.add(post("1", "Подскажите, Поляр работает в субботу", T0, author_id="9"), now=T0)
    flow.add(
        post("2", "Подскажите, когда Поляр откроет отделение", T0 + timedelta(hours=1), author_id="9"),
        now=T0 + timedelta(hours=1),
    )
    assert get_case(store, case_of(store, "1")).important is False
    assert get_case(store, case_of(store, "2")).important is True


def test_sla_per_channel_and_metrics(store: Store) -> None:
    flow = Flow(store, ResponsesSettings(sla_hours=24, sla_hours_by_channel={"telegram": 2}))
    flow.add(
        post("1", "Поляр Банк, верните деньги", T0),
        post("2", "Поляр Банк, верните деньги за страховку", T0, author_id="2"),
        post("c/1", "Поляр, почему не работает", T0, source="telegram", author_id="x"),
        post("3", "Север Банк, верните деньги", T0, author_id="3"),
        now=T0,
    )
    assert get_case(store, case_of(store, "c/1")).due_at == T0 + timedelta(hours=2)
    flow.add(
        post("1?r", "Ответили", T0 + timedelta(minutes=30), author_id="-100", parent="1"),
        post(
            "c/1?r",
            "Ответили",
            T0 + timedelta(hours=3),
            source="telegram",
            author_id="polarbank",
            parent="c/1",
        ),
        post("3?r", "Ответили", T0 + timedelta(minutes=10), author_id="-200", parent="3"),
        now=T0 + timedelta(hours=3),
    )
    rows = {(r["brand"], r["channel"]): r for r in response_metrics(store, tz="UTC")}
    assert rows[("Поляр Банк", "vk")] == {
        "day": "2026-03-02",
        "brand": "Поляр Банк",
        "own": True,
        "channel": "vk",
        "needs_answer": 2,
        "answered": 1,
        "answered_in_sla": 1,
        "median_first_response_min": 30.0,
    }
    assert rows[("Поляр Банк", "telegram")]["answered_in_sla"] == 0  # 3 h against a 2 h promise
    assert rows[("Север Банк", "vk")]["median_first_response_min"] == 10.0
    # Competitors' cases are measured, never queued.
    assert {c.brand for c in find_cases(store, now=T0)} == {"Поляр Банк"}


def test_an_open_alert_makes_an_open_case_urgent(store: Store) -> None:
    from storage.schema import Alert

    flow = Flow(store)
    flow.add(post("2", "Поляр Банк, верните деньги", T0, author_id="2"), now=T0)
    cid = case_of(store, "2")
    assert get_case(store, cid).priority == 2
    with store.engine.begin() as conn:
        conn.execute(
            Alert.__table__.insert(),
            {
                "dedup_key": "k",
                "rule": "r",
                "brand": "Поляр Банк",
                "channel": None,
                "severity": "warning",
                "state": "open",
                "title": "t",
                "details": {},
                "mention_ids": {"ids": [mention_id(store, "2")]},
                "version": 1,
                "opened_at": T0,
                "updated_at": T0,
                "triggered_at": T0,
            },
        )
    flow.tracker.sync(T0 + timedelta(minutes=1))
    assert get_case(store, cid).priority == 1
    assert case_events(store, cid)[-1].field == "urgent"


@pytest.mark.parametrize("channel", ["news"])
def test_no_case_where_nobody_can_answer(store: Store, channel: str) -> None:
    flow = Flow(store)
    m = post("n1", "Поляр Банк, верните деньги", T0)
    m.channel = channel
    flow.add(m, now=T0)
    assert find_cases(store, now=T0) == []
