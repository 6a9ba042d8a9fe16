"""The background stream: thirty days of ordinary mentions, and more of the same on the live clock.

Volume follows local hours and weekdays per channel; each mention picks a brand by share, a sentiment from
that brand's mix in that channel, an author from a pool where a few people post a lot, and a template in the
channel's voice. Some posts are copied (reposts, forwards, "вот что пишут"), some texts name two brands, a
few only look like they name one (exclusions). One ``random.Random`` per call, seeded from a string, makes
the stream the same on every machine and Python run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from loyalty_monitor.demo import phrases
from loyalty_monitor.demo.events import DEMO_SOURCE, DemoEvent, EngagementUpdate
from loyalty_monitor.demo.settings import (
    BRANDS,
    CHANNELS,
    MSK_OFFSET_HOURS,
    DemoBrand,
    DemoChannel,
    Forms,
)
from loyalty_monitor.mention import Mention

__all__ = ["DAILY_VOLUME", "INCIDENT_DAYS", "Authors", "background"]

DAILY_VOLUME = 330.0
"""Mean original mentions a day over all channels on a weekday (copies come on top)."""

INCIDENT_DAYS = (10, 7)
"""Our brand's app release goes wrong from 10 to 7 days before the end of history: complaints triple."""

_COPY_SHARE = 0.045
_MULTI_SHARE = 0.08
_FALSE_FRIEND_SHARE = 0.01
_TYPO_SHARE = 0.07
_UPDATED_SHARE = 0.03
_INFORMAL = frozenset({"vk", "telegram", "youtube"})
_SOCIAL = ("vk", "telegram", "dzen", "vcru")

_FIRST_M = (
    "Алексей",
    "Дмитрий",
    "Сергей",
    "Андрей",
    "Максим",
    "Иван",
    "Артём",
    "Никита",
    "Павел",
    "Олег",
    "Роман",
    "Евгений",
    "Кирилл",
    "Владимир",
    "Михаил",
    "Георгий",
    "Тимур",
    "Ильдар",
    "Денис",
    "Антон",
)
_FIRST_F = (
    "Анна",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Екатерина",
    "Юлия",
    "Светлана",
    "Дарья",
    "Ксения",
    "Алина",
    "Виктория",
    "Полина",
    "Людмила",
    "Айгуль",
    "Вера",
    "Софья",
    "Надежда",
    "Оксана",
)
_SURNAMES = (
    ("Иванов", "Иванова"),
    ("Смирнов", "Смирнова"),
    ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"),
    ("Соколов", "Соколова"),
    ("Морозов", "Морозова"),
    ("Волков", "Волкова"),
    ("Новиков", "Новикова"),
    ("Фёдоров", "Фёдорова"),
    ("Егоров", "Егорова"),
    ("Павлов", "Павлова"),
    ("Козлов", "Козлова"),
    ("Степанов", "Степанова"),
    ("Николаев", "Николаева"),
    ("Орлов", "Орлова"),
    ("Зайцев", "Зайцева"),
    ("Белов", "Белова"),
    ("Гусев", "Гусева"),
    ("Титов", "Титова"),
    ("Комаров", "Комарова"),
    ("Сафин", "Сафина"),
    ("Ким", "Ким"),
    ("Шевченко", "Шевченко"),
    ("Григорьев", "Григорьева"),
)
_NICKS = (
    "finfox",
    "kotik_s_kartoy",
    "dengi_lyubyat_schet",
    "investor_na_divane",
    "mama_treh",
    "pro_cashback",
    "severyanin",
    "ural_dmitry",
    "zloy_zaemshik",
    "tihaya_gavan",
    "bankoved",
    "lenka_spb",
)


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    female: bool
    reach: int


class Authors:
    """Per-channel author pools; activity is Zipf-like, so a few people write much of a channel."""

    def __init__(self, rng: random.Random) -> None:
        self._pools: dict[str, tuple[list[Author], list[float]]] = {}
        for channel in CHANNELS:
            pool = [self._author(rng, channel, i) for i in range(channel.authors)]
            weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(pool))]
            cum: list[float] = []
            total = 0.0
            for w in weights:
                total += w
                cum.append(total)
            self._pools[channel.name] = (pool, cum)

    @staticmethod
    def _author(rng: random.Random, channel: DemoChannel, i: int) -> Author:
        reach = max(10, int(math.exp(rng.gauss(channel.reach_mu, channel.reach_sigma))))
        if channel.name == "news":
            return Author(channel.places[i % len(channel.places)], False, reach)
        female = rng.random() < 0.55
        first = rng.choice(_FIRST_F if female else _FIRST_M)
        surname = rng.choice(_SURNAMES)[1 if female else 0]
        if channel.name in ("youtube", "telegram") and rng.random() < 0.35:
            return Author(f"{rng.choice(_NICKS)}{rng.randrange(10, 999)}", female, reach)
        if channel.name == "reviews":
            return Author(f"{first} {surname[0]}.", female, reach)
        return Author(f"{first} {surname}", female, reach)

    def pick(self, rng: random.Random, channel: str) -> Author:
        pool, cum = self._pools[channel]
        return rng.choices(pool, cum_weights=cum)[0]


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: fine for the small per-hour rates used here."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _weighted(rng: random.Random, items: list[tuple[str, float]]) -> str:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def _spelling(rng: random.Random, brand: DemoBrand) -> Forms:
    forms = [f for f, _ in brand.spellings]
    return rng.choices(forms, weights=[w for _, w in brand.spellings])[0]


