"""Plain words for the messengers: a headline and one sentence a PR person reads in two seconds.

A rule's evidence (``details.numbers``) is for the dashboard and the webhook's JSON; a chat message says
who wrote, where, what escalated, how fast and to how many readers::

    group_title("escalation_terms", "Альфа", count=6, minutes=15, language="ru")
    # 'Альфа: 6 жалоб с эскалацией за 15 минут'
    why_sentence([...six alerts' facts and top mentions...], "ru")
    # '5 авторов во vk и telegram называют регулятор, СМИ и требование; +3 копии, охват 120 тыс.'

Every value that comes from a mention (author names, channels) is data, never markup: the senders escape
what this module returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.render import Language, all_channels

__all__ = ["Evidence", "group_title", "plural_ru", "span_words", "why_sentence"]

_NOUNS: dict[str, dict[Language, tuple[str, ...]]] = {
    # ru: one, few (2-4), many; en: one, many
    "escalation_terms": {
        "ru": ("жалоба с эскалацией", "жалобы с эскалацией", "жалоб с эскалацией"),
        "en": ("escalating complaint", "escalating complaints"),
    },
    "repeat_complainer": {
        "ru": ("повторная жалоба", "повторные жалобы", "повторных жалоб"),
        "en": ("repeat complaint", "repeat complaints"),
    },
    "recurring_problem": {
        "ru": ("повторяющаяся проблема", "повторяющиеся проблемы", "повторяющихся проблем"),
        "en": ("recurring problem", "recurring problems"),
    },
    "copies_across_channels": {
        "ru": ("копируемая жалоба", "копируемые жалобы", "копируемых жалоб"),
        "en": ("complaint being copied", "complaints being copied"),
    },
    "engagement_growth": {
        "ru": ("расходящаяся история", "расходящиеся истории", "расходящихся историй"),
        "en": ("negative story spreading", "negative stories spreading"),
    },
    "negative_spike": {
        "ru": ("всплеск негатива", "всплеска негатива", "всплесков негатива"),
        "en": ("negative spike", "negative spikes"),
    },
    "volume_spike": {
        "ru": ("всплеск упоминаний", "всплеска упоминаний", "всплесков упоминаний"),
        "en": ("mention volume spike", "mention volume spikes"),
    },
    "index_drop": {
        "ru": ("падение индекса", "падения индекса", "падений индекса"),
        "en": ("loyalty index drop", "loyalty index drops"),
    },
}
_OTHER: dict[Language, tuple[str, ...]] = {
    "ru": ("сигнал", "сигнала", "сигналов"),
    "en": ("alert", "alerts"),
}

_KINDS: dict[Language, dict[str, str]] = {
    "ru": {"regulator": "регулятор", "media": "СМИ", "ceo": "руководство", "demand": "возврат денег"},
    "en": {"regulator": "the regulator", "media": "the media", "ceo": "management", "demand": "a refund"},
}

_WHAT: dict[str, dict[Language, tuple[str, str]]] = {
    # (several authors, one author)
    "escalation_terms": {"ru": ("называют", "называет"), "en": ("bring up", "brings up")},
    "repeat_complainer": {
        "ru": ("жалуются снова", "жалуется снова"),
        "en": ("complain again", "complains again"),
    },
    "recurring_problem": {
        "ru": ("пишут об одной и той же проблеме", "пишет об одной и той же проблеме"),
        "en": ("report the same problem", "reports the same problem"),
    },
    "copies_across_channels": {
        "ru": ("перепечатывают жалобу", "перепечатывает жалобу"),
        "en": ("repost a complaint", "reposts a complaint"),
    },
    "engagement_growth": {
        "ru": ("разгоняют негативную историю", "разгоняет негативную историю"),
        "en": (
            "push a negative story far faster than usual",
            "pushes a negative story far faster than usual",
        ),
    },
    "negative_spike": {
        "ru": ("пишут негатив намного чаще обычного", "пишет негатив намного чаще обычного"),
        "en": ("post far more negative than usual", "posts far more negative than usual"),
    },
    "volume_spike": {
        "ru": ("пишут о бренде намного чаще обычного", "пишет о бренде намного чаще обычного"),
        "en": ("mention the brand far more than usual", "mentions the brand far more than usual"),
    },
    "index_drop": {
        "ru": ("тянут индекс лояльности вниз", "тянет индекс лояльности вниз"),
        "en": ("pull the loyalty index down", "pulls the loyalty index down"),
    },
    "": {"ru": ("пишут о проблеме", "пишет о проблеме"), "en": ("raise a problem", "raises a problem")},
}


def plural_ru(n: int, forms: Sequence[str]) -> str:
    """The Russian form for ``n`` of (one, few, many): 1 жалоба, 3 жалобы, 5 жалоб, 21 жалоба."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def _count(n: int, forms: Sequence[str], language: Language) -> str:
    if language == "ru":
        return f"{n} {plural_ru(n, forms)}"
    return f"{n} {forms[0] if n == 1 else forms[1]}"


