"""Grouping alerts into one message per brand and rule, against a fake Bot API on 127.0.0.1.

Each test drives the outbox on a virtual clock, minute by minute, on SQLite and (with
``LOYALTY_TEST_POSTGRES_URL``) on PostgreSQL: six escalating complaints within fifteen minutes, a seventh
more severe one, a restart in the middle, two dispatchers at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from alerts.lifecycle import Candidate, raise_alert
from alerts.outbox import OutboxDispatcher
from alerts.settings import AlertsSettings, DestinationSettings
from storage.schema import Alert, AlertDelivery, AlertGroup
from storage.store import Store
from tests.alerts.fake_bot import FakeBotAPI, running_bot
from tests.alerts.fakes import FakeMessenger

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
TOKEN = "424242:AAH-group-secret_token"
CHAT = "-100777"
ARRIVALS = (0, 3, 6, 9, 12, 15)


@pytest.fixture
def bot() -> Iterator[FakeBotAPI]:
    yield from running_bot(TOKEN)


def settings(url: str, kind: str = "telegram", **kw: object) -> AlertsSettings:
    dest = (
        DestinationSettings(type="telegram", token_env="TG", chat_id=CHAT, base_url=url)
        if kind == "telegram"
        else DestinationSettings(type="slack", url_env="SLACK")
    )
    return AlertsSettings(destinations=[dest], **kw)  # type: ignore[arg-type]


def complaint(i: int, severity: str = "warning", brand: str = "Альфа") -> Candidate:
    """One customer's escalating complaint (its own story: its own alert)."""
    return Candidate(
        rule="escalation_terms",
        brand=brand,
        channel="vk",
        key=f"root{i}",
        severity=severity,  # type: ignore[arg-type]
        numbers={"kinds": 3, "regulator_terms": "ЦБ, прокуратура", "author_reach": 0},
        facts={"kinds": ["regulator", "media", "demand"]},
        mention_ids=[i],
        top=[
            {
                "id": i,
                "text": f"Пишу в ЦБ и журналистам, верните деньги <b>{i}</b> & <script>",
                "url": f"https://vk.com/wall-1_{i}",
                "author": f"client{i}",
                "reach": 1000 * i,
                "channel": "vk",
            }
        ],
    )


def raise_(store: Store, s: AlertsSettings, c: Candidate, at: datetime) -> int:
    with store.engine.begin() as conn:
        change = raise_alert(conn, c, s, at)
    assert change is not None
    return change.alert_id


def reopen(store: Store) -> Store:
    return Store.open(store.engine.url.render_as_string(hide_password=False), migrate_schema=False)


async def drive(
    stores: Sequence[Store],
    s: AlertsSettings,
    env: dict[str, str],
    minutes: range,
    arrivals: dict[int, Candidate],
) -> None:
    """Open the alerts at their minute; every minute, every dispatcher (one per store) makes a pass."""
    async with httpx.AsyncClient(timeout=5) as client:
        dispatchers = [OutboxDispatcher(st, s, client, env=env) for st in stores]
        for m in minutes:
            now = T0 + timedelta(minutes=m)
            if m in arrivals:
                raise_(stores[0], s, arrivals[m], now)
            await asyncio.gather(*(d.run_once(now) for d in dispatchers))


def delivery_states(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(AlertDelivery.state).order_by(AlertDelivery.id)).scalars())


def alert_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Alert)).scalar_one())


