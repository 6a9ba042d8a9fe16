"""Acting on alerts from Telegram: the buttons under an alert (take it, mute 4 h) and the bot that reads them.

Telegram alerts carry inline buttons (:func:`alerts.senders.telegram_keyboard`) whose callback data is
``ack:<alert_id>`` or ``mute:<alert_id>:<hours>``. :class:`TelegramActions` reads the bot's updates with
``getUpdates`` long polling, the offset stored in ``bot_cursors`` so a restart reads on instead of
again, and for each press:

1. refuses it unless it comes from the destination's own chat and (``getChatMember``) from a member of it;
2. refuses it politely for an alert that does not exist or was never sent to that chat;
3. applies it to the alert and the rest of its group, as :func:`alerts.lifecycle.acknowledge` and
   :func:`alerts.lifecycle.mute` do, recording who did it in ``alert_actions`` in the same transaction
   (keyed by the press's id: a press read twice is applied once);
4. answers the press (``answerCallbackQuery``) and edits the message to show who took it and when.

A second press on an alert already taken answers who took it and changes nothing. The bot token stays in
the request URL, scrubbed from every error and log line. Usage::

    actions = TelegramActions(store, settings, client, senders, language="ru", timezone="Europe/Moscow")
    await actions.run_forever(stop_event)      # or: await actions.poll_once(now, timeout=0)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts.errors import DeliveryError, scrub
from alerts.grouping import AlertGroups, group_message
from alerts.render import Language
from alerts.senders import Sender, TelegramSender
from alerts.settings import AlertsSettings
from storage.schema import Alert, AlertAction, AlertDelivery, BotCursor
from storage.store import Store, now_utc

__all__ = ["Press", "TelegramActions", "parse_callback"]

log = logging.getLogger(__name__)

_MEMBER_STATES = frozenset({"creator", "administrator", "member"})
_MAX_MUTE_HOURS = 24 * 7

_WORDS: dict[Language, dict[str, str]] = {
    "ru": {
        "taken": "Готово: оповещение за вами.",
        "muted": "Без звука до {until}.",
        "already": "Уже взял(а) {actor}, {when}.",
        "already_muted": "Уже без звука до {until}.",
        "foreign_chat": "Эти кнопки работают только в чате, куда приходят оповещения.",
        "not_member": "Действовать могут только участники чата оповещений.",
        "unknown": "Такого оповещения здесь нет.",
        "bad": "Не понял кнопку.",
    },
    "en": {
        "taken": "Done: the alert is yours.",
        "muted": "Muted until {until}.",
        "already": "Already taken by {actor}, {when}.",
        "already_muted": "Already muted until {until}.",
        "foreign_chat": "These buttons only work in the chat that receives the alerts.",
        "not_member": "Only members of the alerts chat can act on them.",
        "unknown": "There is no such alert here.",
        "bad": "Unknown button.",
    },
}


@dataclass(frozen=True, slots=True)
class Press:
    """A parsed callback: ``action`` is ``ack`` or ``mute``; ``hours`` for a mute."""

    action: str
    alert_id: int
    hours: int = 0


def parse_callback(data: str) -> Press | None:
    """``ack:12`` / ``mute:12:4`` as a :class:`Press`; ``None`` for anything else (data is untrusted)."""
    parts = data.split(":")
    if len(parts) == 2 and parts[0] == "ack" and parts[1].isdigit():
        return Press("ack", int(parts[1]))
    if len(parts) == 3 and parts[0] == "mute" and parts[1].isdigit() and parts[2].isdigit():
        hours = int(parts[2])
        if 1 <= hours <= _MAX_MUTE_HOURS:
            return Press("mute", int(parts[1]), hours)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _actor(user: Mapping[str, Any]) -> str:
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    if user.get("username"):
        return f"@{user['username']}" if not name else f"{name} (@{user['username']})"
    return name or str(user.get("id") or "?")


class TelegramActions:
    """Reads the buttons pressed under alerts in every Telegram destination and applies them."""

    def __init__(
        self,
        store: Store,
        settings: AlertsSettings,
        client: httpx.AsyncClient,
        senders: Mapping[str, Sender],
        *,
        language: Language = "ru",
        timezone: str = "UTC",
        dashboard_url: str | None = None,
        check_membership: bool = True,
        poll_timeout: int = 25,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client
        self.language: Language = language
        self.timezone = timezone
        self.dashboard_url = dashboard_url
        self.check_membership = check_membership
        self.poll_timeout = poll_timeout
        self.clock = clock
        self.groups = AlertGroups(store, settings)
        seen: set[tuple[str, ...]] = set()
        self.bots: list[TelegramSender] = []
        for sender in senders.values():
            if isinstance(sender, TelegramSender) and sender.secrets not in seen:
                seen.add(sender.secrets)  # one poller per bot and chat
                self.bots.append(sender)
        self._secrets = tuple(s for b in self.bots for s in b.secrets)

    # -- the offset, stored ----------------------------------------------------------------------------

    def _take(self, name: str, now: datetime, lease: timedelta) -> int | None:
        """The stored offset, with this process holding the bot until ``now + lease``; ``None``: another
        process polls it (Telegram allows one ``getUpdates`` at a time)."""
        with self.store.engine.begin() as conn:
            ins: Any = (
                postgresql.insert(BotCursor)
                if conn.dialect.name == "postgresql"
                else sqlite.insert(BotCursor)
            )
            conn.execute(
                ins.values(name=name, offset=0, lease_until=None, updated_at=now).on_conflict_do_nothing(
                    index_elements=["name"]
                )
            )
            res = conn.execute(
                update(BotCursor)
                .where(
                    and_(
                        BotCursor.name == name,
                        or_(BotCursor.lease_until.is_(None), BotCursor.lease_until <= now),
                    )
                )
                .values(lease_until=now + lease)
            )
            if res.rowcount != 1:
                return None
            return int(conn.execute(select(BotCursor.offset).where(BotCursor.name == name)).scalar_one())

    def _store_offset(self, name: str, offset: int, now: datetime, release: bool) -> None:
        values: dict[str, Any] = {"offset": offset, "updated_at": now}
        if release:
            values["lease_until"] = None
        with self.store.engine.begin() as conn:
            conn.execute(update(BotCursor).where(BotCursor.name == name).values(**values))

    # -- polling ---------------------------------------------------------------------------------------

    async def poll_once(self, now: datetime | None = None, timeout: int = 0) -> int:
        """Read and apply the pending presses of every bot once; returns how many updates were read."""
        total = 0
        for bot in self.bots:
            total += await self._poll_bot(bot, now, timeout)
        return total

    async def _poll_bot(self, bot: TelegramSender, now: datetime | None, timeout: int) -> int:
        name = f"telegram:{bot.name}"
        start = now or self.clock()
        offset = await asyncio.to_thread(self._take, name, start, timedelta(seconds=timeout + 60))
        if offset is None:
            return 0
        read = 0
        try:
            payload = {"offset": offset, "timeout": timeout, "allowed_updates": ["callback_query"]}
            updates = await bot.call(self.client, "getUpdates", payload, timeout=timeout + 15)
            for upd in updates if isinstance(updates, list) else []:
                if not isinstance(upd, dict) or not isinstance(upd.get("update_id"), int):
                    continue
                try:
                    await self._handle(bot, upd, now or self.clock())
                except DeliveryError as exc:  # answering or editing failed: the press itself is applied
                    log.warning("telegram button press on %s: %s", bot.name, exc)
                read += 1
                offset = upd["update_id"] + 1
                await asyncio.to_thread(self._store_offset, name, offset, now or self.clock(), False)
        finally:
            await asyncio.to_thread(self._store_offset, name, offset, now or self.clock(), True)
        return read

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Poll until ``stop_event`` is set; errors are logged (scrubbed) and retried after a pause."""
        pause = 1.0
        while not stop_event.is_set():
            try:
                await self.poll_once(timeout=self.poll_timeout)
                pause = 1.0
            except Exception as exc:
                log.warning("telegram updates: %s", scrub(f"{type(exc).__name__}: {exc}", self._secrets))
                pause = min(60.0, pause * 2)
                try:
                    await asyncio.wait_for(stop_event.wait(), pause)
                except TimeoutError:
                    pass

    # -- one press -------------------------------------------------------------------------------------

    async def _answer(self, bot: TelegramSender, callback_id: str, text: str) -> None:
        await bot.call(self.client, "answerCallbackQuery", {"callback_query_id": callback_id, "text": text})

    async def _handle(self, bot: TelegramSender, upd: Mapping[str, Any], now: datetime) -> None:
        words = _WORDS[self.language]
        cq = upd.get("callback_query")
        if not isinstance(cq, dict) or not isinstance(cq.get("id"), str):
            return
        msg = _dict(cq.get("message"))
        chat = _dict(msg.get("chat"))
        user = _dict(cq.get("from"))
        if str(chat.get("id")) != str(bot.chat_id):
            await self._answer(bot, cq["id"], words["foreign_chat"])
            return
        if self.check_membership:
            member = await bot.call(
                self.client, "getChatMember", {"chat_id": bot.chat_id, "user_id": user.get("id")}
            )
            status = member.get("status") if isinstance(member, dict) else None
            if status not in _MEMBER_STATES and not (status == "restricted" and member.get("is_member")):
                await self._answer(bot, cq["id"], words["not_member"])
                return
        press = parse_callback(str(cq.get("data") or ""))
        if press is None:
            await self._answer(bot, cq["id"], words["bad"])
            return
        outcome, text = await asyncio.to_thread(
            self._apply, bot.name, press, cq["id"], _actor(user), user, now
        )
        if outcome == "refused":
            await self._answer(bot, cq["id"], text)
            return
        if outcome == "applied" and isinstance(msg.get("message_id"), int):
            message = await asyncio.to_thread(self._message, bot.name, press.alert_id, now)
            if message is not None:
                await bot.edit(self.client, message, str(msg["message_id"]))
        await self._answer(bot, cq["id"], text)

    def _when(self, at: datetime) -> str:
        return at.astimezone(ZoneInfo(self.timezone)).strftime("%H:%M")

    def _apply(
        self,
        destination: str,
        press: Press,
        callback_id: str,
        actor: str,
        user: Mapping[str, Any],
        now: datetime,
    ) -> tuple[str, str]:
        """Apply the press in one transaction: ``("applied" | "done" | "refused", the answer's words)``."""
        words = _WORDS[self.language]
        with self.store.engine.begin() as conn:
            if conn.execute(select(AlertAction.id).where(AlertAction.external_id == callback_id)).first():
                return "done", words["taken"] if press.action == "ack" else words["muted"].format(until="")
            sent_here = conn.execute(
                select(AlertDelivery.id)
                .where(
                    and_(
                        AlertDelivery.alert_id == press.alert_id,
                        AlertDelivery.destination == destination,
                        AlertDelivery.state == "sent",
                    )
                )
                .limit(1)
            ).first()
            if sent_here is None:
                return "refused", words["unknown"]
        members = self.groups.group_of(destination, press.alert_id)
        ids = [a.id for a in members]
        with self.store.engine.begin() as conn:
            if press.action == "ack":
                open_ids = [a.id for a in members if a.state == "open"]
                if not open_ids:
                    with Session(bind=conn) as session:
                        last = session.scalars(
                            select(AlertAction)
                            .where(and_(AlertAction.alert_id.in_(ids), AlertAction.action == "ack"))
                            .order_by(AlertAction.at.desc())
                            .limit(1)
                        ).first()
                        who, when = (last.actor, self._when(last.at)) if last else ("—", "")
                    return "done", words["already"].format(actor=who, when=when).replace(", .", ".")
                conn.execute(
                    update(Alert)
                    .where(and_(Alert.id.in_(open_ids), Alert.state == "open"))
                    .values(state="acknowledged", acknowledged_at=now)
                )
                targets, until = open_ids, None
                answer = words["taken"]
            else:
                until = now + timedelta(hours=press.hours)
                if all(a.muted_until is not None and a.muted_until >= until for a in members):
                    return "done", words["already_muted"].format(until=self._when(until))
                targets = ids
                conn.execute(update(Alert).where(Alert.id.in_(ids)).values(muted_until=until))
                conn.execute(
                    update(AlertDelivery)
                    .where(and_(AlertDelivery.alert_id.in_(ids), AlertDelivery.state == "pending"))
                    .values(state="suppressed", last_error="alert muted")
                )
                answer = words["muted"].format(until=self._when(until))
            conn.execute(
                insert(AlertAction),
                [
                    {
                        "alert_id": alert_id,
                        "action": press.action,
                        "actor": actor[:255],
                        "actor_id": str(user.get("id") or "")[:64] or None,
                        "source": f"telegram:{destination}"[:128],
                        "external_id": callback_id
                        if alert_id == press.alert_id
                        else f"{callback_id}:{alert_id}",
                        "at": now,
                        "until": until,
                    }
                    for alert_id in (targets if press.alert_id in targets else [press.alert_id, *targets])
                ],
            )
        return "applied", answer

    def _message(self, destination: str, alert_id: int, now: datetime) -> Any:
        """The alert's message as it reads now (its group, who took it), for the edit after a press."""
        members = self.groups.group_of(destination, alert_id)
        if not members:
            return None
        with Session(self.store.engine) as session:
            actions: Sequence[AlertAction] = list(
                session.scalars(
                    select(AlertAction)
                    .where(AlertAction.alert_id.in_([a.id for a in members]))
                    .order_by(AlertAction.id)
                )
            )
            session.expunge_all()
        return group_message(
            members,
            self.language,
            now=now,
            top_limit=self.settings.top_mentions,
            link=self.dashboard_url,
            actions=actions,
            tz=self.timezone,
        )
