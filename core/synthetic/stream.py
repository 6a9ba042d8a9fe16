"""The synthetic stream: ordinary mentions with rhythm, authors, copies and engagement, plus injected events.

Volume follows local hours and weekdays per channel; each mention picks a brand by share, a sentiment from
that brand's mix in that channel, an author from a pool where a few people post a lot, and a template in the
channel's voice. Some posts are copied (reposts, forwards, "вот что пишут"), some texts name two brands, a
few only look like they name one (exclusions). One ``random.Random`` per stream, seeded from a string, makes
it the same on every machine and Python run.

The ordinary stream is meant to be calm, so that every alert a replay raises is one a caller injected: posts
carry their own details (no two people write the same complaint word for word), an author writes about a
brand at most twice a week, an ordinary complaint is reposted at most once, and ordinary posts gather
engagement at ordinary rates. Loud things come in two ways:

* a :class:`Spike`: a brand's complaints jump for a while, written inside the stream (same random draws);
* an :class:`~core.synthetic.events.Injector`: scripted events (an escalating complaint, a brand's replies)
  drawn from the injector's own seed and merged in.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import utc
from core.mention import Mention
from core.synthetic import phrases
from core.synthetic.events import EngagementUpdate, Injector, StreamEvent, event_time
from core.synthetic.world import BRANDS, CHANNELS, MSK_OFFSET_HOURS, Forms, StreamBrand, StreamChannel

__all__ = ["DAILY_VOLUME", "MENTIONS_PER_WEEK", "Spike", "generate", "stream"]

DAILY_VOLUME = 330.0
"""Mean original mentions a day over all default channels on a weekday (copies come on top)."""

_REACH_CUT = 2.0
MENTIONS_PER_WEEK = 2
"""Mentions of one brand by one ordinary author in any seven days, at most (the default ``per_week``).

Real people rarely write about a bank more than twice a week. The cap is on all mentions, not only the
intended complaints, so the stream stays calm whatever a sentiment model makes of a text: the
repeat-complainer rule is for a scripted client nobody answered, not for the busiest names of an author
pool. A stream that continues another (the demo's live part after its history) cannot see the other's
authors, so it takes ``per_week=1``: never the four the rule wants."""
_MAX_NEGATIVE_COPIES = 1
"""An ordinary complaint is reposted once, if at all; copies by three other people are spreading, which the
copies rule reports and the demo's script shows (two would be one chance near-duplicate away from it)."""

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

    def __init__(self, rng: random.Random, channels: Sequence[StreamChannel]) -> None:
        self._pools: dict[str, tuple[list[Author], list[float]]] = {}
        for channel in channels:
            pool = [self._author(rng, channel, i) for i in range(channel.authors)]
            weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(pool))]
            cum: list[float] = []
            total = 0.0
            for w in weights:
                total += w
                cum.append(total)
            self._pools[channel.name] = (pool, cum)

    @staticmethod
    def _author(rng: random.Random, channel: StreamChannel, i: int) -> Author:
        # Cut at two sigmas: the accounts with hundreds of thousands of followers that write about banks are
        # scripted (an injector's); an ordinary post never outreaches the channel's usual twentyfold.
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
    """Who wrote about which brand when, so an ordinary author writes about a brand at most ``per_week``
    times in any seven days (see :data:`MENTIONS_PER_WEEK`; ``None``: no cap, and nothing remembered).

    Keyed by the author's name, as the repeat-complainer rule sees authors: two "Анна Павлова" in two
    channels are one name to it. News outlets are exempt: they report on banks daily, mostly neutrally.
    """

    def __init__(self, per_week: int | None) -> None:
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
        if not labels or channel == "news" or self.per_week is None:
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
        return self.per_week is None or near < self.per_week


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


def _spelling(rng: random.Random, brand: StreamBrand) -> Forms:
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


