"""The background stream: thirty days of ordinary mentions, and more of the same on the live clock.

Volume follows local hours and weekdays per channel; each mention picks a brand by share, a sentiment from
that brand's mix in that channel, an author from a pool where a few people post a lot, and a template in the
channel's voice. Some posts are copied (reposts, forwards, "вот что пишут"), some texts name two brands, a
few only look like they name one (exclusions). One ``random.Random`` per call, seeded from a string, makes
the stream the same on every machine and Python run.

The background is meant to be calm, so that every alert the demo shows is one it scripts: posts carry
their own details (no two people write the same complaint word for word), a background author writes about
a brand at most twice a week, an ordinary complaint is reposted at most once, and ordinary posts gather
engagement at ordinary rates. The one event in it is our brand's app incident (:data:`INCIDENT_DAYS`), which
is loud on purpose; :data:`INCIDENT_ALERTS` lists what it raises.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.mention import Mention
from loyalty_monitor.demo import phrases
from loyalty_monitor.demo.events import DEMO_SOURCE, DemoEvent, EngagementUpdate, ExpectedAlert
from loyalty_monitor.demo.settings import (
    BRANDS,
    CHANNELS,
    MSK_OFFSET_HOURS,
    DemoBrand,
    DemoChannel,
    Forms,
)

__all__ = ["DAILY_VOLUME", "INCIDENT_ALERTS", "INCIDENT_DAYS", "Authors", "background"]

DAILY_VOLUME = 330.0
"""Mean original mentions a day over all channels on a weekday (copies come on top)."""

INCIDENT_DAYS = (11, 8)
"""Our brand's app release goes wrong from 11 to 8 days before the end of history.

People who never write about a bank write about its broken app: on top of the usual stream come
:data:`_INCIDENT_EXTRA` times our brand's usual complaints, about the app, and the news reports the failure.
It ends more than a week before the live part, so the live part's same hours of last week (the spike
baseline) are calm."""

_INCIDENT_EXTRA = 4.0
_INCIDENT_NEWS_FACTOR = 3.0
_DAY = 24 * 60

INCIDENT_ALERTS: tuple[ExpectedAlert, ...] = (
    ExpectedAlert(
        "negative_spike",
        "Полярбанк",
        (),
        -(INCIDENT_DAYS[1] - 1) * _DAY,
        "warning",
        "complaints about our brand jump far above the same hours of past weeks when the release breaks",
        after_minutes=-INCIDENT_DAYS[0] * _DAY,
        channel=None,
    ),
    ExpectedAlert(
        "recurring_problem",
        "Полярбанк",
        (),
        -(INCIDENT_DAYS[1] - 1) * _DAY,
        "warning",
        "many people describe the same app failure in their own words",
        after_minutes=-INCIDENT_DAYS[0] * _DAY,
        channel=None,
    ),
    ExpectedAlert(
        "index_drop",
        "Полярбанк",
        (),
        # The 7-day index holds the incident until a week after it, so a channel may cross the line late.
        -(INCIDENT_DAYS[1] - 7) * _DAY if INCIDENT_DAYS[1] > 7 else 0,
        "warning",
        "the week with the incident has a far lower loyalty index than the week before",
        after_minutes=-INCIDENT_DAYS[0] * _DAY,
        channel=None,
    ),
)
"""What the app incident raises in history (minutes relative to the end of history, i.e. the live start).

Spikes and similar complaints from its start to a day after its end (complaints trail off); index drops
until a week after it, while the 7-day index still holds it.

Any channel, and more than one alert per rule is fine (a spike in VK and on review sites, a drop of the
index overall and in a channel); nothing outside these windows and the live script's alerts is."""

_REACH_CUT = 2.0
_MENTIONS_PER_WEEK = 2
"""Mentions of one brand by one background author in any seven days of history, at most; one more in the
live part (generated apart, it cannot see history's), so never the four the repeat-complainer rule wants.

Real people rarely write about a bank more than twice a week. The cap is on all mentions, not only the
intended complaints, so the stream stays calm whatever the sentiment model makes of a text: the rule is for
the scripted client nobody answered, not for the busiest names of an author pool."""
_MAX_NEGATIVE_COPIES = 1
"""An ordinary complaint is reposted once, if at all; copies by three other people are spreading, which the
copies rule reports and the live script shows (two would be one chance near-duplicate away from it)."""

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
        # Cut at two sigmas: the accounts with hundreds of thousands of followers that write about banks are
        # the scripted resonance's channels; an ordinary post never outreaches the channel's usual twentyfold.
        z = min(_REACH_CUT, rng.gauss(0.0, 1.0))
        reach = max(10, int(math.exp(channel.reach_mu + channel.reach_sigma * z)))
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


