"""Acting on alerts from Telegram's buttons, against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from alerts.outbox import OutboxDispatcher
from alerts.senders import build_senders
from alerts.settings import AlertsSettings
from alerts.telegram_bot import TelegramActions, parse_callback
from core.scrub import install_log_scrubbing
from storage.schema import Alert, AlertAction, BotCursor
from storage.store import Store
from tests.alerts.fake_bot import FakeBotAPI, running_bot
from tests.alerts.test_grouping import CHAT, T0, TOKEN, complaint, raise_, reopen, settings

MEMBER = 7
STRANGER = 99


@pytest.fixture
def bot() -> Iterator[FakeBotAPI]:
    yield from running_bot(TOKEN)


async def sent_alert(store: Store, s: AlertsSettings, bot: FakeBotAPI, n: int = 2) -> list[int]:
    """``n`` complaints grouped into one message (id 1), sent at T0 + 1 min."""
    ids = [raise_(store, s, complaint(i + 1), T0) for i in range(n)]
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, s, client, env={"TG": TOKEN}, dashboard_url="https://pr.example.com/lm")
        await d.run_once(T0)  # joins the group
        await d.run_once(T0 + timedelta(minutes=1))  # group_wait is over: the one message
    assert list(bot.messages) == [1]
    bot.members[MEMBER] = "member"
    return ids


async def poll(store: Store, s: AlertsSettings, at: datetime, **kw: object) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        actions = TelegramActions(
            store, s, client, build_senders(s, {"TG": TOKEN}), language="ru", timezone="Europe/Moscow", **kw
        )  # type: ignore[arg-type]
        return await actions.poll_once(at)


def states(store: Store) -> list[tuple[str, datetime | None]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Alert.state, Alert.muted_until).order_by(Alert.id))]  # type: ignore[misc]


def answers(bot: FakeBotAPI) -> list[str]:
    return [a["text"] for a in bot.of("answerCallbackQuery")]


def test_callback_data_is_parsed_strictly() -> None:
    assert parse_callback("ack:12") is not None and parse_callback("mute:12:4") is not None
    for bad in ("ack:", "ack:x", "ack:1:2", "mute:1", "mute:1:0", "mute:1:9999", "drop:1", "ack:-1"):
        assert parse_callback(bad) is None


async def test_the_message_carries_take_mute_and_open_buttons(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    ids = await sent_alert(store, s, bot)
    rows = bot.markups[1]["inline_keyboard"]
    head = max(ids)
    assert rows[0] == [
        {"text": "✋ Беру", "callback_data": f"ack:{head}"},
        {"text": "🔕 4 ч", "callback_data": f"mute:{head}:4"},
    ]
    assert rows[1] == [{"text": "Открыть в дашборде", "url": "https://pr.example.com/lm"}]


async def test_ack_takes_the_group_edits_the_message_and_a_second_press_does_nothing(
    store: Store, bot: FakeBotAPI
) -> None:
    s = settings(bot.url)
    ids = await sent_alert(store, s, bot)
    at = T0 + timedelta(minutes=5)
    bot.press(f"ack:{max(ids)}", CHAT, 1, MEMBER, "Ира")
    assert await poll(store, s, at) == 1
    assert [st for st, _ in states(store)] == ["acknowledged", "acknowledged"]
    edits = bot.of("editMessageText")
    assert len(edits) == 1 and edits[0]["message_id"] == 1
    assert "✅ Взял(а) Ира (@user7), 15:05" in bot.messages[1]  # Moscow time
    assert all(
        b.get("callback_data", "").startswith("mute") or "url" in b
        for r in bot.markups[1]["inline_keyboard"]
        for b in r
    )
    assert answers(bot) == ["Готово: оповещение за вами."]

    bot.press(f"ack:{max(ids)}", CHAT, 1, MEMBER, "Ира")
    assert await poll(store, s, at + timedelta(minutes=1)) == 1
    assert len(bot.of("editMessageText")) == 1
    assert answers(bot)[-1] == "Уже взял(а) Ира (@user7), 15:05."
    with store.engine.connect() as conn:
        assert conn.execute(
            select(AlertAction.action, AlertAction.alert_id).order_by(AlertAction.alert_id)
        ).all() == [
            ("ack", ids[0]),
            ("ack", ids[1]),
        ]


async def test_mute_for_four_hours(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    ids = await sent_alert(store, s, bot)
    at = T0 + timedelta(minutes=5)
    bot.press(f"mute:{ids[0]}:4", CHAT, 1)
    await poll(store, s, at)
    assert states(store) == [("open", at + timedelta(hours=4))] * 2
    assert "🔕 Без звука до 19:05" in bot.messages[1]
    assert answers(bot) == ["Без звука до 19:05."]


async def test_strangers_foreign_chats_and_unknown_alerts_are_refused(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    ids = await sent_alert(store, s, bot)
    bot.press(f"ack:{ids[0]}", CHAT, 1, STRANGER)
    bot.press(f"ack:{ids[0]}", "-100999", 1, MEMBER)
    bot.press("ack:424242", CHAT, 1, MEMBER)
    bot.press("rm -rf:1", CHAT, 1, MEMBER)
    assert await poll(store, s, T0 + timedelta(minutes=5)) == 4
    assert answers(bot) == [
        "Действовать могут только участники чата оповещений.",
        "Эти кнопки работают только в чате, куда приходят оповещения.",
        "Такого оповещения здесь нет.",
        "Не понял кнопку.",
    ]
    assert [st for st, _ in states(store)] == ["open", "open"]
    assert bot.of("editMessageText") == []


async def test_offset_is_stored_so_a_restart_reads_on(store: Store, bot: FakeBotAPI) -> None:
    s = settings(bot.url)
    ids = await sent_alert(store, s, bot)
    cb = bot.press(f"ack:{ids[0]}", CHAT, 1, MEMBER)
    await poll(store, s, T0 + timedelta(minutes=5))
    again = reopen(store)
    try:
        assert await poll(again, s, T0 + timedelta(minutes=6)) == 0
        offsets = [c["offset"] for c in bot.of("getUpdates")]
        assert offsets == [0, 102]
        # A crash after applying a press but before storing the offset: the press is read again, applied once.
        with again.engine.begin() as conn:
            conn.execute(update(BotCursor).values(offset=0))
        bot.updates.insert(0, {"update_id": 101, "callback_query": _same(cb, ids[0])})
        assert await poll(again, s, T0 + timedelta(minutes=7)) == 1
    finally:
        again.close()
    assert len(bot.of("editMessageText")) == 1


def _same(cb: str, alert_id: int) -> dict[str, object]:
    return {
        "id": cb,
        "from": {"id": MEMBER, "first_name": "Ира"},
        "message": {"message_id": 1, "chat": {"id": int(CHAT)}},
        "data": f"ack:{alert_id}",
    }


async def test_the_token_never_reaches_logs_or_errors(
    store: Store, bot: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings(bot.url)
    ids = await sent_alert(store, s, bot)
    bot.press(f"ack:{ids[0]}", CHAT, 1, MEMBER)
    bot.fail["answerCallbackQuery"] = 1
    install_log_scrubbing()  # as `run` does: httpx itself logs request URLs, where the token is
    caplog.set_level(logging.DEBUG)
    await poll(store, s, T0 + timedelta(minutes=5))
    assert [st for st, _ in states(store)] == [
        "acknowledged",
        "acknowledged",
    ]  # applied though the answer failed
    assert "answerCallbackQuery" in caplog.text or "500" in caplog.text  # the failure was logged...
    assert TOKEN not in caplog.text  # ...without the token
    bot.fail["getUpdates"] = 1
    with pytest.raises(Exception) as err:
        await poll(store, s, T0 + timedelta(minutes=6))
    assert TOKEN not in str(err.value)