@dataclass(frozen=True, slots=True)
class Spike:
    """A brand's complaints jump between ``start`` and ``end``: a failed release, an outage.

    On top of the usual stream come ``extra`` times the brand's usual complaints per channel (not the
    news), written from ``templates`` (one-liners everybody uses for the failure, no details of their own),
    and the news reports ``news_factor`` times as many negative items about the brand. Drawn from the
    stream's own random numbers, so a spike changes the stream from its start on.
    """

    brand: str
    start: datetime
    end: datetime
    extra: float = 4.0
    news_factor: float = 3.0
    templates: tuple[str, ...] = phrases.INCIDENT
    kind: str = "incident"

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


def generate(
    *,
    start: datetime,
    end: datetime,
    seed: str | int = 7,
    brands: Sequence[StreamBrand] = BRANDS,
    channels: Sequence[StreamChannel] = CHANNELS,
    daily_volume: float = DAILY_VOLUME,
    per_week: int | None = MENTIONS_PER_WEEK,
    spikes: Sequence[Spike] = (),
    injectors: Sequence[Injector] = (),
    source: str = "demo",
    id_prefix: str = "",
    utc_offset_hours: int = MSK_OFFSET_HOURS,
) -> list[StreamEvent]:
    """A whole stream between ``start`` and ``end``, injected events included, sorted by time.

    Ties are broken by external id, so equal timestamps never depend on generation order. The arguments
    are :func:`stream`'s; ``injectors`` add their events to the ordinary ones (see
    :class:`~core.synthetic.events.Injector`)::

        generate(start=t0, end=t0 + timedelta(days=30), seed=7)
        generate(start=t0, end=t1, brands=(plain_brand("Альфа", own=True),), daily_volume=200)
    """
    begin, stop = utc(start), utc(end)
    events = list(
        stream(
            start=begin,
            end=stop,
            seed=seed,
            brands=brands,
            channels=channels,
            daily_volume=daily_volume,
            per_week=per_week,
            spikes=spikes,
            source=source,
            id_prefix=id_prefix,
            utc_offset_hours=utc_offset_hours,
        )
    )
    ordinary = tuple(events)
    for inject in injectors:
        events.extend(inject(str(seed), begin, stop, ordinary))
    return sorted(events, key=lambda e: (event_time(e), e.external_id))


def stream(
    *,
    start: datetime,
    end: datetime,
    seed: str | int = 7,
    brands: Sequence[StreamBrand] = BRANDS,
    channels: Sequence[StreamChannel] = CHANNELS,
    daily_volume: float = DAILY_VOLUME,
    per_week: int | None = MENTIONS_PER_WEEK,
    spikes: Sequence[Spike] = (),
    source: str = "demo",
    id_prefix: str = "",
    utc_offset_hours: int = MSK_OFFSET_HOURS,
) -> Iterator[StreamEvent]:
    """Ordinary mentions between ``start`` and ``end`` (UTC), with copies and engagement updates, one hour
    after the other (not sorted within the hour: copies and updates come after their original).

    A generator, so a benchmark can write millions of mentions without holding them. ``seed`` seeds the
    stream's ``random.Random`` (a string is stable across Python runs); ``brands`` and ``channels`` are the
    world (default the invented banks, see :mod:`core.synthetic.world`); ``daily_volume`` original mentions a
    weekday over channels whose shares sum to one; ``per_week`` caps an author's mentions of a brand (see
    :data:`MENTIONS_PER_WEEK`); ``spikes`` make complaints jump; external ids are ``id_prefix`` and a
    counter; ``utc_offset_hours`` is the audience's time zone, in which the daily rhythm runs.
    """
    state = _Stream(seed, brands, channels, per_week, source)
    yield from state.run(utc(start), utc(end), daily_volume, spikes, id_prefix, utc_offset_hours)