_LABELS = ("positive", "neutral", "negative")
_ENDS = ("!", "?", ".")


class _Writer:
    """Writes one mention's text and labels for a channel, brand(s) and sentiment."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def text(
        self, channel: str, template: str, sentiment: str, forms: dict[str, Forms], female: bool, tag: str
    ) -> str:
        rng = self.rng
        if channel in _INFORMAL and rng.random() < _TYPO_SHARE:
            template = phrases.add_typo(template, rng, ("{",))
        body = phrases.render(template, rng, forms, female)
        if channel == "news":
            return body
        if channel == "reviews":
            title = rng.choice(phrases.REVIEW_TITLES[sentiment])
            if sentiment != "neutral" and rng.random() < 0.6:
                more = phrases.render(rng.choice(phrases.PERSONAL[sentiment]), rng, forms, female)
                body = f"{body}{'' if body.endswith(_ENDS) else '.'} {more}"
            stop = "" if body.endswith(_ENDS) else "."
            return f"{title}\n{body}{stop}{rng.choice(phrases.CLOSERS[sentiment])}"
        opener = rng.choice(phrases.OPENERS[sentiment])
        if channel == "youtube":
            opener = rng.choice(phrases.YOUTUBE_OPENERS[sentiment])
        if opener.endswith(", ") and not body.startswith(tuple(f["n"] for f in forms.values())):
            body = body[:1].lower() + body[1:]
        text = opener + body
        if channel == "dzen" and sentiment != "neutral":
            more = phrases.render(rng.choice(phrases.PERSONAL[sentiment]), rng, forms, female)
            text = f"{text}{'' if text.endswith(_ENDS) else '.'} {more}"
        closer = rng.choice(phrases.CLOSERS[sentiment])
        if not text.endswith(_ENDS) and (closer or rng.random() < 0.6):
            text += "." if sentiment != "negative" or rng.random() < 0.5 else "!"
        text += closer
        if channel in _INFORMAL and rng.random() < 0.6:
            repeat = 1 if sentiment == "neutral" else rng.choice((1, 1, 2, 3))
            text += " " + rng.choice(phrases.EMOJI[sentiment]) * repeat
        if channel in ("vk", "telegram", "dzen") and rng.random() < 0.25:
            text += f" {tag}"
        if channel in _INFORMAL and rng.random() < 0.15:
            text = text[:1].lower() + text[1:]
        return text


def _copy_text(rng: random.Random, text: str) -> str:
    """A near-identical copy: a forward, a quote, a repost with a word of its own."""
    kind = rng.randrange(4)
    if kind == 0:
        return text
    if kind == 1:
        return f"Репост: {text}"
    if kind == 2:
        return f"Вот что пишут: «{text}»"
    return f"{text} +1"


def background(
    seed: str, start: datetime, end: datetime, id_prefix: str, incident: tuple[datetime, datetime] | None
) -> list[DemoEvent]:
    """Ordinary mentions between ``start`` and ``end`` (UTC), with copies and engagement updates."""
    rng = random.Random(seed)
    authors = Authors(random.Random(f"{seed}:authors"))
    writer = _Writer(rng)
    events: list[DemoEvent] = []
    counter = 0
    brand_weights = [b.share for b in BRANDS]
    hour_norm = {c.name: sum(c.hourly) / 24.0 for c in CHANNELS}
    slot = start.replace(minute=0, second=0, microsecond=0)
    while slot < end:
        local = slot + timedelta(hours=MSK_OFFSET_HOURS)
        weekend = local.weekday() >= 5
        for channel in CHANNELS:
            lam = DAILY_VOLUME / 24.0 * channel.share * channel.hourly[local.hour] / hour_norm[channel.name]
            if weekend:
                lam *= channel.weekend
            for _ in range(_poisson(rng, lam)):
                at = slot + timedelta(seconds=rng.randrange(3600))
                if not start <= at < end:
                    continue
                counter += 1
                in_incident = incident is not None and incident[0] <= at < incident[1]
                mention = _mention(
                    rng, writer, authors, channel, at, f"{id_prefix}{counter:06d}", brand_weights, in_incident
                )
                events.append(mention)
                events.extend(_updates(rng, mention, end))
                if channel.name != "news" and rng.random() < _COPY_SHARE:
                    for _ in range(rng.choice((1, 1, 2, 3))):
                        counter += 1
                        copy = _copy(rng, authors, mention, f"{id_prefix}{counter:06d}", end)
                        if copy is not None:
                            events.append(copy)
        slot += timedelta(hours=1)
    return events


def _mention(
    rng: random.Random,
    writer: _Writer,
    authors: Authors,
    channel: DemoChannel,
    at: datetime,
    external_id: str,
    brand_weights: list[float],
    in_incident: bool,
) -> Mention:
    author = authors.pick(rng, channel.name)
    brand = rng.choices(BRANDS, weights=brand_weights)[0]
    labels: dict[str, str]
    if channel.name != "news" and rng.random() < _FALSE_FRIEND_SHARE and brand.false_friends:
        text = rng.choice(brand.false_friends)
        labels = {}
        label = "neutral"
        kind = "false_friend"
    elif rng.random() < _MULTI_SHARE:
        other = rng.choice([b for b in BRANDS if b is not brand])
        options = phrases.MULTI_NEWS if channel.name == "news" else phrases.MULTI
        template, label_b, label_c = rng.choice(options)
        forms = {"B": _spelling(rng, brand), "C": _spelling(rng, other)}
        text = writer.text(channel.name, template, label_b, forms, author.female, brand.hashtag)
        labels = {brand.name: label_b, other.name: label_c}
        label = label_b
        kind = "multi"
    else:
        pos, neu, neg = brand.mix[channel.name]
        if in_incident and brand.own:
            neg *= 3.0
        label = rng.choices(_LABELS, weights=(pos, neu, neg))[0]
        table = phrases.NEWS if channel.name == "news" else phrases.PERSONAL
        template = rng.choice(table[label])
        forms = {"B": _spelling(rng, brand)}
        text = writer.text(channel.name, template, label, forms, author.female, brand.hashtag)
        labels = {brand.name: label}
        kind = "post"
    views, likes, comments, reposts = _counters(rng, channel.name, author.reach, label)
    return Mention(
        source=DEMO_SOURCE,
        external_id=external_id,
        channel=channel.name,
        text=text,
        published_at=at,
        url=channel.url.format(n=external_id),
        author=author.name,
        author_reach=author.reach,
        place=rng.choice(channel.places),
        likes=likes,
        reposts=reposts,
        comments=comments,
        views=views,
        raw={"demo_label": label, "demo_labels": labels, "demo_brands": list(labels), "demo_kind": kind},
    )


def _counters(rng: random.Random, channel: str, reach: int, label: str) -> tuple[int, int, int, int]:
    """Views, likes, comments, reposts: proportional to reach; complaints draw more comments."""
    if channel == "news":
        views = int(reach * rng.uniform(0.001, 0.02))
    elif channel == "reviews":
        views = rng.randrange(20, 3000)
    else:
        views = max(1, int(reach * rng.uniform(0.05, 0.6)))
    likes = int(views * rng.uniform(0.005, 0.06))
    comments = int(likes * rng.uniform(0.05, 0.4) * (2.0 if label == "negative" else 1.0))
    reposts = int(likes * rng.uniform(0.01, 0.2))
    return views, likes, comments, reposts


def _updates(rng: random.Random, mention: Mention, end: datetime) -> list[EngagementUpdate]:
    """For a few posts the counters grow after publication: start them at a fifth, then update."""
    if rng.random() >= _UPDATED_SHARE or mention.views is None:
        return []
    final = (mention.likes or 0, mention.reposts or 0, mention.comments or 0, mention.views)
    mention.likes, mention.reposts, mention.comments, mention.views = (int(v * 0.2) for v in final)
    out = []
    for hours, share in ((1, 0.5), (4, 0.8), (24, 1.0)):
        at = mention.published_at + timedelta(hours=hours, minutes=rng.randrange(-20, 20))
        if at >= end:
            break
        likes, reposts, comments, views = (int(v * share) for v in final)
        out.append(EngagementUpdate(DEMO_SOURCE, mention.external_id, at, likes, reposts, comments, views))
    return out


def _copy(
    rng: random.Random, authors: Authors, original: Mention, external_id: str, end: datetime
) -> Mention | None:
    at = original.published_at + timedelta(minutes=rng.randrange(5, 8 * 60))
    if at >= end:
        return None
    channel_name = original.channel if rng.random() < 0.5 else rng.choice(_SOCIAL)
    channel = next(c for c in CHANNELS if c.name == channel_name)
    author = authors.pick(rng, channel.name)
    views, likes, comments, reposts = _counters(
        rng, channel.name, author.reach, str(original.raw["demo_label"])
    )
    return Mention(
        source=DEMO_SOURCE,
        external_id=external_id,
        channel=channel.name,
        text=_copy_text(rng, original.text),
        published_at=at,
        url=channel.url.format(n=external_id),
        author=author.name,
        author_reach=author.reach,
        place=rng.choice(channel.places),
        likes=likes,
        reposts=reposts,
        comments=comments,
        views=views,
        parent_external_id=original.external_id,
        raw={**original.raw, "demo_kind": "copy", "demo_copy_of": original.external_id},
    )


def default_end() -> datetime:
    """A fixed end of history, so a call without ``end`` is as deterministic as one with it."""
    return datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
