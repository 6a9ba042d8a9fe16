"""``engagement_growth``: a negative story whose engagement grows far faster than its channel's usual.

Growth is reposts, comments and views per hour, weighted (:func:`weighted_engagement`), measured between
engagement snapshots over about the last hour, plus exact copies published in the last hour, and scaled by
the author's reach (:func:`reach_factor`). The channel's usual is a high quantile of its posts' weighted
engagement per hour over their first hours (:func:`quantile`). Fires at ``factor`` x the usual and at least
``min_growth``; one alert per story. Numbers: ``growth_per_hour``, ``usual_per_hour``, ``ratio``,
``story_growth_per_hour``, ``reposts_per_hour``, ``comments_per_hour``, ``views_per_hour``,
``copies_last_hour``, ``author_reach``; facts: the ``channel`` of the loudest post.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.rules.queries import Link, chunks, link_query, stories, top_mentions
from alerts.settings import AlertsSettings, SpreadRule
from storage.schema import EngagementSnapshot, MentionBrand, MentionRow, effective_label

__all__ = [
    "RULE",
    "EngagementGrowth",
    "Growth",
    "Snapshot",
    "growth",
    "quantile",
    "reach_factor",
    "weighted_engagement",
]

RULE = "engagement_growth"


def reach_factor(reach: int | None, rule: SpreadRule) -> float:
    """``1 + log10(1 + reach / reach_scale)``: a big author's post spreads further per repost."""
    return 1.0 + math.log10(1.0 + max(0, reach or 0) / rule.reach_scale)


def weighted_engagement(reposts: float, comments: float, views: float, rule: SpreadRule) -> float:
    """Reposts, comments and views folded into one number with the rule's weights."""
    return (
        max(0.0, reposts) * rule.repost_weight
        + max(0.0, comments) * rule.comment_weight
        + max(0.0, views) * rule.view_weight
    )


def quantile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile (linear interpolation); 0 for no values."""
    data = sorted(values)
    if not data:
        return 0.0
    pos = q * (len(data) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Engagement counters of a mention as observed at one time."""

    at: datetime
    reposts: int
    comments: int
    views: int


@dataclass(frozen=True, slots=True)
class Growth:
    """Weighted engagement per hour, and the raw per-hour changes it was made of."""

    weighted: float
    reposts: float = 0.0
    comments: float = 0.0
    views: float = 0.0


def growth(published_at: datetime, current: Snapshot, snaps: Sequence[Snapshot], rule: SpreadRule) -> Growth:
    """Growth per hour over about the last hour, from publication (zero) and the snapshots.

    ``current`` are the stored counters at ``now``, used when there are no snapshots. At least an hour is
    measured: a post seen minutes after publication would otherwise show any like as a storm. Nothing
    observed for two hours means not spreading now.
    """
    now = current.at
    points = [Snapshot(published_at, 0, 0, 0)] + [s for s in snaps if s.at >= published_at]
    if not snaps:
        points.append(current)
    last = points[-1]
    if now - last.at > timedelta(hours=2):
        return Growth(0.0)
    ref = points[0]
    for p in points[:-1]:
        if p.at <= last.at - timedelta(hours=1):
            ref = p
    hours = max(1.0, (last.at - ref.at).total_seconds() / 3600)
    d = (
        (last.reposts - ref.reposts) / hours,
        (last.comments - ref.comments) / hours,
        (last.views - ref.views) / hours,
    )
    return Growth(weighted_engagement(*d, rule), *d)


@dataclass(frozen=True, slots=True)
class _Hit:
    weighted: float
    usual: float
    link: Link
    growth: Growth