class Complaints:
    """Who wrote about which brand when, so a background author writes about a brand at most ``per_week``
    times in any seven days (see :data:`_MENTIONS_PER_WEEK`).

    Keyed by the author's name, as the repeat-complainer rule sees authors: two "Анна Павлова" in two
    channels are one name to it. News outlets are exempt: they report on banks daily, mostly neutrally.
    """

    def __init__(self, per_week: int) -> None:
        self.per_week = per_week
        self._times: dict[tuple[str, str], list[datetime]] = defaultdict(list)

    def author(
        self,
        rng: random.Random,
        authors: Authors,
        channel: str,
        labels: Mapping[str, str],
        at: datetime,
    ) -> Author:
        """An author for a mention of the brands in ``labels`` at ``at``; the mention is recorded."""
        author = authors.pick(rng, channel)
        if not labels or channel == "news":
            return author
        for _ in range(200):
            if all(self._allowed(author.name, b, at) for b in labels):
                break
            author = authors.pick(rng, channel)
        for b in labels:
            self._times[(author.name, b)].append(at)
        return author

    def _allowed(self, name: str, brand: str, at: datetime) -> bool:
        # Both sides of ``at``: copies are dated hours after their original, so times do not only grow.
        near = sum(1 for t in self._times[(name, brand)] if abs(t - at) < timedelta(days=7))
        return near < self.per_week


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
        self,
        channel: str,
        template: str,
        sentiment: str,
        forms: dict[str, Forms],
        female: bool,
        tag: str,
        details: bool = True,
    ) -> str:
        """The text in the channel's voice; ``details=False`` keeps it to the template (no facts added to a
        complaint, no second sentence on review sites and Dzen), as for the incident's one-liners."""
        rng = self.rng
        if channel in _INFORMAL and rng.random() < _TYPO_SHARE:
            template = phrases.add_typo(template, rng, ("{",))
        body = phrases.render(template, rng, forms, female)
        if channel == "news":
            return body
        if sentiment != "neutral" and details:
            body = self._details(body, forms, female, sentiment)
        if channel == "reviews":
            title = rng.choice(phrases.REVIEW_TITLES[sentiment])
            if sentiment != "neutral" and details and rng.random() < 0.6:
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
        if channel == "dzen" and sentiment != "neutral" and details:
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

    def _details(self, body: str, forms: dict[str, Forms], female: bool, sentiment: str) -> str:
        """A complaint (or praise) with one or two facts of the author's own (see :data:`phrases.DETAILS`)."""
        rng = self.rng
        count = rng.choices((1, 2), weights=(0.6, 0.4))[0]
        table = phrases.DETAILS if sentiment == "negative" else phrases.GOOD_DETAILS
        for template in rng.sample(table, count):
            more = phrases.render(template, rng, forms, female)
            body = f"{body}{'' if body.endswith(_ENDS) else '.'} {more}"
        return body


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
    seed: str,
    start: datetime,
    end: datetime,
    id_prefix: str,
    incident: tuple[datetime, datetime] | None,
    per_week: int = _MENTIONS_PER_WEEK,
) -> list[DemoEvent]:
    """Ordinary mentions between ``start`` and ``end`` (UTC), with copies and engagement updates.

    ``per_week``: mentions of a brand by one author in any seven days (1 for the live part, see
    :data:`_MENTIONS_PER_WEEK`)."""
    rng = random.Random(seed)
    authors = Authors(random.Random(f"{seed}:authors"))
    complaints = Complaints(per_week)
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
                in_incident = _inside(incident, at)
                mention = _mention(
                    rng,
                    writer,
                    authors,
                    complaints,
                    channel,
                    at,
                    f"{id_prefix}{counter:06d}",
                    brand_weights,
                    in_incident,
                )
                events.append(mention)
                events.extend(_updates(rng, mention, end))
                if channel.name != "news" and rng.random() < _COPY_SHARE:
                    n_copies = rng.choice((1, 1, 2, 3))
                    if _negative_brands(mention):
                        n_copies = min(n_copies, _MAX_NEGATIVE_COPIES)
                    for _ in range(n_copies):
                        counter += 1
                        copy = _copy(rng, authors, complaints, mention, f"{id_prefix}{counter:06d}", end)
                        if copy is not None:
                            events.append(copy)
            if channel.name != "news" and _inside(incident, slot):
                own = next(b for b in BRANDS if b.own)
                extra = lam * own.share * own.mix[channel.name][2] * _INCIDENT_EXTRA
                for _ in range(_poisson(rng, extra)):
                    at = slot + timedelta(seconds=rng.randrange(3600))
                    if not start <= at < end:
                        continue
                    counter += 1
                    mention = _app_complaint(
                        rng, writer, authors, complaints, channel, at, f"{id_prefix}{counter:06d}", own
                    )
                    events.append(mention)
        slot += timedelta(hours=1)
    return events


def _inside(incident: tuple[datetime, datetime] | None, at: datetime) -> bool:
    return incident is not None and incident[0] <= at < incident[1]


def _app_complaint(
    rng: random.Random,
    writer: _Writer,
    authors: Authors,
    complaints: Complaints,
    channel: DemoChannel,
    at: datetime,
    external_id: str,
    brand: DemoBrand,
) -> Mention:
    """One of the incident's extra complaints: the app, in the words everybody uses for it."""
    author = complaints.author(rng, authors, channel.name, {brand.name: "negative"}, at)
    template = rng.choice(phrases.INCIDENT)
    forms = {"B": _spelling(rng, brand)}
    text = writer.text(channel.name, template, "negative", forms, author.female, brand.hashtag, details=False)
    return _post(
        rng, channel, at, external_id, author, text, "negative", {brand.name: "negative"}, "incident"
    )


