"""``copies_across_channels``: near-identical copies of one negative post appear from other authors.

A copy carries at least ``containment`` of the words of an original of at least ``min_words`` words
(:func:`~alerts.rules.texts.contains`); exact repost copies (``duplicate_of``) count too, copies by the
original's author do not. Per fresh complaint: find the original it copies among the last ``hours`` (or
itself), gather every copy of that original and alert at ``min_copies``. Numbers: ``copies``,
``channels``, ``channel_list``; facts: ``copies`` and the ``channels``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.rules.queries import Link, top_mentions
from alerts.rules.texts import Recent, contains
from alerts.settings import AlertsSettings
from storage.schema import MentionRow

__all__ = ["RULE", "CopiesAcrossChannels", "CopiesScan"]

RULE = "copies_across_channels"


class CopiesAcrossChannels:
    """The rule; :meth:`scan` starts the comparison of one brand's fresh complaints with its recent ones."""

    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings
        self.rule = settings.copies_across_channels

    @property
    def enabled(self) -> bool:
        return self.rule.enabled

    def copies(self, text: frozenset[str], original: frozenset[str]) -> bool:
        """``text`` is a copy of ``original`` by this rule's measure."""
        return contains(text, original, self.rule.min_words, self.rule.containment)

    def scan(self, conn: Connection, brand: str, recent: Sequence[Recent], now: datetime) -> CopiesScan:
        """A scan over ``recent`` (the brand's complaints, newest first) for the batch at ``now``."""
        return CopiesScan(self, conn, brand, recent, now)

    def candidate(self, conn: Connection, brand: str, cluster: Sequence[Recent]) -> Candidate | None:
        """The alert for an original and its copies, when there are ``min_copies`` copies."""
        rule = self.rule
        if len(cluster) < 2:
            return None
        ordered = sorted(cluster, key=lambda r: (r.published_at, r.id))
        root = ordered[0]
        copies = [r for r in ordered[1:] if r.author is None or r.author != root.author]
        exact = conn.execute(
            select(func.count())
            .select_from(MentionRow)
            .where(MentionRow.duplicate_of.in_([r.id for r in ordered]))
        ).scalar_one()
        n_copies = len(copies) + int(exact)
        if n_copies < rule.min_copies:
            return None
        channels = sorted({r.channel for r in ordered})
        ids = [r.id for r in ordered]
        return Candidate(
            rule=RULE,
            brand=brand,
            channel=root.channel if len(channels) == 1 else None,
            key=f"mention:{root.id}",
            quiet_hours=rule.hours,
            severity="critical" if n_copies >= rule.critical_copies else "warning",
            numbers={"copies": n_copies, "channels": len(channels), "channel_list": ", ".join(channels)},
            facts={"copies": n_copies, "channels": channels},
            mention_ids=ids,
            magnitude=float(n_copies),
            top=top_mentions(conn, ids, self.settings.top_mentions),
        )


class CopiesScan:
    """One brand's batch: each fresh complaint is checked once, and a cluster found is not searched again."""

    def __init__(
        self,
        rule: CopiesAcrossChannels,
        conn: Connection,
        brand: str,
        recent: Sequence[Recent],
        now: datetime,
    ) -> None:
        self._rule = rule
        self._conn = conn
        self._brand = brand
        self._near = [r for r in recent if r.published_at >= now - timedelta(hours=rule.rule.hours)]
        self._done: set[int] = set()

    def check(self, lk: Link, words: frozenset[str]) -> Candidate | None:
        """The alert about the original ``lk`` copies (or is), if it has enough copies by now."""
        if lk.id in self._done:
            return None
        copies = self._rule.copies
        originals = [r for r in self._near if r.id == lk.id or copies(words, r.tokens)]
        if not originals:
            return None
        root = min(originals, key=lambda r: (r.published_at, r.id))
        cluster = [root, *(r for r in self._near if r.id != root.id and copies(r.tokens, root.tokens))]
        self._done.update(r.id for r in cluster)
        return self._rule.candidate(self._conn, self._brand, cluster)
