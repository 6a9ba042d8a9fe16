"""The backtest's twins of the text rules' reads: what the rules would query, kept as the replay stores it.

The per-batch text rules (recurring problems, copies across channels, repeat complainers) compare each
fresh complaint with a brand's complaints of the last weeks. ``run`` reads those back from the store for
every batch; in a replay, where every mention is stored in order of publication before the rules look,
the same rows are the tail of what was stored, so the replay keeps them in memory as it stores them
(:class:`ReplayComplaints`, :class:`ReplayRepeatComplainer`) and answers the reads from there.

Comparing one fresh complaint with thousands of recent ones is the other cost: the scans here
(:class:`ReplayRecurring`, :class:`ReplayCopies`) first bound each pair's shared words from a fixed-width
hashed bit mask of each word set (:func:`shared_bound`, which allows for words that share a bit),
and compute the rules' exact measures (:func:`~alerts.rules.texts.jaccard`, containment) only for the
pairs the bound cannot rule out. Every decision is the rule's own, on the same numbers; tests check each
twin against the query or scan it replaces on a random stream.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.rules.copies_across_channels import CopiesAcrossChannels, CopiesScan
from alerts.rules.engagement_growth import quantile, reach_factor, weighted_engagement
from alerts.rules.queries import Complaint, Link
from alerts.rules.recurring_problem import RecurringProblem, RecurringScan
from alerts.rules.repeat_complainer import RepeatComplainer
from alerts.rules.texts import Recent, WordSets, jaccard
from alerts.settings import AlertsSettings, SpreadRule
from core.mention import Mention

__all__ = [
    "MASK_BITS",
    "ReplayChannelPosts",
    "ReplayComplaints",
    "ReplayCopies",
    "ReplayRecurring",
    "ReplayRepeatComplainer",
    "shared_bound",
    "word_mask",
]

MASK_BITS = 256
"""Width of a word set's hashed mask: wide enough that unrelated complaints of a few dozen words share few
bits, narrow enough that an AND and a bit count of two masks cost next to nothing."""


def word_mask(words: frozenset[str]) -> int:
    """A bit per word (its hash modulo :data:`MASK_BITS`), for :func:`shared_bound`."""
    mask = 0
    for w in words:
        mask |= 1 << (hash(w) % MASK_BITS)
    return mask


def shared_bound(mask: int, size: int, other: int) -> int:
    """At least ``|A & B|`` for a word set ``A`` of ``size`` words with :func:`word_mask` ``mask`` and any
    set ``B`` with mask ``other``.

    The shared words set bits common to both masks, but two of them may share a bit: no more of ``A``'s
    words fall on any set of bits than the bits plus ``A``'s own collisions (``size - popcount(mask)``).
    """
    return (mask & other).bit_count() + size - mask.bit_count()


class ReplayComplaints:
    """The brands' recent complaints kept in memory as the replay stores them, newest first on request.

    The text rules compare each fresh complaint with the brand's complaints of the last weeks
    (:func:`alerts.rules.queries.recent_complaints`, up to ``max_candidates``, with their word sets): on a
    busy history that is thousands of rows read back, and thousands of word-set records rebuilt, for every
    batch with a complaint. In a replay every complaint is stored in order of publication before the rules
    run, so the same list is the tail of what was stored: the counted negative links of each brand, each
    kept once with its word set and :func:`word_mask`, oldest dropped as the window moves. Complaints
    published at the same instant come newest id first (the query leaves their order to the database).
    """

    def __init__(self, brands: Sequence[str], days: float, words: WordSets, limit: int) -> None:
        self._history = days
        self._days = timedelta(days=days)
        self._words = words
        self._limit = limit
        self._kept: dict[str, _Kept] = {b: _Kept() for b in brands}

    def add(self, brand: str, label: str, mention_id: int, published_at: datetime, mention: Mention) -> None:
        """Keep one stored, counted link if it is a complaint about an alerting brand."""
        kept = self._kept.get(brand)
        if kept is None or label != "negative":
            return
        thread = mention.parent_external_id or f"#{mention_id}"
        c = Complaint(mention_id, mention.text, mention.author, mention.channel, published_at, thread)
        tokens = self._words.of(mention_id, mention.text)
        r = Recent(mention_id, c.author, thread, c.channel, published_at, tokens)
        kept.append(published_at, c, r, word_mask(tokens))

    def _span(self, brand: str, now: datetime, days: float, limit: int) -> tuple[_Kept, int, int] | None:
        kept = self._kept.get(brand)
        if kept is None:
            return None
        kept.drop_before(now - max(self._days, timedelta(days=days)))
        lo = bisect.bisect_left(kept.times, now - timedelta(days=days), kept.start)
        hi = bisect.bisect_right(kept.times, now, lo)
        return kept, max(lo, hi - limit), hi

    def __call__(
        self, conn: Connection, brand: str, now: datetime, days: float, limit: int
    ) -> list[Complaint]:
        """:func:`~alerts.rules.queries.recent_complaints` answered from memory (``conn`` is not read)."""
        span = self._span(brand, now, days, limit)
        if span is None:
            return []
        kept, lo, hi = span
        return kept.complaints[lo:hi][::-1]

    def recent_words(self, conn: Connection, brand: str, now: datetime) -> list[Recent]:
        """The engine's ``recent_words`` (complaints of the rules' history, with word sets) from memory.

        The list carries the masks of its complaints (:class:`_RecentList`), for the scans here.
        """
        span = self._span(brand, now, self._history, self._limit)
        if span is None:
            return _RecentList()
        kept, lo, hi = span
        return _RecentList(kept.recents[lo:hi][::-1], kept.masks[lo:hi][::-1])


class _RecentList(list[Recent]):
    """Recent complaints, newest first, with their word masks in the same order."""

    def __init__(self, items: Sequence[Recent] = (), masks: Sequence[int] = ()) -> None:
        super().__init__(items)
        self.masks = list(masks)


class _Kept:
    """One brand's complaints, oldest first, as parallel lists; the front is dropped lazily."""

    __slots__ = ("complaints", "masks", "recents", "start", "times")

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self.complaints: list[Complaint] = []
        self.recents: list[Recent] = []
        self.masks: list[int] = []
        self.start = 0

    def append(self, at: datetime, c: Complaint, r: Recent, mask: int) -> None:
        self.times.append(at)
        self.complaints.append(c)
        self.recents.append(r)
        self.masks.append(mask)

    def drop_before(self, cut: datetime) -> None:
        self.start = bisect.bisect_left(self.times, cut, self.start)
        if self.start > 1024 and self.start * 2 > len(self.times):
            n = self.start
            del self.times[:n], self.complaints[:n], self.recents[:n], self.masks[:n]
            self.start = 0


