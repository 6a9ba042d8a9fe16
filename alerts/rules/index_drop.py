"""``index_drop``: the loyalty index of the last ``period_days`` fell by ``drop`` against the period before.

Per brand, and per brand and channel with ``by_channel``: both periods need ``min_support`` positive and
negative mentions, and the drop must clear both Wilson intervals (this period's upper bound below the last
one's lower bound). A previous period that history covers less than half of is not compared: a week
against a day of history is noise. Numbers: ``index``, ``previous``, ``drop``, ``positive``,
``negative``, ``ci``; facts: ``drop``, ``channel``, ``period_days``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from alerts.lifecycle import Candidate
from alerts.rules.queries import FirstSeen
from alerts.settings import AlertsSettings
from loyalty_index.index import IndexPoint, index_window
from storage.store import Store

__all__ = ["RULE", "IndexDrop"]

RULE = "index_drop"


class IndexDrop:
    """The rule, run at most hourly by the engine (the index of a week moves slowly)."""

    def __init__(self, settings: AlertsSettings, brands: Sequence[str], first_seen: FirstSeen) -> None:
        self.settings = settings
        self.rule = settings.index_drop
        self.brands = list(brands)
        self.first_seen = first_seen

    def window(self, store: Store, since: datetime, until: datetime, by_channel: bool) -> list[IndexPoint]:
        """The brands' index over ``[since, until)`` (a backtest answers from running sums of its own)."""
        return index_window(store, since, until, self.brands, by_channel=by_channel)

    def find(self, store: Store, now: datetime) -> list[Candidate]:
        """Drops of this period's index against the last, overall and (``by_channel``) per channel."""
        rule = self.rule
        period = timedelta(days=rule.period_days)
        out: list[Candidate] = []
        with store.engine.connect() as conn:
            ready = {b for b in self.brands if (f := self.first_seen(conn, b)) and now - f >= 1.5 * period}
        for by_channel in [False, True] if rule.by_channel else [False]:
            cur = {(p.brand, p.channel): p for p in self.window(store, now - period, now, by_channel)}
            prev = {
                (p.brand, p.channel): p
                for p in self.window(store, now - 2 * period, now - period, by_channel)
            }
            for key, c in cur.items():
                p = prev.get(key)
                if c.brand not in ready or p is None or c.index is None or p.index is None:
                    continue
                if c.support < rule.min_support or p.support < rule.min_support:
                    continue
                drop = p.index - c.index
                if drop < rule.drop or c.ci_high is None or p.ci_low is None or c.ci_high >= p.ci_low:
                    continue
                out.append(
                    Candidate(
                        rule=RULE,
                        brand=c.brand,
                        channel=c.channel,
                        key="index",
                        quiet_hours=rule.period_days * 24,
                        severity="critical" if drop >= 2 * rule.drop else "warning",
                        numbers={
                            "index": round(c.index, 3),
                            "previous": round(p.index, 3),
                            "drop": round(drop, 3),
                            "positive": c.positive,
                            "negative": c.negative,
                            "ci": f"{c.ci_low:.2f}..{c.ci_high:.2f}",
                        },
                        facts={"drop": drop, "channel": c.channel, "period_days": rule.period_days},
                        mention_ids=[],
                        magnitude=drop,
                    )
                )
        return out
