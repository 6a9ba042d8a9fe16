"""``sla_breach``: an own brand's case is past its due time, still open, and nobody has answered it.

Per overdue case (:func:`storage.cases.overdue_cases`): one alert whose key is the case, so however often
the engine runs it is opened once and then only touched (its numbers do not change while the case waits).
An answered, closed or ignored case stops triggering and the alert resolves after ``resolve_after_hours``;
should the case fall overdue again (its reply deleted), the alert reopens quietly within ``QUIET_HOURS``
instead of paging twice. Numbers: ``case``, ``channel``, ``due_at``, ``priority``, ``author_reach``;
facts: ``case``, ``channel``, ``hours`` (the promised answer time).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.settings import AlertsSettings
from storage.cases import overdue_cases

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

    def find(self, conn: Connection, now: datetime) -> list[Candidate]:
        """One candidate per overdue own case of a brand the engine alerts on."""
        out: list[Candidate] = []
        for case in overdue_cases(conn, now):
            if case.brand not in self.brands:
                continue
            hours = round((case.due_at - case.published_at).total_seconds() / 3600, 1)
            out.append(
                Candidate(
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
            )
        return out