def _newest_before(recent: Sequence[Recent], cut: datetime) -> int:
    """Index of the first complaint of ``recent`` (newest first) published before ``cut``."""
    return bisect.bisect_left(recent, True, key=lambda r: r.published_at < cut)


def _masks(recent: Sequence[Recent]) -> list[int] | None:
    """The masks of ``recent`` when :class:`ReplayComplaints` built it, else ``None``."""
    return recent.masks if isinstance(recent, _RecentList) else None


class ReplayRecurring(RecurringProblem):
    """``recurring_problem`` whose scan bounds each pair's shared words by their masks before comparing."""

    def scan(self, conn: Connection, brand: str, recent: Sequence[Recent], now: datetime) -> RecurringScan:
        masks = _masks(recent)
        if masks is None:
            return RecurringScan(self, conn, brand, recent, now)
        return _RecurringScan(self, conn, brand, recent, masks, now)


class _RecurringScan(RecurringScan):
    """:class:`RecurringScan` with the same answers: the window split by bisection, pairs pre-filtered.

    A pair is alike (the rule's ``alike``) when it is the complaint itself, or when it is not a copy and
    its Jaccard similarity is at least ``similarity``. Jaccard is at most ``shared / len(words)``, and
    ``shared`` at most :func:`shared_bound`, so a pair whose bound is not above
    ``similarity * len(words) - 1`` (a margin far wider than any rounding) cannot be alike; the rest are
    compared exactly as the rule compares them.
    """

    def __init__(
        self,
        rule: RecurringProblem,
        conn: Connection,
        brand: str,
        recent: Sequence[Recent],
        masks: list[int],
        now: datetime,
    ) -> None:
        self._rule = rule
        self._conn = conn
        self._brand = brand
        self._now = now
        first = rule.first_seen(conn, brand)
        self._ready = first is not None and now - first >= timedelta(days=rule.history_days)
        self._done: set[int] = set()
        if self._ready:
            cut = _newest_before(recent, now - timedelta(days=rule.rule.days))
            self._window = list(recent[:cut])
            self._before = list(recent[cut:])
            self._window_masks = masks[:cut]
            self._before_masks = masks[cut:]
        else:  # the rule checks nothing before it has a baseline: no need to split
            self._window, self._before, self._window_masks, self._before_masks = [], [], [], []

    def check(self, lk: Link, words: frozenset[str]) -> Candidate | None:
        if not self._ready or lk.id in self._done or len(words) < 3:
            return None
        similarity = self._rule.rule.similarity
        is_copy = self._rule.is_copy
        mask, size = word_mask(words), len(words)
        need = similarity * size - 1

        def alike(r: Recent) -> bool:
            if r.id == lk.id:
                return True
            if jaccard(words, r.tokens) < similarity:
                return False  # the cheaper half of the rule's test first
            return not (is_copy(words, r.tokens) or is_copy(r.tokens, words))

        def alike_in(items: list[Recent], masks: list[int]) -> list[Recent]:
            return [
                items[i]
                for i, m in enumerate(masks)
                if (shared_bound(mask, size, m) > need or items[i].id == lk.id) and alike(items[i])
            ]

        similar = alike_in(self._window, self._window_masks)
        self._done.update(r.id for r in similar)
        earlier = {r.thread for r in alike_in(self._before, self._before_masks)}
        return self._rule.candidate(self._conn, self._brand, similar, len(earlier), self._now)