class EngagementGrowth:
    """The rule, per batch (the batch's negative stories) and periodically (every story that moved lately).

    Keeps each channel's usual for six hours: it is a quantile over two weeks and moves slowly.
    """

    def __init__(self, settings: AlertsSettings, brands: Sequence[str]) -> None:
        self.settings = settings
        self.rule = settings.engagement_growth
        self.brands = list(brands)
        self._usual: dict[str, tuple[datetime, float]] = {}

    def usual(self, conn: Connection, channel: str, now: datetime) -> float:
        """A high quantile of per-hour weighted engagement of the channel's mentions: its "usual"."""
        rule = self.rule
        cached = self._usual.get(channel)
        if cached is not None and timedelta(0) <= now - cached[0] < timedelta(hours=6):
            return cached[1]
        rows = conn.execute(
            select(
                MentionRow.reposts,
                MentionRow.comments,
                MentionRow.views,
                MentionRow.author_reach,
                MentionRow.published_at,
            )
            .where(
                and_(
                    MentionRow.channel == channel,
                    MentionRow.duplicate_of.is_(None),
                    MentionRow.published_at >= now - timedelta(days=rule.baseline_days),
                    MentionRow.published_at < now - timedelta(hours=1),
                )
            )
            .order_by(MentionRow.published_at.desc())
            .limit(20_000)
        ).all()
        rates = []
        for r in rows:
            # Growth happens in a post's first hours: the usual is its rate then, not a daily average.
            hours = min(3.0, max(1.0, (now - r.published_at).total_seconds() / 3600))
            w = weighted_engagement(r.reposts or 0, r.comments or 0, r.views or 0, rule)
            rates.append(w * reach_factor(r.author_reach, rule) / hours)
        usual = quantile(rates, rule.baseline_quantile) if len(rates) >= 20 else 0.0
        self._usual[channel] = (now, usual)
        return usual

    def _rows(self, conn: Connection, now: datetime, roots: Sequence[int] | None) -> list[Any]:
        """Counted negative links young enough to watch: of ``roots``, or every one that moved lately."""
        recent = now - timedelta(hours=2)
        q = (
            link_query(self.brands)
            .where(
                and_(
                    MentionBrand.counted.is_(True),
                    effective_label() == "negative",
                    MentionRow.published_at >= now - timedelta(hours=self.rule.max_age_hours),
                    MentionRow.published_at <= now,
                )
            )
            .add_columns(
                MentionRow.reposts.label("reposts"),
                MentionRow.comments.label("comments"),
                MentionRow.views.label("views"),
            )
        )
        if roots is not None:
            rows: list[Any] = []
            for chunk in chunks(list(roots)):
                rows += conn.execute(q.where(MentionRow.id.in_(chunk))).all()
            return rows
        copied = select(MentionRow.duplicate_of).where(
            and_(
                MentionRow.duplicate_of.is_not(None),
                MentionRow.published_at >= recent,
                MentionRow.published_at <= now,
            )
        )
        snap = select(EngagementSnapshot.mention_id).where(
            and_(EngagementSnapshot.observed_at >= recent, EngagementSnapshot.observed_at <= now)
        )
        return list(
            conn.execute(
                q.where(
                    or_(MentionRow.published_at >= recent, MentionRow.id.in_(snap), MentionRow.id.in_(copied))
                )
            ).all()
        )

    def _observations(
        self, conn: Connection, ids: Sequence[int], now: datetime
    ) -> tuple[dict[int, list[Snapshot]], dict[int, int]]:
        """Snapshots of the last four hours, oldest first, and exact copies of the last hour, per mention."""
        snaps: dict[int, list[Snapshot]] = defaultdict(list)
        copies: dict[int, int] = defaultdict(int)
        for chunk in chunks(ids):
            for s in conn.execute(
                select(
                    EngagementSnapshot.mention_id,
                    EngagementSnapshot.observed_at,
                    EngagementSnapshot.reposts,
                    EngagementSnapshot.comments,
                    EngagementSnapshot.views,
                )
                .where(
                    and_(
                        EngagementSnapshot.mention_id.in_(chunk),
                        EngagementSnapshot.observed_at >= now - timedelta(hours=4),
                        EngagementSnapshot.observed_at <= now,
                    )
                )
                .order_by(EngagementSnapshot.observed_at)
            ).all():
                snaps[s.mention_id].append(
                    Snapshot(s.observed_at, s.reposts or 0, s.comments or 0, s.views or 0)
                )
            for r in conn.execute(
                select(MentionRow.duplicate_of.label("root"), func.count().label("n"))
                .where(
                    and_(
                        MentionRow.duplicate_of.in_(chunk),
                        MentionRow.published_at >= now - timedelta(hours=1),
                        MentionRow.published_at <= now,
                    )
                )
                .group_by(MentionRow.duplicate_of)
            ).all():
                if r.root is not None:
                    copies[int(r.root)] = int(r.n)
        return snaps, copies

    def find(self, conn: Connection, now: datetime, roots: Sequence[int] | None) -> list[Candidate]:
        """Negative stories whose weighted engagement grows far faster than the channel's usual.

        ``roots``: only these mentions (a fresh batch's stories); ``None``: every story that moved lately.
        """
        rule = self.rule
        rows = self._rows(conn, now, roots)
        if not rows:
            return []
        snaps, copies = self._observations(conn, sorted({r.id for r in rows}), now)
        links = {(lk.brand, lk.id): lk for lk in (Link.from_row(r) for r in rows)}
        counters = {r.id: Snapshot(now, r.reposts or 0, r.comments or 0, r.views or 0) for r in rows}
        story_of = stories(conn, list(links.values()))
        root_channels: dict[int, str] = {}
        # Per story: the loud post, its copies elsewhere and the replies spread as one case.
        hits: dict[tuple[str, int], list[_Hit]] = defaultdict(list)
        for link_key in sorted(links):
            lk = links[link_key]
            g = growth(lk.published_at, counters[lk.id], snaps.get(lk.id, []), rule)
            weighted = (g.weighted + copies.get(lk.id, 0) * rule.repost_weight) * reach_factor(lk.reach, rule)
            usual = self.usual(conn, lk.channel, now)
            # No baseline yet (a new install, a quiet channel): the channel's usual is unknown, not zero;
            # take it as ``min_growth`` so the first ordinary article with a few reposts does not page.
            if weighted < max(rule.min_growth, rule.factor * (usual or rule.min_growth)):
                continue
            story = story_of[lk.id]
            hits[(lk.brand, story.root)].append(_Hit(weighted, usual, lk, g))
            root_channels[story.root] = story.channel or lk.channel
        out: list[Candidate] = []
        for (brand, root), found in sorted(hits.items(), key=lambda kv: kv[0]):
            top = max(found, key=lambda h: h.weighted)
            lk, g, usual = top.link, top.growth, top.usual
            total = sum(h.weighted for h in found)
            ratio = top.weighted / usual if usual > 0 else top.weighted / rule.min_growth
            ids = sorted({root, *(h.link.id for h in found)})
            out.append(
                Candidate(
                    rule=RULE,
                    brand=brand,
                    channel=root_channels[root],
                    key=f"story:{root}",
                    severity="critical" if ratio >= rule.critical_factor else "warning",
                    numbers={
                        "growth_per_hour": round(top.weighted, 1),
                        "usual_per_hour": round(usual, 1),
                        "ratio": round(ratio, 1) if usual > 0 else "new",
                        "story_growth_per_hour": round(total, 1),
                        "reposts_per_hour": round(g.reposts, 1),
                        "comments_per_hour": round(g.comments, 1),
                        "views_per_hour": round(g.views, 1),
                        "copies_last_hour": copies.get(lk.id, 0),
                        "author_reach": lk.reach or 0,
                    },
                    facts={"channel": lk.channel},
                    mention_ids=ids,
                    magnitude=total,
                    top=top_mentions(conn, ids, self.settings.top_mentions),
                )
            )
        return out