def span_words(minutes: float, language: Language) -> str:
    """ "за 15 минут" / "in 15 minutes": how long the group took to gather (at least a minute)."""
    if minutes >= 120:
        hours = round(minutes / 60)
        forms = ("час", "часа", "часов") if language == "ru" else ("hour", "hours")
        phrase = _count(hours, forms, language)
    else:
        mins = max(1, round(minutes))
        forms = ("минуту", "минуты", "минут") if language == "ru" else ("minute", "minutes")
        phrase = _count(mins, forms, language)
    return f"за {phrase}" if language == "ru" else f"in {phrase}"


def group_title(rule: str, brand: str, count: int, minutes: float, language: Language) -> str:
    """The headline of a group of ``count`` alerts of one rule: "Альфа: 6 жалоб с эскалацией за 15 минут"."""
    forms = _NOUNS.get(rule, {}).get(language) or _OTHER[language]
    return f"{brand}: {_count(count, forms, language)} {span_words(minutes, language)}"


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one alert contributes to the sentence: its rule, channel, facts and top mentions (as stored)."""

    rule: str
    channel: str | None
    facts: Mapping[str, Any] = field(default_factory=dict)
    top: Sequence[Mapping[str, Any]] = ()


def _join(items: Sequence[str], language: Language) -> str:
    if len(items) <= 1:
        return "".join(items)
    word = " и " if language == "ru" else " and "
    return ", ".join(items[:-1]) + word + items[-1]


def _short_number(n: int, language: Language) -> str:
    if n >= 1_000_000:
        value, unit = n / 1_000_000, ("млн" if language == "ru" else "M")
    elif n >= 1_000:
        value, unit = n / 1_000, ("тыс." if language == "ru" else "k")
    else:
        return str(n)
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    if language == "ru":
        text = text.replace(".", ",")
        return f"{text} {unit}"
    return f"{text}{unit}"


def why_sentence(items: Sequence[Evidence], language: Language) -> str:
    """One sentence: who (authors), where (channels), what escalated, how it spreads (copies), the reach."""
    if not items:
        return ""
    mentions: dict[Any, Mapping[str, Any]] = {}
    for ev in items:
        for m in ev.top:
            mentions.setdefault(m.get("id"), m)
    authors = sorted({str(m["author"]) for m in mentions.values() if m.get("author")})
    facts_author = [str(ev.facts["author"]) for ev in items if ev.facts.get("author")]
    if not authors and facts_author:
        authors = sorted(set(facts_author))
    channels: list[str] = []
    for ev in items:
        for ch in [ev.channel, *(m.get("channel") for m in ev.top)]:
            if ch and ch not in channels:
                channels.append(str(ch))
    if len(authors) == 1:
        who = authors[0]
    elif authors:
        who = _count(
            len(authors),
            ("автор", "автора", "авторов") if language == "ru" else ("author", "authors"),
            language,
        )
    else:
        who = "клиенты" if language == "ru" else "customers"
    where = (
        ("в " if language == "ru" else "in ") + _join(channels[:3], language)
        if channels
        else all_channels(language)
    )
    rules = [ev.rule for ev in items]
    rule = max(set(rules), key=rules.count)
    verb = (_WHAT.get(rule) or _WHAT[""])[language][1 if len(authors) == 1 else 0]
    if rule == "escalation_terms":
        kinds: list[str] = []
        for ev in items:
            for k in ev.facts.get("kinds") or []:
                if k not in kinds:
                    kinds.append(str(k))
        names = [_KINDS[language].get(k, k) for k in kinds] or [_KINDS[language]["regulator"]]
        what = f"{verb} {_join(names, language)}"
    else:
        what = verb
    tail: list[str] = []
    copies = sum(int(m.get("copies") or 0) for m in mentions.values())
    if copies:
        forms = ("копия", "копии", "копий") if language == "ru" else ("copy", "copies")
        tail.append("+" + _count(copies, forms, language))
    reach = sum(int(m.get("reach") or 0) for m in mentions.values())
    if reach:
        tail.append(("охват " if language == "ru" else "reach ") + _short_number(reach, language))
    sentence = f"{who} {where} {what}"
    if tail:
        sentence += "; " + ", ".join(tail)
    if len(authors) != 1:  # generated words start it; an author's name is left as they write it
        sentence = sentence[:1].upper() + sentence[1:]
    return sentence if sentence.endswith(".") else sentence + "."
