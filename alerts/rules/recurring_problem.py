"""``recurring_problem``: similar complaints from different people, more than the usual for that complaint.

Per fresh complaint of three words or more: the complaints of the last ``days`` within ``similarity``
(Jaccard of word sets, :func:`~alerts.rules.texts.jaccard`) of it, copies excluded (they are
:mod:`.copies_across_channels`' business), counted as distinct threads by distinct authors, against the
same kind of complaint in the ``baseline_days`` before: what people always complain about is the baseline.
The rule waits until the brand has ``days + baseline_days`` of history. Numbers: ``authors``,
``mentions``, ``words``, ``expected_authors``, ``similarity``; facts: ``authors``, ``days``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.rules.queries import FirstSeen, Link, top_mentions
from alerts.rules.texts import Recent, jaccard
from alerts.settings import AlertsSettings
from storage.schema import Alert

__all__ = ["RULE", "RecurringProblem", "RecurringScan", "signature"]

RULE = "recurring_problem"


def signature(similar: Sequence[Recent], size: int = 4) -> list[str]:
    """A stable name for a problem: its ``size`` most shared words, sorted."""
    counts: dict[str, int] = defaultdict(int)
    for r in similar:
        for w in r.tokens:
            counts[w] += 1
    return sorted(sorted(counts, key=lambda w: (-counts[w], w))[:size])


class RecurringProblem:
    """The rule; :meth:`scan` starts the comparison of one brand's fresh complaints with its recent ones.

    ``is_copy(a, b)`` says whether ``a`` is a copy of ``b`` (the copies rule's measure): copies are one
    complaint spreading, not several people.
    """

    def __init__(
        self,
        settings: AlertsSettings,
        first_seen: FirstSeen,
        is_copy: Callable[[frozenset[str], frozenset[str]], bool],
    ) -> None:
        self.settings = settings
        self.rule = settings.recurring_problem
        self.first_seen = first_seen
        self.is_copy = is_copy

    @property
    def enabled(self) -> bool:
        return self.rule.enabled

    @property
    def history_days(self) -> float:
        """How far back the rule compares: the window and the baseline before it."""
        return self.rule.days + self.rule.baseline_days

    def scan(self, conn: Connection, brand: str, recent: Sequence[Recent], now: datetime) -> RecurringScan:
        """A scan over ``recent`` (the brand's complaints, newest first) for the batch at ``now``."""
        return RecurringScan(self, conn, brand, recent, now)

    def candidate(
        self, conn: Connection, brand: str, similar: Sequence[Recent], earlier_authors: int, now: datetime
    ) -> Candidate | None:
        """An alert when a problem is new or rising: complaints people always make are the baseline."""
        rule = self.rule
        # Distinct threads by distinct people: a pile-on under one post is one story, not a pattern.
        threads: dict[str, str] = {}
        for r in similar:
            threads.setdefault(r.thread, r.author or f"#{r.id}")
        authors = set(threads.values())
        expected = earlier_authors * rule.days / rule.baseline_days
        if len(authors) < rule.min_authors or len(authors) < rule.rise * max(expected, 1.0):
            return None
        ids = sorted(r.id for r in similar)
        # Next week's complaints about the same thing update this alert instead of opening another.
        words = signature(similar)
        key = self.known_problem(conn, brand, ids, now) or "words:" + "+".join(words)
        return Candidate(
            rule=RULE,
            brand=brand,
            channel=None,
            key=key,
            quiet_hours=rule.baseline_days * 24,
            severity="warning",
            numbers={
                "authors": len(authors),
                "mentions": len(ids),
                "words": ", ".join(words),
                "expected_authors": round(expected, 1),
                "similarity": rule.similarity,
            },
            facts={"authors": len(authors), "days": rule.days},
            mention_ids=ids,
            magnitude=float(len(authors)),
            top=top_mentions(conn, ids, self.settings.top_mentions),
        )

    def known_problem(self, conn: Connection, brand: str, ids: Sequence[int], now: datetime) -> str | None:
        """The key of a recurring problem already reported that shares a quarter of ``ids``, if any.

        The most shared words of a cluster depend on which complaint seeded it, so one app failure told
        in a hundred ways would otherwise open a dozen alerts with different names. Complaints already in
        an alert of the last ``baseline_days`` mean the same problem: update that alert.
        """
        mine = set(ids)
        prefix = f"{RULE}:{brand}:*:"
        rows = conn.execute(
            select(Alert.dedup_key, Alert.mention_ids)
            .where(
                and_(
                    Alert.rule == RULE,
                    Alert.brand == brand,
                    Alert.triggered_at >= now - timedelta(days=self.rule.baseline_days),
                )
            )
            .order_by(Alert.id)
        ).all()
        for r in rows:
            known = set((r.mention_ids or {}).get("ids") or [])
            if r.dedup_key.startswith(prefix) and len(mine & known) * 4 >= len(mine):
                return str(r.dedup_key[len(prefix) :])
        return None


class RecurringScan:
    """One brand's batch: complaints already in a cluster are not searched again."""

    def __init__(
        self, rule: RecurringProblem, conn: Connection, brand: str, recent: Sequence[Recent], now: datetime
    ) -> None:
        self._rule = rule
        self._conn = conn
        self._brand = brand
        self._now = now
        first = rule.first_seen(conn, brand)
        # Without a full baseline every common complaint looks new: wait until there is one.
        self._ready = first is not None and now - first >= timedelta(days=rule.history_days)
        cut = now - timedelta(days=rule.rule.days)
        self._window = [r for r in recent if r.published_at >= cut]
        self._before = [r for r in recent if r.published_at < cut]
        self._done: set[int] = set()

    def check(self, lk: Link, words: frozenset[str]) -> Candidate | None:
        """The alert about the problem ``lk`` complains of, if enough people complain of it now."""
        if not self._ready or lk.id in self._done or len(words) < 3:
            return None
        similarity = self._rule.rule.similarity
        is_copy = self._rule.is_copy

        def alike(r: Recent) -> bool:
            if r.id == lk.id:
                return True
            copy = is_copy(words, r.tokens) or is_copy(r.tokens, words)
            return not copy and jaccard(words, r.tokens) >= similarity

        similar = [r for r in self._window if alike(r)]
        self._done.update(r.id for r in similar)
        earlier = {r.thread for r in self._before if alike(r)}
        return self._rule.candidate(self._conn, self._brand, similar, len(earlier), self._now)
