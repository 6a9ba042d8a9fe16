"""What an alert says, independent of the messenger: built from the stored alert row at send time.

The engine stores the alert's numbers, the facts its wording needs and its top mentions in
``alerts.details``; :meth:`AlertMessage.from_alert` words them in the reader's language
(:mod:`alerts.render`) and every sender formats the same :class:`AlertMessage`, so Telegram, Slack and
webhooks never disagree about why an alert fired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alerts.render import Language, alert_summary, alert_title
from alerts.wording import Evidence, why_sentence
from storage.schema import Alert

__all__ = ["SEVERITY_RANK", "AlertMessage", "TopMention", "evidence", "format_number"]

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
"""Severities in rising order: destinations receive alerts at or above their ``min_severity``."""


@dataclass(frozen=True, slots=True)
class TopMention:
    """One mention shown in the alert; ``copies`` are repost copies collapsed into it."""

    id: int
    text: str
    url: str | None = None
    author: str | None = None
    reach: int | None = None
    channel: str | None = None
    published_at: str | None = None
    copies: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TopMention:
        return cls(
            id=int(data["id"]),
            text=str(data.get("text") or ""),
            url=data.get("url"),
            author=data.get("author"),
            reach=data.get("reach"),
            channel=data.get("channel"),
            published_at=data.get("published_at"),
            copies=int(data.get("copies") or 0),
        )


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """An alert as people read it: who, where, how bad, why (the numbers) and the mentions to open.

    ``title`` and ``summary`` are already in ``language``, the language the messenger's labels use too.
    """

    alert_id: int
    version: int
    rule: str
    brand: str
    channel: str | None
    severity: str
    title: str
    state: str
    summary: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)
    top: tuple[TopMention, ...] = ()
    triggered_at: str = ""
    language: Language = "ru"
    body: str = ""
    """A message written in full (the digest): sent as it is instead of the alert's layout."""
    body_html: str = ""
    """The same, as Telegram HTML with every value escaped."""
    why: str = ""
    """One plain sentence for the messenger: who, where, what escalated, how it spreads, the reach."""
    count: int = 1
    """How many alerts this message stands for (a group of alerts of one brand and rule)."""
    alert_ids: tuple[int, ...] = ()
    """The alerts it stands for, when more than ``alert_id``."""
    link: str | None = None
    """Where to open it in the dashboard (``[dashboard] public_url``)."""
    status: str = ""
    """Who took it or muted it, and when, already worded ("✅ Взял Иван, 12:05")."""

    @property
    def is_update(self) -> bool:
        """Version 2 and later are updates of an alert already sent."""
        return self.version > 1

    @classmethod
    def from_alert(cls, alert: Alert, language: Language = "ru") -> AlertMessage:
        """The stored alert, worded in ``language``."""
        details = alert.details or {}
        return cls(
            alert_id=alert.id,
            version=alert.version,
            rule=alert.rule,
            brand=alert.brand,
            channel=alert.channel,
            severity=alert.severity,
            title=alert_title(alert.rule, alert.brand, details, alert.title, language),
            state=alert.state,
            summary=alert_summary(alert.rule, alert.brand, details, language),
            numbers=dict(details.get("numbers") or {}),
            top=tuple(TopMention.from_json(m) for m in details.get("top") or []),
            triggered_at=alert.triggered_at.isoformat(),
            language=language,
            body=str((details.get("body") or {}).get(language, "")),
            body_html=str((details.get("html") or {}).get(language, "")),
            why=why_sentence([evidence(alert)], language),
        )

    def numbers_text(self) -> str:
        """``name=value`` pairs, the rule's evidence, in one line."""
        return ", ".join(f"{k}={format_number(v)}" for k, v in self.numbers.items())


def evidence(alert: Alert) -> Evidence:
    """What the stored alert tells :func:`alerts.wording.why_sentence`."""
    details = alert.details or {}
    facts = details.get("facts")
    return Evidence(
        rule=alert.rule,
        channel=alert.channel,
        facts=facts if isinstance(facts, dict) else {},
        top=[m for m in details.get("top") or [] if isinstance(m, dict)],
    )


def format_number(value: Any) -> str:
    """Numbers short enough for a chat line: 2 decimals for fractions, thousands for counts."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.2f}"
    return str(value)
