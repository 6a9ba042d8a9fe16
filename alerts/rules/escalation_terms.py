"""``escalation_terms``: a negative mention names a regulator, the media, our CEO or a demand.

Per fresh negative mention (one per brand and story): match the brand's term lists on normal forms, skip
news articles that name fewer than ``news_min_kinds`` kinds, and raise one alert per complainer: her later
posts, their reposts and the comments under them update it. Numbers: ``kinds`` (how many), the matched
``<kind>_terms`` and the ``author_reach``; facts: the ``kinds`` named, in a fixed order.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.rules.queries import Link, stories, top_mentions
from alerts.settings import AlertBrand, AlertsSettings, Severity
from core.text import TermMatcher

__all__ = ["KINDS", "RULE", "EscalationTerms", "severity"]

RULE = "escalation_terms"

KINDS = ("regulator", "media", "ceo", "demand")
"""Kinds of terms in the order alerts name them; ``demand`` alone is not serious."""


def severity(kinds: Sequence[str], critical_kinds: int) -> Severity:
    """Critical at ``critical_kinds`` kinds, warning for any serious kind, info for a demand alone."""
    if any(k != "demand" for k in kinds):
        return "critical" if len(kinds) >= critical_kinds else "warning"
    return "info"


def _matcher(brand: AlertBrand, settings: AlertsSettings) -> TermMatcher:
    esc = settings.escalation_terms
    people = list(brand.people)
    people += [p.split()[-1] for p in brand.people if len(p.split()) > 1]  # the surname alone
    return TermMatcher(
        {
            "regulator": esc.regulators,
            "media": esc.media,
            "ceo": people,
            "demand": [*esc.demands, *esc.extra_terms],
        }
    )


class EscalationTerms:
    """The rule over a tagged batch; holds one term matcher per brand (built once, they are not cheap)."""

    def __init__(self, settings: AlertsSettings, brands: Sequence[AlertBrand]) -> None:
        self.settings = settings
        self.rule = settings.escalation_terms
        self._matchers = {b.name: _matcher(b, settings) for b in brands}

    def find(self, conn: Connection, negative: Sequence[Link]) -> list[Candidate]:
        """Candidates for the batch's negative links (counted or not: a repost that escalates counts)."""
        rule = self.rule
        out: list[Candidate] = []
        story_of = stories(conn, negative)
        seen: set[tuple[str, int]] = set()
        for lk in negative:
            if (lk.brand, lk.root) in seen:
                continue
            seen.add((lk.brand, lk.root))
            story = story_of[lk.id]
            found = self._matchers[lk.brand].find(lk.text)
            kinds = [k for k in KINDS if k in found]
            if not kinds:
                continue
            if lk.channel in rule.news_channels and len(kinds) < rule.news_min_kinds:
                continue  # an article naming the regulator is news, not a complaint escalating
            # One case per complainer: her later posts, their reposts and the comments under them update it.
            key = f"author:{story.author}" if story.author else f"mention:{story.root}"
            ids = sorted({story.root, lk.root})
            out.append(
                Candidate(
                    rule=RULE,
                    brand=lk.brand,
                    channel=story.channel or lk.channel,
                    key=key,
                    severity=severity(kinds, rule.critical_kinds),
                    numbers={
                        "kinds": len(kinds),
                        **{f"{k}_terms": ", ".join(found[k]) for k in kinds},
                        "author_reach": lk.reach or 0,
                    },
                    facts={"kinds": kinds},
                    mention_ids=ids,
                    magnitude=float(len(kinds)),
                    top=top_mentions(conn, ids, self.settings.top_mentions),
                )
            )
        return out