async def test_six_escalating_complaints_make_one_message_and_one_edit(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    await drive(
        [store], s, {"TG": TOKEN}, range(0, 70), {m: complaint(i + 1) for i, m in enumerate(ARRIVALS)}
    )
    sends, edits = bot.of("sendMessage"), bot.of("editMessageText")
    assert len(sends) == 1 and len(edits) == 1
    assert alert_count(store) == 6
    assert delivery_states(store) == ["sent"] * 6
    text = bot.messages[1]
    assert "Альфа: 6 жалоб с эскалацией за 15 минут" in text
    assert "6 авторов в vk называют регулятор, СМИ и возврат денег" in text
    assert "kinds=" not in text and "escalation_terms" not in text and "regulator_terms" not in text
    assert "&lt;script&gt;" in text and "<script>" not in text
    # The first message went out after group_wait with the first complaint only; the edit came after
    # group_interval (30 min) and carries the five that joined meanwhile.
    assert "6 жалоб" not in sends[0]["text"] and "client1" in sends[0]["text"]
    keyboard = sends[0]["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0]["callback_data"].startswith("ack:")
    assert keyboard[0][1]["callback_data"].endswith(":4")


async def test_a_more_severe_seventh_pings_at_once(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    arrivals = {m: complaint(i + 1) for i, m in enumerate(ARRIVALS)}
    arrivals[20] = complaint(7, severity="critical")
    await drive([store], s, {"TG": TOKEN}, range(0, 70), arrivals)
    sends = bot.of("sendMessage")
    assert len(sends) == 2
    assert "CRITICAL" in sends[1]["text"] and "7 жалоб с эскалацией за 20 минут" in sends[1]["text"]
    assert bot.of("editMessageText") == []  # the ping carried the five waiting for the edit too
    assert alert_count(store) == 7
    assert delivery_states(store) == ["sent"] * 7


async def test_a_restart_in_the_middle_repeats_nothing(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    arrivals = {m: complaint(i + 1) for i, m in enumerate(ARRIVALS)}
    await drive([store], s, {"TG": TOKEN}, range(0, 10), arrivals)
    assert len(bot.of("sendMessage")) == 1
    again = reopen(store)  # a new process: nothing but the database carries over
    try:
        await drive([again], s, {"TG": TOKEN}, range(10, 70), arrivals)
    finally:
        again.close()
    assert len(bot.of("sendMessage")) == 1 and len(bot.of("editMessageText")) == 1
    assert delivery_states(store) == ["sent"] * 6


async def test_two_dispatchers_at_once_send_each_group_once(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    arrivals = {m: complaint(i + 1) for i, m in enumerate(ARRIVALS)}
    arrivals[0] = complaint(1)
    arrivals[1] = complaint(8, brand="Борей")  # another brand: its own group, its own message
    other = reopen(store)
    try:
        await drive([store, other], s, {"TG": TOKEN}, range(0, 70), arrivals)
    finally:
        other.close()
    sends = bot.of("sendMessage")
    assert len(sends) == 2 and len(bot.of("editMessageText")) == 1
    assert sorted("Борей" in m["text"] for m in sends) == [False, True]
    assert delivery_states(store) == ["sent"] * 7
    with store.engine.connect() as conn:
        groups = conn.execute(select(AlertGroup.group_key, AlertGroup.messages, AlertGroup.edits)).all()
    assert sorted(tuple(g) for g in groups) == [
        ("brand=Альфа|rule=escalation_terms", 1, 1),
        ("brand=Борей|rule=escalation_terms", 1, 0),
    ]


async def test_slack_gets_one_follow_up_instead_of_an_edit(store: Store, slack: FakeMessenger) -> None:
    s = settings(slack.url, kind="slack")
    arrivals = {m: complaint(i + 1) for i, m in enumerate(ARRIVALS)}
    await drive([store], s, {"SLACK": slack.url + "/hook"}, range(0, 70), arrivals)
    posts = slack.successes()
    assert len(posts) == 2
    follow_up = posts[1].json()
    assert "6 жалоб с эскалацией за 15 минут" in str(follow_up) and "обновление #1" in str(follow_up)
    assert delivery_states(store) == ["sent"] * 6


async def test_webhooks_still_get_every_alert_with_its_numbers(store: Store, slack: FakeMessenger) -> None:
    s = AlertsSettings(destinations=[DestinationSettings(type="webhook", url_env="HOOK")])
    await drive([store], s, {"HOOK": slack.url + "/hook"}, range(0, 20), {0: complaint(1), 3: complaint(2)})
    bodies = [r.json() for r in slack.successes()]
    assert len(bodies) == 2
    assert bodies[0]["alert"]["numbers"]["regulator_terms"] == "ЦБ, прокуратура"


async def test_grouping_off_sends_each_alert_at_once(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url, group_wait_s=0, group_interval_min=0)
    await drive([store], s, {"TG": TOKEN}, range(0, 5), {0: complaint(1), 1: complaint(2)})
    assert len(bot.of("sendMessage")) == 2 and bot.of("editMessageText") == []


async def test_a_retryable_failure_keeps_the_group_and_sends_it_later(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    bot.fail["sendMessage"] = 1
    await drive([store], s, {"TG": TOKEN}, range(0, 5), {0: complaint(1), 1: complaint(2)})
    ok = [c for c in bot.calls if c.method == "sendMessage"]
    assert len(ok) == 2 and len(bot.messages) == 1  # one 500, then the one message
    assert "2 жалобы с эскалацией за 1 минуту" in bot.messages[1]
    assert delivery_states(store) == ["sent", "sent"]
    assert TOKEN not in " ".join(str(e) for e in _errors(store))


def _errors(store: Store) -> list[str | None]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(AlertGroup.last_error)).scalars())


async def test_a_muted_member_is_left_out_and_its_row_suppressed(store: Store, bot: FakeBotAPI) -> None:
    from alerts.lifecycle import mute

    s = settings(bot.url)
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, s, client, env={"TG": TOKEN})
        first = raise_(store, s, complaint(1), T0)
        raise_(store, s, complaint(2), T0)
        await d.run_once(T0)
        mute(store, first, T0 + timedelta(hours=4), T0)  # muted while its row waits in the group
        await d.run_once(T0 + timedelta(minutes=1))
    (text,) = bot.messages.values()
    assert "client2" in text and "client1" not in text
    assert delivery_states(store) == ["suppressed", "sent"]