def _post(
    rng: random.Random,
    channel: DemoChannel,
    at: datetime,
    external_id: str,
    author: Author,
    text: str,
    label: str,
    labels: dict[str, str],
    kind: str,
) -> Mention:
    """A written text as a mention: counters for its author's reach, and the intended labels in ``raw``."""
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


def _labels(mention: Mention) -> dict[str, str]:
    labels = mention.raw.get("demo_labels") or {}
    assert isinstance(labels, dict)
    return {str(b): str(lbl) for b, lbl in labels.items()}


def _negative_brands(mention: Mention) -> list[str]:
    return [b for b, lbl in _labels(mention).items() if lbl == "negative"]


def _mention(
    rng: random.Random,
    writer: _Writer,
    authors: Authors,
    complaints: Complaints,
    channel: DemoChannel,
    at: datetime,
    external_id: str,
    brand_weights: list[float],
    in_incident: bool,
) -> Mention:
    brand = rng.choices(BRANDS, weights=brand_weights)[0]
    labels: dict[str, str]
    if channel.name != "news" and rng.random() < _FALSE_FRIEND_SHARE and brand.false_friends:
        author = complaints.author(rng, authors, channel.name, {}, at)
        text = rng.choice(brand.false_friends)
        labels = {}
        label = "neutral"
        kind = "false_friend"
    elif rng.random() < _MULTI_SHARE:
        other = rng.choice([b for b in BRANDS if b is not brand])
        options = phrases.MULTI_NEWS if channel.name == "news" else phrases.MULTI
        template, label_b, label_c = rng.choice(options)
        labels = {brand.name: label_b, other.name: label_c}
        author = complaints.author(rng, authors, channel.name, labels, at)
        forms = {"B": _spelling(rng, brand), "C": _spelling(rng, other)}
        text = writer.text(channel.name, template, label_b, forms, author.female, brand.hashtag)
        label = label_b
        kind = "multi"
    else:
        pos, neu, neg = brand.mix[channel.name]
        if in_incident and brand.own and channel.name == "news":
            neg *= _INCIDENT_NEWS_FACTOR  # the press reports the failure ("масштабный сбой")
        label = rng.choices(_LABELS, weights=(pos, neu, neg))[0]
        table = phrases.NEWS if channel.name == "news" else phrases.PERSONAL
        template = rng.choice(table[label])
        author = complaints.author(rng, authors, channel.name, {brand.name: label}, at)
        forms = {"B": _spelling(rng, brand)}
        text = writer.text(channel.name, template, label, forms, author.female, brand.hashtag)
        labels = {brand.name: label}
        kind = "post"
    return _post(rng, channel, at, external_id, author, text, label, labels, kind)


def _counters(rng: random.Random, channel: str, reach: int, label: str) -> tuple[int, int, int, int]:
    """Views, likes, comments, reposts: proportional to reach; complaints draw more comments.

    The rates vary within ordinary bounds (an ordinary post never goes viral by a product of lucky draws),
    and review sites have no reposts and few comments, as on the real ones.
    """
    if channel == "news":
        views = int(reach * rng.uniform(0.001, 0.02))
    elif channel == "reviews":
        views = rng.randrange(20, 3000)
    else:
        views = max(1, int(reach * rng.uniform(0.08, 0.4)))
    likes = int(views * rng.uniform(0.01, 0.04))
    comments = int(likes * rng.uniform(0.08, 0.3) * (1.5 if label == "negative" else 1.0))
    reposts = int(likes * rng.uniform(0.03, 0.12))
    if channel == "reviews":
        comments, reposts = comments // 4, 0
    return views, likes, comments, reposts


def _updates(rng: random.Random, mention: Mention, end: datetime) -> list[EngagementUpdate]:
    """For a few posts the counters grow after publication: start them at a fifth, then update.

    Only ordinary accounts' posts (reach up to the channel's 84th percentile): a big account's complaint
    that keeps gathering reposts is resonance, and in the demo resonance is scripted.
    """
    if rng.random() >= _UPDATED_SHARE or mention.views is None:
        return []
    channel = next(c for c in CHANNELS if c.name == mention.channel)
    if (mention.author_reach or 0) > math.exp(channel.reach_mu + channel.reach_sigma):
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
    rng: random.Random,
    authors: Authors,
    complaints: Complaints,
    original: Mention,
    external_id: str,
    end: datetime,
) -> Mention | None:
    at = original.published_at + timedelta(minutes=rng.randrange(5, 8 * 60))
    if at >= end:
        return None
    channel_name = original.channel if rng.random() < 0.5 else rng.choice(_SOCIAL)
    channel = next(c for c in CHANNELS if c.name == channel_name)
    # A repost of a complaint is a complaint by the reposter, as the alert rules count it.
    author = complaints.author(rng, authors, channel.name, _labels(original), at)
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
