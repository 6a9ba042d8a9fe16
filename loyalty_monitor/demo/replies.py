"""The demo brands answer: replies from their own accounts under part of the complaints and questions.

Applied to whatever stream the demo generates (a list of events), so it does not depend on how the stream
is made: each mention that is negative toward a brand, or asks it something, gets that brand's reply with
the brand's probability, after a delay drawn from the brand's profile (minutes, hours, or more than a day),
unless the reply would come after the stream ends or on a channel where the brand has no account (news,
Dzen, review sites): those stay unanswered, as some always do. Replies are mentions like any other,
written by the brand's account (``author_id``) under the mention (``parent_external_id``), so the monitor
finds them exactly as it finds real ones.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.mention import Mention
from core.synthetic import StreamEvent as DemoEvent

__all__ = ["ACCOUNTS", "REPLY_PROFILES", "ReplyProfile", "account_specs", "brand_replies"]

ACCOUNTS: dict[str, dict[str, str]] = {
    "Полярбанк": {"vk": "-700001", "telegram": "polyarbank", "youtube": "UCpolyarbank000000000001"},
    "Борей Банк": {"vk": "-700002", "telegram": "boreybank", "vcru": "700002"},
    "Кварц Банк": {"vk": "-700003", "telegram": "kvarcbank"},
    "Кедр Банк": {"vk": "-700004"},
}
"""Per demo brand: its account on each channel, as the source reports authors (``[[brands]] accounts``)."""


@dataclass(frozen=True, slots=True)
class ReplyProfile:
    """How a brand answers: the share it answers, and the weights of answering within an hour, within
    the day, and after more than a day."""

    rate: float
    fast: float
    same_day: float
    late: float


REPLY_PROFILES: dict[str, ReplyProfile] = {
    "Полярбанк": ReplyProfile(rate=0.75, fast=0.55, same_day=0.35, late=0.10),
    "Борей Банк": ReplyProfile(rate=0.65, fast=0.35, same_day=0.45, late=0.20),
    "Кварц Банк": ReplyProfile(rate=0.45, fast=0.15, same_day=0.45, late=0.40),
    "Кедр Банк": ReplyProfile(rate=0.25, fast=0.05, same_day=0.35, late=0.60),
}

_REPLIES = (
    "Здравствуйте! Нам очень жаль. Напишите, пожалуйста, в личные сообщения номер договора — разберёмся.",
    "Добрый день! Передали вопрос специалистам, ответим в личных сообщениях в течение дня.",
    "Здравствуйте! Проверили: всё исправлено. Если вопрос остался — напишите нам в личку.",
    "Спасибо, что написали. Уточните, пожалуйста, в личных сообщениях телефон, который привязан к карте.",
)


def account_specs(brand: str) -> list[str]:
    """``source:id`` specs of a demo brand's accounts, as the demo config lists them."""
    return [f"{channel}:{account}" for channel, account in ACCOUNTS.get(brand, {}).items()]


def _asks(text: str) -> bool:
    return "?" in text


def _delay(rng: random.Random, profile: ReplyProfile) -> timedelta:
    kind = rng.choices(("fast", "same_day", "late"), (profile.fast, profile.same_day, profile.late))[0]
    if kind == "fast":
        return timedelta(minutes=rng.uniform(3, 55))
    if kind == "same_day":
        return timedelta(hours=rng.uniform(1, 20))
    return timedelta(hours=rng.uniform(25, 60))


def brand_replies(
    events: Sequence[DemoEvent], *, seed: int = 7, end: datetime | None = None
) -> list[Mention]:
    """The brands' replies to ``events``' mentions, published no later than ``end`` (the stream's end)."""
    rng = random.Random(seed * 7919 + 17)
    out: list[Mention] = []
    for event in events:
        if not isinstance(event, Mention) or event.parent_external_id is not None:
            continue
        labels = event.raw.get("demo_labels") or {}
        for brand, label in labels.items():
            profile = REPLY_PROFILES.get(brand)
            account = ACCOUNTS.get(brand, {}).get(event.channel)
            if profile is None or account is None or not (label == "negative" or _asks(event.text)):
                continue
            if rng.random() >= profile.rate:
                continue
            at = event.published_at + _delay(rng, profile)
            if end is not None and at > end:
                continue
            out.append(
                Mention(
                    source=event.source,
                    external_id=f"{event.external_id}/reply/{account}",
                    channel=event.channel,
                    text=rng.choice(_REPLIES),
                    published_at=at,
                    url=event.url,
                    author=f"{brand} (официальный аккаунт)",
                    author_id=account,
                    place=event.place,
                    parent_external_id=event.external_id,
                    raw={"demo_kind": "brand_reply", "demo_brand": brand},
                )
            )
    return out