class _Stream:
    """One stream's random numbers, authors and world; the methods write its events."""

    def __init__(
        self,
        seed: str | int,
        brands: Sequence[StreamBrand],
        channels: Sequence[StreamChannel],
        per_week: int | None,
        source: str,
    ) -> None:
        if not brands or not channels:
            raise ValueError("a stream needs at least one brand and one channel")
        self.rng = random.Random(seed)
        self.authors = Authors(random.Random(f"{seed}:authors"), channels)
        self.complaints = Complaints(per_week)
        self.writer = _Writer(self.rng)
        self.brands = tuple(brands)
        self.channels = tuple(channels)
        self.by_name = {c.name: c for c in channels}
        self.brand_by_name = {b.name: b for b in brands}
        self.social = tuple(c for c in _SOCIAL if c in self.by_name)
        self.source = source

    def run(
        self,
        start: datetime,
        end: datetime,
        daily_volume: float,
        spikes: Sequence[Spike],
        id_prefix: str,
        utc_offset_hours: int,
    ) -> Iterator[StreamEvent]:
        rng = self.rng
        counter = 0
        brand_weights = [b.share for b in self.brands]
        hour_norm = {c.name: sum(c.hourly) / 24.0 for c in self.channels}
        for spike in spikes:
            if spike.brand not in self.brand_by_name:
                raise ValueError(f"spike of {spike.brand!r}: not one of the stream's brands")
        slot = start.replace(minute=0, second=0, microsecond=0)
        while slot < end:
            local = slot + timedelta(hours=utc_offset_hours)
            weekend = local.weekday() >= 5
            for channel in self.channels:
                lam = (
                    daily_volume / 24.0 * channel.share * channel.hourly[local.hour] / hour_norm[channel.name]
                )
                if weekend:
                    lam *= channel.weekend
                for _ in range(_poisson(rng, lam)):
                    at = slot + timedelta(seconds=rng.randrange(3600))
                    if not start <= at < end:
                        continue
                    counter += 1
                    mention = self._mention(
                        channel,
                        at,
                        f"{id_prefix}{counter:06d}",
                        brand_weights,
                        [s for s in spikes if s.covers(at)],
                    )
                    # Updates first: they set the mention's counters back to where they started.
                    updates = self._updates(mention, end)
                    yield mention
                    yield from updates
                    if channel.name != "news" and rng.random() < _COPY_SHARE:
                        n_copies = rng.choice((1, 1, 2, 3))
                        if _negative_brands(mention):
                            n_copies = min(n_copies, _MAX_NEGATIVE_COPIES)
                        for _ in range(n_copies):
                            counter += 1
                            copy = self._copy(mention, f"{id_prefix}{counter:06d}", end)
                            if copy is not None:
                                yield copy
                if channel.name == "news":
                    continue
                for spike in spikes:
                    if not spike.covers(slot):
                        continue
                    brand = self.brand_by_name[spike.brand]
                    extra = lam * brand.share * brand.mix_in(channel.name)[2] * spike.extra
                    for _ in range(_poisson(rng, extra)):
                        at = slot + timedelta(seconds=rng.randrange(3600))
                        if not start <= at < end:
                            continue
                        counter += 1
                        yield self._spike_complaint(spike, channel, at, f"{id_prefix}{counter:06d}", brand)
            slot += timedelta(hours=1)

    def _spike_complaint(
        self, spike: Spike, channel: StreamChannel, at: datetime, external_id: str, brand: StreamBrand
    ) -> Mention:
        """One of a spike's extra complaints: the failure, in the words everybody uses for it."""
        rng = self.rng
        author = self.complaints.author(rng, self.authors, channel.name, {brand.name: "negative"}, at)
        template = rng.choice(spike.templates)
        forms = {"B": _spelling(rng, brand)}
        text = self.writer.text(
            channel.name, template, "negative", forms, author.female, brand.hashtag, details=False
        )
        return self._post(
            channel, at, external_id, author, text, "negative", {brand.name: "negative"}, spike.kind
        )

    def _post(
        self,
        channel: StreamChannel,
        at: datetime,
        external_id: str,
        author: Author,
        text: str,
        label: str,
        labels: dict[str, str],
        kind: str,
    ) -> Mention:
        """A written text as a mention: counters for its author's reach, the intended labels in ``raw``."""
        rng = self.rng
        views, likes, comments, reposts = _counters(rng, channel.name, author.reach, label)
        return Mention(
            source=self.source,
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

    def _mention(
        self,
        channel: StreamChannel,
        at: datetime,
        external_id: str,
        brand_weights: list[float],
        spikes: list[Spike],
    ) -> Mention:
        rng = self.rng
        brand = rng.choices(self.brands, weights=brand_weights)[0]
        labels: dict[str, str]
        if channel.name != "news" and rng.random() < _FALSE_FRIEND_SHARE and brand.false_friends:
            author = self.complaints.author(rng, self.authors, channel.name, {}, at)
            text = rng.choice(brand.false_friends)
            labels = {}
            label = "neutral"
            kind = "false_friend"
        elif len(self.brands) > 1 and rng.random() < _MULTI_SHARE:
            other = rng.choice([b for b in self.brands if b is not brand])
            options = phrases.MULTI_NEWS if channel.name == "news" else phrases.MULTI
            template, label_b, label_c = rng.choice(options)
            labels = {brand.name: label_b, other.name: label_c}
            author = self.complaints.author(rng, self.authors, channel.name, labels, at)
            forms = {"B": _spelling(rng, brand), "C": _spelling(rng, other)}
            text = self.writer.text(channel.name, template, label_b, forms, author.female, brand.hashtag)
            label = label_b
            kind = "multi"
        else:
            pos, neu, neg = brand.mix_in(channel.name)
            if channel.name == "news":
                for spike in spikes:
                    if spike.brand == brand.name:
                        neg *= spike.news_factor  # the press reports the failure ("масштабный сбой")
            label = rng.choices(_LABELS, weights=(pos, neu, neg))[0]
            table = phrases.NEWS if channel.name == "news" else phrases.PERSONAL
            template = rng.choice(table[label])
            author = self.complaints.author(rng, self.authors, channel.name, {brand.name: label}, at)
            forms = {"B": _spelling(rng, brand)}
            text = self.writer.text(channel.name, template, label, forms, author.female, brand.hashtag)
            labels = {brand.name: label}
            kind = "post"
        return self._post(channel, at, external_id, author, text, label, labels, kind)

    def _updates(self, mention: Mention, end: datetime) -> list[EngagementUpdate]:
        """For a few posts the counters grow after publication: start them at a fifth, then update.

        Only ordinary accounts' posts (reach up to the channel's 84th percentile): a big account's complaint
        that keeps gathering reposts is resonance, and resonance is an injector's.
        """
        rng = self.rng
        if rng.random() >= _UPDATED_SHARE or mention.views is None:
            return []
        channel = self.by_name[mention.channel]
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
            out.append(
                EngagementUpdate(self.source, mention.external_id, at, likes, reposts, comments, views)
            )
        return out

    def _copy(self, original: Mention, external_id: str, end: datetime) -> Mention | None:
        rng = self.rng
        at = original.published_at + timedelta(minutes=rng.randrange(5, 8 * 60))
        if at >= end:
            return None
        # The draw comes first, so a world without social channels keeps the same random numbers.
        stay = rng.random() < 0.5 or not self.social
        channel_name = original.channel if stay else rng.choice(self.social)
        channel = self.by_name[channel_name]
        # A repost of a complaint is a complaint by the reposter, as the alert rules count it.
        author = self.complaints.author(rng, self.authors, channel.name, _labels(original), at)
        views, likes, comments, reposts = _counters(
            rng, channel.name, author.reach, str(original.raw["demo_label"])
        )
        return Mention(
            source=self.source,
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


def _labels(mention: Mention) -> dict[str, str]:
    labels = mention.raw.get("demo_labels") or {}
    assert isinstance(labels, dict)
    return {str(b): str(lbl) for b, lbl in labels.items()}


def _negative_brands(mention: Mention) -> list[str]:
    return [b for b, lbl in _labels(mention).items() if lbl == "negative"]


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
