"""``repeat_complainer``: one author with ``complaints`` negative threads about a brand within ``days``.

Per author of a fresh counted negative mention: count the threads of her negative mentions of the brand in
the period (comments in one thread are one complaint), and check she is unhappy rather than prolific (at
least ``min_negative_share`` of her mentions of the brand negative). Names like "Светлана К." identify
nobody and are skipped. Numbers: ``complaints``, ``days``, ``channels``; facts: ``author``, ``complaints``,
``days``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.rules.queries import Link, top_mentions
from alerts.settings import AlertsSettings
from storage.schema import MentionBrand, MentionRow, effective_label

__all__ = ["RULE", "AuthorRow", "RepeatComplainer"]

RULE = "repeat_complainer"


class AuthorRow(Protocol):
    """One of an author's complaints as the rule reads it (a query row, or a backtest's own record)."""

    @property
    def id(self) -> int: ...
    @property
    def parent_external_id(self) -> str | None: ...
    @property
    def channel(self) -> str: ...


class RepeatComplainer:
    """The rule over a tagged batch's counted negative links."""

    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings
        self.rule = settings.repeat_complainer
        pattern = self.rule.ambiguous_author_pattern
        self._ambiguous = re.compile(pattern) if pattern else None

    def find(self, conn: Connection, negative: Sequence[Link], now: datetime) -> list[Candidate]:
        """Candidates for the authors of ``negative``, in (brand, author) order."""
        rule = self.rule
        since = now - timedelta(days=rule.days)
        out: list[Candidate] = []
        for brand, author in sorted({(lk.brand, lk.author) for lk in negative if lk.author}):
            if self._ambiguous is not None and self._ambiguous.fullmatch(author):
                continue  # "Светлана К." on a review site is many people, not one complainer
            rows = self.negative_rows(conn, brand, author, since, now)
            # Comments in one thread are one complaint: count threads (own posts, or the post answered).
            threads = {r.parent_external_id or f"#{r.id}" for r in rows}
            if len(threads) < rule.complaints:
                continue
            everything = self.all_count(conn, brand, author, since, now)
            if len(rows) < rule.min_negative_share * everything:
                continue  # a prolific author with mixed feelings, not an unhappy customer
            ids = sorted(r.id for r in rows)
            channels = sorted({r.channel for r in rows})
            out.append(
                Candidate(
                    rule=RULE,
                    brand=brand,
                    channel=channels[0] if len(channels) == 1 else None,
                    key=f"author:{author}",
                    quiet_hours=rule.days * 24,
                    severity="critical" if len(threads) >= 2 * rule.complaints else "warning",
                    numbers={"complaints": len(threads), "days": rule.days, "channels": ", ".join(channels)},
                    facts={"author": author, "complaints": len(threads), "days": rule.days},
                    mention_ids=ids,
                    magnitude=float(len(threads)),
                    top=top_mentions(conn, ids, self.settings.top_mentions),
                )
            )
        return out

    def negative_rows(
        self, conn: Connection, brand: str, author: str, since: datetime, now: datetime
    ) -> Sequence[AuthorRow]:
        """The author's counted negative mentions of ``brand`` published in ``[since, now]``."""
        return conn.execute(
            select(MentionRow.id, MentionRow.parent_external_id, MentionRow.channel)
            .join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
            .where(and_(_mine(brand, author, since, now), effective_label() == "negative"))
        ).all()

    def all_count(self, conn: Connection, brand: str, author: str, since: datetime, now: datetime) -> int:
        """How many counted mentions of ``brand`` the author published in ``[since, now]``, any label."""
        return int(
            conn.execute(
                select(func.count())
                .select_from(MentionRow)
                .join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
                .where(_mine(brand, author, since, now))
            ).scalar_one()
        )


def _mine(brand: str, author: str, since: datetime, now: datetime) -> ColumnElement[bool]:
    return and_(
        MentionRow.author == author,
        MentionBrand.brand == brand,
        MentionBrand.counted.is_(True),
        MentionBrand.published_at >= since,
        MentionBrand.published_at <= now,
    )
