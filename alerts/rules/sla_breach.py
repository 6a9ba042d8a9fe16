"""``sla_breach``: an own brand's case is past its due time, still open, and nobody has answered it.

Per overdue case (:func:`storage.cases.overdue_cases`): one alert whose key is the case, so however often
the engine runs it is opened once and then only touched (its numbers do not change while the case waits).
An answered, closed or ignored case stops triggering and the alert resolves after ``resolve_after_hours``;
should the case fall overdue again (its reply deleted), the alert reopens quietly within ``QUIET_HOURS``
instead of paging twice. Numbers: ``case``, ``channel``, ``due_at``, ``priority``, ``author_reach``;
facts: ``case``, ``channel``, ``hours`` (the promised answer time).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.settings import AlertsSettings
from storage.cases import overdue_cases
from storage.schema import Alert

__all__ = ["QUIET_HOURS", "RULE", "SlaBreach"]

RULE = "sla_breach"

#: A breach of the same case within a month is the same story: reopened silently, never paged again.
QUIET_HOURS = 30 * 24.0


class SlaBreach:
    """The rule over the stored cases, run with the time rules (``evaluate_periodic``)."""

    def __init__(self, settings: AlertsSettings, brands: list[str]) -> None:
        self.settings = settings
        self.rule = settings.sla_breach
        self.brands = set(brands)

    def _fresh(self, conn: Connection, now: datetime) -> dict[str, object]:
        """Open breach alerts touched within a quarter of ``resolve_after_hours``: key -> stored priority.

        A waiting case's alert only needs touching now and then to stay open; touching every one of them on
        every run made each run cost as much as all the overdue cases together (thousands in a month of
        unanswered complaints). A case whose priority changed is still offered at once.
        """
        since = now - timedelta(hours=self.settings.resolve_after_hours / 4)
        rows = conn.execute(
            select(Alert.dedup_key, Alert.details).where(
                Alert.rule == RULE,
                Alert.state.in_(("open", "acknowledged")),
                Alert.triggered_at >= since,
            )
        ).all()
        return {key: ((details or {}).get("numbers") or {}).get("priority") for key, details in rows}

    def find(self, conn: Connection, now: datetime) -> list[Candidate]:
        """One candidate per overdue own case of a brand the engine alerts on (not touched lately)."""
        out: list[Candidate] = []
        fresh = self._fresh(conn, now)
        for case in overdue_cases(conn, now):
            if case.brand not in self.brands:
                continue
            hours = round((case.due_at - case.published_at).total_seconds() / 3600, 1)
            cand = Candidate(
                rule=RULE,
                brand=case.brand,
                channel=case.channel,
                key=f"case{case.id}",
                severity=self.rule.important_severity if case.priority <= 2 else self.rule.severity,
                numbers={
                    "case": case.id,
                    "channel": case.channel,
                    "due_at": case.due_at.isoformat(timespec="minutes"),
                    "priority": case.priority,
                    "author_reach": case.author_reach or 0,
                },
                facts={"case": case.id, "channel": case.channel, "hours": hours},
                mention_ids=[case.mention_id],
                top=[
                    {
                        "id": case.mention_id,
                        "text": case.text[:1000],
                        "url": case.url,
                        "author": case.author,
                        "reach": case.author_reach,
                        "channel": case.channel,
                        "published_at": case.published_at.isoformat(),
                        "copies": 0,
                    }
                ],
                quiet_hours=QUIET_HOURS,
            )
            if cand.dedup_key in fresh and fresh[cand.dedup_key] == case.priority:
                continue  # its alert is open, touched lately and unchanged
            out.append(cand)
        return out