class ReplayCopies(CopiesAcrossChannels):
    """``copies_across_channels`` whose scan takes its hours by bisection and bounds containment by masks."""

    def scan(self, conn: Connection, brand: str, recent: Sequence[Recent], now: datetime) -> CopiesScan:
        masks = _masks(recent)
        if masks is None:
            return CopiesScan(self, conn, brand, recent, now)
        return _CopiesScan(self, conn, brand, recent, masks, now)


class _CopiesScan(CopiesScan):
    """:class:`CopiesScan` with the same answers.

    ``contains(text, original)`` needs ``original`` of ``min_words`` words or more and their shared words
    at least ``containment`` of it: originals too short are passed over without counting, and a pair
    whose :func:`shared_bound` is below that is not counted either.
    """

    def __init__(
        self,
        rule: CopiesAcrossChannels,
        conn: Connection,
        brand: str,
        recent: Sequence[Recent],
        masks: list[int],
        now: datetime,
    ) -> None:
        self._rule = rule
        self._conn = conn
        self._brand = brand
        cut = _newest_before(recent, now - timedelta(hours=rule.rule.hours))
        self._near = list(recent[:cut])
        self._masks = masks[:cut]
        self._done: set[int] = set()

    def check(self, lk: Link, words: frozenset[str]) -> Candidate | None:
        if lk.id in self._done:
            return None
        copies = self._rule.copies
        min_words, containment = self._rule.rule.min_words, self._rule.rule.containment
        near, masks = self._near, self._masks
        mask, size = word_mask(words), len(words)
        originals = [
            r
            for r, m in zip(near, masks, strict=True)
            if r.id == lk.id
            or (
                len(r.tokens) >= min_words
                and shared_bound(mask, size, m) >= containment * len(r.tokens)
                and copies(words, r.tokens)
            )
        ]
        if not originals:
            return None
        root = min(originals, key=lambda r: (r.published_at, r.id))
        cluster: list[Recent] = [root]
        if len(root.tokens) >= min_words:
            root_mask, root_size = word_mask(root.tokens), len(root.tokens)
            need = containment * root_size
            cluster += [
                r
                for r, m in zip(near, masks, strict=True)
                if r.id != root.id
                and shared_bound(root_mask, root_size, m) >= need
                and copies(r.tokens, root.tokens)
            ]
        self._done.update(r.id for r in cluster)
        return self._rule.candidate(self._conn, self._brand, cluster)


class _AuthorLink(NamedTuple):
    """One counted link of an author's mention, as :class:`ReplayRepeatComplainer` keeps it."""

    published_at: datetime
    id: int
    parent_external_id: str | None
    channel: str
    negative: bool


