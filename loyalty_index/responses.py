"""Responses: which mentions need an answer from a brand, how urgent they are, and how fast brands answer.

The one-window promise (answer every platform within 24 hours, the most pressing first) as three steps:

1. **Needs an answer.** A counted mention linked to a brand that is negative toward it, or that asks it a
   question (:func:`is_question`), opens a case for that brand (:mod:`storage.cases`), due
   ``sla_hours`` after publication (``sla_hours_by_channel`` overrides per channel). Competitors get cases
   too (never in the queue, never alerted): that is how their reply times are known.
2. **Priority** is the Eisenhower quadrant of two yes/no questions. *Urgent*: the text has escalation words
   (a regulator, the media, a court...), the mention is in an open resonance alert, the author's reach is
   at least ``urgent_reach``, or it has gathered ``urgent_engagement`` likes, reposts and comments.
   *Important*: it is negative, the author has ``repeat_cases`` cases with the brand in ``repeat_days``,
   or the author's reach is at least ``influential_reach``. Urgency is re-checked while a case is open
   (alerts open, posts grow); importance is decided once.
3. **Answered** when one of the brand's own accounts replies in the thread (:func:`storage.cases.
   apply_brand_replies`), or when a person marks it. :func:`response_metrics` counts per brand, channel and
   day: ``needs_answer``, ``answered``, ``answered_in_sla`` and ``median_first_response_min``.

A question is recognised on the text alone (:mod:`core.text` tokens): a ``?`` anywhere; or a question
word opening a sentence or a clause (как, почему, когда, где, куда, откуда, сколько, зачем, кто, что,
какой, чем, разве, неужели; or ``ли`` as the second word: "работает ли"); or a request for an answer
anywhere (подскажите, скажите, объясните, ответьте, помогите, разъясните, посоветуйте). "Как всегда",
"как обычно", "что-то", "когда-нибудь" do not count. A clause such as "пришёл, когда банк закрылся" does:
a false question costs one look in the queue, a missed one a customer.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.text import TermMatcher, tokens
from loyalty_index.response_settings import ResponsesSettings
from storage.cases import (
    NewCase,
    apply_brand_replies,
    escalate_cases,
    open_cases,
    reopen_lost_replies,
    response_facts,
)
from storage.schema import Alert, CaseRow, MentionBrand, MentionRow, effective_label
from storage.store import Store

__all__ = [
    "RESPONSE_COLUMNS",
    "ResponseTracker",
    "ResponsesSettings",
    "is_question",
    "response_metrics",
    "summary_by_brand",
]


_QUESTION_OPENERS = frozenset(
    {
        "как", "почему", "когда", "где", "куда", "откуда", "сколько", "зачем", "кто", "что", "какой",
        "какая", "какое", "какие", "каким", "какую", "чем", "чего", "отчего", "разве", "неужели",
    }
)  # fmt: skip
_ASKING = frozenset(
    {"подскажите", "скажите", "объясните", "ответьте", "помогите", "разъясните", "посоветуйте"}
)
_NOT_QUESTIONS = re.compile(r"\b(как всегда|как обычно|что[- ]то|когда[- ]нибудь|как будто|что ли бы)\b")
#: Sentences and clauses: "Поляр Банк, когда вернёте деньги" asks after an address and a comma.
_CLAUSE = re.compile(r"[.!…\n,;:—]+")


def is_question(text: str) -> bool:
    """Whether ``text`` asks something (see the module docstring for the rule)."""
    if "?" in text:
        return True
    lowered = _NOT_QUESTIONS.sub(" ", text.lower())
    for sentence in _CLAUSE.split(lowered):
        words = tokens(sentence)
        if not words:
            continue
        if words[0] in _QUESTION_OPENERS or (len(words) > 1 and words[1] == "ли"):
            return True
        if any(w in _ASKING for w in words):
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Link:
    mention_id: int
    brand: str
    channel: str
    published_at: datetime
    label: str
    text: str
    author: str | None
    author_id: str | None
    author_reach: int | None
    engagement: int


class ResponseTracker:
    """Opens cases for freshly tagged mentions and keeps them in step with the brands' replies.

    ``brands`` are (name, own) pairs; ``escalation_terms`` are added to the settings' escalation words
    (the app passes the alert rules' regulators, media and demands). Plug :meth:`after_tag` into the
    pipeline before the alert engine, and call :meth:`sync` every minute or so.
    """

    def __init__(
        self,
        store: Store,
        settings: ResponsesSettings,
        brands: Sequence[tuple[str, bool]],
        escalation_terms: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.settings = settings
        self.own = {name: own for name, own in brands}
        words = list(dict.fromkeys([*settings.escalation_words, *escalation_terms]))
        self._escalation = TermMatcher({"escalation": words}) if words else None

    def after_tag(self, mention_ids: Sequence[int], now: datetime) -> list[int]:
        """Open the cases the batch calls for, then :meth:`sync`; returns the ids of cases opened."""
        if not self.settings.enabled or not self.own:
            return []
        opened = open_cases(self.store, self.needing_answer(mention_ids, now), now) if mention_ids else []
        self.sync(now)
        return opened

    def sync(self, now: datetime) -> int:
        """Apply brand replies (found or lost) and re-check urgency of open cases; returns cases changed."""
        if not self.settings.enabled:
            return 0
        changed = reopen_lost_replies(self.store, now)
        changed += apply_brand_replies(self.store, now)
        changed += self._escalate(now)
        return changed

    # -- deciding -------------------------------------------------------------------------------------

    def needing_answer(self, mention_ids: Sequence[int], now: datetime) -> list[NewCase]:
        """The cases ``mention_ids`` call for (not yet stored; :func:`storage.cases.open_cases` stores)."""
        s = self.settings
        links = self._links(mention_ids)
        repeaters = self._repeat_authors(links, now)
        in_alerts = self._open_alert_mentions() if links else set()
        out: list[NewCase] = []
        for lk in links:
            if lk.channel in s.unanswerable_channels:
                continue
            negative = lk.label == "negative"
            if negative:
                reason = "negative"
            elif is_question(lk.text):
                reason = "question"
            else:
                continue
            reach = lk.author_reach or 0
            urgent = (
                reach >= s.urgent_reach
                or lk.engagement >= s.urgent_engagement
                or self._escalates(lk.text)
                or lk.mention_id in in_alerts
            )
            important = negative or reach >= s.influential_reach or (lk.brand, _who(lk)) in repeaters
            out.append(
                NewCase(
                    mention_id=lk.mention_id,
                    brand=lk.brand,
                    own=self.own.get(lk.brand, False),
                    channel=lk.channel,
                    reason=reason,
                    urgent=urgent,
                    important=important,
                    published_at=lk.published_at,
                    due_at=lk.published_at + s.sla(lk.channel),
                )
            )
        return out

    def _escalates(self, text: str) -> bool:
        return self._escalation is not None and bool(self._escalation.find(text))

    def _links(self, mention_ids: Sequence[int]) -> list[_Link]:
        m = MentionRow
        engagement = func.coalesce(m.likes, 0) + func.coalesce(m.reposts, 0) + func.coalesce(m.comments, 0)
        out: list[_Link] = []
        with self.store.engine.connect() as conn:
            for start in range(0, len(mention_ids), 500):
                chunk = list(mention_ids[start : start + 500])
                rows = conn.execute(
                    select(
                        MentionBrand.mention_id,
                        MentionBrand.brand,
                        MentionBrand.channel,
                        MentionBrand.published_at,
                        effective_label(),
                        m.text,
                        m.author,
                        m.author_id,
                        m.author_reach,
                        engagement,
                    )
                    .join(m, m.id == MentionBrand.mention_id)
                    .where(
                        MentionBrand.mention_id.in_(chunk),
                        MentionBrand.counted.is_(True),
                        MentionBrand.brand.in_(list(self.own)),
                        m.reply_brand.is_(None),
                    )
                    .order_by(MentionBrand.mention_id, MentionBrand.brand)
                ).all()
                out.extend(_Link(*tuple(r)) for r in rows)
        return out

    def _repeat_authors(self, links: Sequence[_Link], now: datetime) -> set[tuple[str, str]]:
        """(brand, author) pairs with ``repeat_cases`` or more cases (stored or in this batch) lately."""
        s = self.settings
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for lk in links:
            if (who := _who(lk)) is not None:
                counts[(lk.brand, who)] += 1
        if not counts:
            return set()
        since = now - timedelta(days=s.repeat_days)
        authors = sorted({who for _, who in counts})
        with self.store.engine.connect() as conn:
            for start in range(0, len(authors), 500):
                chunk = authors[start : start + 500]
                who_col = func.coalesce(MentionRow.author_id, MentionRow.author)
                rows = conn.execute(
                    select(CaseRow.brand, who_col, func.count())
                    .join(MentionRow, MentionRow.id == CaseRow.mention_id)
                    .where(who_col.in_(chunk), CaseRow.published_at >= since)
                    .group_by(CaseRow.brand, who_col)
                ).all()
                for brand, who, n in rows:
                    if (brand, who) in counts:
                        counts[(brand, who)] += int(n)
        return {key for key, n in counts.items() if n >= s.repeat_cases}

    def _open_alert_mentions(self) -> set[int]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(Alert.mention_ids).where(Alert.state.in_(("open", "acknowledged")))
            ).all()
        ids: set[int] = set()
        for (value,) in rows:
            ids.update(int(i) for i in (value or {}).get("ids") or [])
        return ids

    def _escalate(self, now: datetime) -> int:
        """Open cases become urgent once their mention is in an open alert or has grown past the bar."""
        return escalate_cases(self.store, now, self.settings.urgent_engagement, self._open_alert_mentions())


def _who(lk: _Link) -> str | None:
    return lk.author_id or lk.author


RESPONSE_COLUMNS: tuple[str, ...] = (
    "day",
    "brand",
    "own",
    "channel",
    "needs_answer",
    "answered",
    "answered_in_sla",
    "median_first_response_min",
)


def response_metrics(
    store: Store,
    *,
    tz: str = "UTC",
    since: datetime | None = None,
    until: datetime | None = None,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Per brand (competitors included), channel and local day of publication: cases, answered ones, ones
    answered by their due time, and the median minutes to the first answer (of the answered ones)."""
    zone = ZoneInfo(tz)
    groups: dict[tuple[str, str, str], list[Any]] = {}
    own_of: dict[str, bool] = {}
    for brand, own, channel, published, due, first_reply in response_facts(
        store, since=since, until=until, brands=brands, channels=channels
    ):
        own_of[brand] = own
        day = published.astimezone(zone).date().isoformat()
        groups.setdefault((day, brand, channel), []).append((published, due, first_reply))
    rows: list[dict[str, Any]] = []
    for (day, brand, channel), facts in sorted(groups.items()):
        waits = [(r - p).total_seconds() / 60 for p, _, r in facts if r is not None]
        rows.append(
            {
                "day": day,
                "brand": brand,
                "own": own_of[brand],
                "channel": channel,
                "needs_answer": len(facts),
                "answered": len(waits),
                "answered_in_sla": sum(1 for _, d, r in facts if r is not None and r <= d),
                "median_first_response_min": round(statistics.median(waits), 1) if waits else None,
            }
        )
    return rows


def summary_by_brand(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Totals of :func:`response_metrics` rows per brand (the dashboard's comparison line)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        t = out.setdefault(r["brand"], {"needs_answer": 0, "answered": 0, "answered_in_sla": 0})
        for k in ("needs_answer", "answered", "answered_in_sla"):
            t[k] += r[k]
    return out