class ReplayRepeatComplainer(RepeatComplainer):
    """``repeat_complainer`` reading each author's counted links from memory, kept as the replay stores them.

    The rule asks, per author of a fresh complaint, for her counted negative mentions of the brand in the
    last ``days`` and how many counted mentions she wrote in all: two queries per author per batch. In a
    replay the same rows are what was stored for that author in the period; links older than the period
    are dropped as the clock passes them (a sweep a day keeps authors who fell silent from piling up).
    """

    def __init__(self, settings: AlertsSettings, brands: Sequence[str]) -> None:
        super().__init__(settings)
        self._wanted = frozenset(brands)
        self._kept: dict[tuple[str, str], list[_AuthorLink]] = defaultdict(list)
        self._swept: datetime | None = None

    def add(
        self, brand: str, label: str | None, mention_id: int, published_at: datetime, mention: Mention
    ) -> None:
        """Keep one stored, counted link of an alerting brand by a named author."""
        if brand not in self._wanted or not mention.author:
            return
        self._kept[(brand, mention.author)].append(
            _AuthorLink(
                published_at, mention_id, mention.parent_external_id, mention.channel, label == "negative"
            )
        )
        if self._swept is None:
            self._swept = published_at
        elif published_at - self._swept >= timedelta(days=1):
            self._sweep(published_at - timedelta(days=self.rule.days))
            self._swept = published_at

    def _sweep(self, cut: datetime) -> None:
        for key in list(self._kept):
            links = self._kept[key]
            if links[-1].published_at < cut:
                del self._kept[key]
            elif links[0].published_at < cut:
                self._kept[key] = [lk for lk in links if lk.published_at >= cut]

    def _links(self, brand: str, author: str, since: datetime, now: datetime) -> list[_AuthorLink]:
        links = self._kept.get((brand, author))
        if not links:
            return []
        return [lk for lk in links if since <= lk.published_at <= now]

    def negative_rows(
        self, conn: Connection, brand: str, author: str, since: datetime, now: datetime
    ) -> list[_AuthorLink]:
        return [lk for lk in self._links(brand, author, since, now) if lk.negative]

    def all_count(self, conn: Connection, brand: str, author: str, since: datetime, now: datetime) -> int:
        return len(self._links(brand, author, since, now))


_USUAL_LIMIT = 20_000
"""Posts the spreading rule's usual reads per channel (:meth:`EngagementGrowth.usual`'s limit)."""


class ReplayChannelPosts:
    """Each channel's original posts of the spreading rule's baseline, kept as the replay stores them.

    :meth:`alerts.rules.engagement_growth.EngagementGrowth.usual` reads up to 20,000 posts of a channel
    (not copies) of the last ``baseline_days`` every six hours: on a long history, the same weeks again
    and again. In a replay, each post is stored once, in order of publication, with the counters it
    carries, so its weighted engagement times its reach factor is known when it is stored and the usual
    is a quantile over a slice of what was kept. Where the slice cannot be the query's (a mention stored
    twice refreshes its counters; more posts than the limit at the very instant the limit cuts), the
    answer is ``None`` and the rule asks the store.
    """

    def __init__(self, rule: SpreadRule) -> None:
        self._rule = rule
        self._keep = timedelta(days=rule.baseline_days)
        self._kept: dict[str, tuple[list[datetime], list[float]]] = {}
        self.valid = True
        """False once the store changed a kept post's counters (a mention stored again): then never used."""

    def add(self, channel: str, published_at: datetime, mention: Mention) -> None:
        """Keep one newly stored original (not a copy), in order of publication."""
        rule = self._rule
        times, values = self._kept.setdefault(channel, ([], []))
        if times and published_at < times[-1]:
            self.valid = False  # never in a replay; the query answers from then on
        w = weighted_engagement(mention.reposts or 0, mention.comments or 0, mention.views or 0, rule)
        times.append(published_at)
        values.append(w * reach_factor(mention.author_reach, rule))

    def usual(self, channel: str, now: datetime) -> float | None:
        """The rule's usual for ``channel`` at ``now`` from what was kept, or ``None`` (ask the store)."""
        if not self.valid:
            return None
        times, values = self._kept.get(channel, ([], []))
        drop = bisect.bisect_left(times, now - self._keep - timedelta(days=1))
        if drop > 1024:  # older than any later call reads
            del times[:drop], values[:drop]
        lo = bisect.bisect_left(times, now - self._keep)
        hi = bisect.bisect_left(times, now - timedelta(hours=1))
        if hi - lo > _USUAL_LIMIT:
            lo = hi - _USUAL_LIMIT
            if times[lo] == times[lo - 1]:
                return None  # the query's limit cuts among posts of one instant: its pick is the store's
        rates = []
        for at, v in zip(times[lo:hi], values[lo:hi], strict=True):
            hours = min(3.0, max(1.0, (now - at).total_seconds() / 3600))
            rates.append(v / hours)
        return quantile(rates, self._rule.baseline_quantile) if len(rates) >= 20 else 0.0
