"""All the words of an alert, in the reader's language: titles, summaries and the messengers' labels.

A rule stores what it found, not sentences: its name, the brand and channel, ``details.numbers`` (the
evidence, shown as ``name=value``) and ``details.facts`` (the few values its wording needs, such as the
author of repeated complaints or the kinds of escalation terms). Everything a person reads is rendered
from those at read time, so the dashboard, the CSV export and every messenger speak the reader's language
(``display.language``)::

    title(rule="repeat_complainer", brand="Альфа", facts={"author": "oleg", "complaints": 4, "days": 7.0},
          language="en")
    # 'Альфа: oleg complains again (4 times in 7 days)'

The Russian texts are the ones the product has always sent; the ``title`` column keeps the Russian
rendering for SQL readers and for alerts stored before facts existed (:func:`alert_title` falls back to
it when an alert has no facts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

__all__ = [
    "LANGUAGES",
    "RULES_WITH_WORDING",
    "Language",
    "alert_summary",
    "alert_title",
    "all_channels",
    "as_language",
    "copies_label",
    "more_label",
    "reach_label",
    "summary",
    "title",
    "unknown_author",
    "update_label",
]

Language = Literal["ru", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

Facts = Mapping[str, Any]

_KINDS: dict[Language, dict[str, str]] = {
    "ru": {"regulator": "регулятор", "media": "СМИ", "ceo": "руководство", "demand": "требование"},
    "en": {"regulator": "regulator", "media": "media", "ceo": "management", "demand": "demand"},
}
"""Kinds of escalation terms (:mod:`alerts.rules.escalation_terms`), in the order the rule reports them."""

_ALL_CHANNELS: dict[Language, str] = {"ru": "все каналы", "en": "all channels"}

_TEXTS: dict[str, dict[Language, tuple[str, str]]] = {
    "escalation_terms": {
        "ru": ("{brand}: жалоба с эскалацией ({kinds})", "Негативное упоминание называет: {kinds}."),
        "en": ("{brand}: complaint escalating ({kinds})", "A negative mention names: {kinds}."),
    },
    "repeat_complainer": {
        "ru": (
            "{brand}: {author} жалуется снова ({complaints} раз за {days:g} дн.)",
            "Повторные жалобы одного автора: закройте вопрос, пока он не ушёл выше.",
        ),
        "en": (
            "{brand}: {author} complains again ({complaints} times in {days:g} days)",
            "Repeated complaints from one author: close the issue before it goes higher.",
        ),
    },
    "recurring_problem": {
        "ru": (
            "{brand}: повторяющаяся проблема ({authors} авт. за {days:g} дн.)",
            "Похожие жалобы разных людей: это проблема, а не один клиент.",
        ),
        "en": (
            "{brand}: recurring problem ({authors} authors in {days:g} days)",
            "Similar complaints from different people: a problem, not one customer.",
        ),
    },
    "copies_across_channels": {
        "ru": (
            "{brand}: жалобу копируют ({copies} копий, каналы: {channel_list})",
            "Одну и ту же жалобу перепечатывают другие авторы и каналы: она расходится.",
        ),
        "en": (
            "{brand}: complaint being copied ({copies} copies, channels: {channel_list})",
            "Other authors and channels repost the same complaint: it is spreading.",
        ),
    },
    "engagement_growth": {
        "ru": (
            "{brand}: негатив расходится ({channel})",
            "Негативная история набирает репосты и комментарии намного быстрее обычного.",
        ),
        "en": (
            "{brand}: negative story spreading ({channel})",
            "A negative story gains reposts and comments far faster than usual.",
        ),
    },
    "negative_spike": {
        "ru": (
            "{brand}: всплеск негатива ({where}: {negative} за {window_hours} ч)",
            "Негативных упоминаний намного больше, чем обычно в эти часы недели.",
        ),
        "en": (
            "{brand}: negative spike ({where}: {negative} in {window_hours} h)",
            "Far more negative mentions than usual for these hours of the week.",
        ),
    },
    "volume_spike": {
        "ru": (
            "{brand}: всплеск упоминаний ({where}: {count} за {window_hours:g} ч)",
            "Упоминаний намного больше, чем обычно в эти часы недели при нынешнем уровне.",
        ),
        "en": (
            "{brand}: mention volume spike ({where}: {count} in {window_hours:g} h)",
            "Far more mentions than usual for these hours of the week at the current level.",
        ),
    },
    "sla_breach": {
        "ru": (
            "{brand}: нет ответа дольше {hours:g} ч ({where}, обращение №{case})",
            "Клиенту обещан ответ за {hours:g} ч, срок прошёл: ответьте или возьмите обращение в работу.",
        ),
        "en": (
            "{brand}: no answer for over {hours:g} h ({where}, case #{case})",
            "The customer was promised an answer within {hours:g} h and it is overdue: answer or take it.",
        ),
    },
    "index_drop": {
        "ru": (
            "{brand}: индекс лояльности упал на {drop:.2f} ({where})",
            "Индекс за {period_days} дн. против предыдущих {period_days} дн.",
        ),
        "en": (
            "{brand}: loyalty index fell by {drop:.2f} ({where})",
            "Index over {period_days} days against the previous {period_days} days.",
        ),
    },
}
"""Per rule and language: the title and the summary, as ``str.format`` templates over the rule's facts.

Besides the facts themselves a template may use ``brand``, ``where`` (the ``channel`` fact, or "all
channels"), ``kinds`` (the escalation kinds named and joined) and ``channel_list`` (the ``channels`` fact
joined). Facts are data (author names are untrusted): they are values here, never templates.
"""

RULES_WITH_WORDING = frozenset(_TEXTS)


def as_language(value: str) -> Language:
    """``value`` as a :data:`Language`; ``ValueError`` naming the choices for anything else."""
    for lang in LANGUAGES:
        if value == lang:
            return lang
    raise ValueError(f"unknown language {value!r} (use one of: {', '.join(LANGUAGES)})")


def all_channels(language: Language) -> str:
    """What an alert about every channel says in place of a channel name."""
    return _ALL_CHANNELS[language]


def _values(brand: str, facts: Facts, language: Language) -> dict[str, Any]:
    values: dict[str, Any] = {
        **facts,
        "brand": brand,
        "where": facts.get("channel") or _ALL_CHANNELS[language],
    }
    if "kinds" in facts:
        names = _KINDS[language]
        values["kinds"] = ", ".join(names.get(k, k) for k in facts["kinds"])
    if "channels" in facts:
        values["channel_list"] = ", ".join(facts["channels"])
    return values


def title(rule: str, brand: str, facts: Facts, language: Language = "ru") -> str:
    """The alert's headline; ``KeyError`` for a rule without wording or a fact its wording needs."""
    return _TEXTS[rule][language][0].format_map(_values(brand, facts, language))


def summary(rule: str, brand: str, facts: Facts, language: Language = "ru") -> str:
    """One sentence on why the rule matters to PR."""
    return _TEXTS[rule][language][1].format_map(_values(brand, facts, language))


def alert_title(
    rule: str, brand: str, details: Mapping[str, Any] | None, stored: str, language: Language
) -> str:
    """The title of a stored alert in ``language``; ``stored`` (the ``title`` column) when it has no facts.

    Alerts written before wording moved here carry their Russian title only; they keep showing it.
    """
    facts = (details or {}).get("facts")
    if not isinstance(facts, Mapping) or rule not in _TEXTS:
        return stored
    try:
        return title(rule, brand, facts, language)
    except (KeyError, TypeError, ValueError):
        return stored  # facts this version cannot word: the stored words are still right


def alert_summary(rule: str, brand: str, details: Mapping[str, Any] | None, language: Language) -> str:
    """The summary of a stored alert in ``language``; the stored ``details.summary`` when it has no facts."""
    details = details or {}
    facts = details.get("facts")
    stored = str(details.get("summary") or "")
    if not isinstance(facts, Mapping) or rule not in _TEXTS:
        return stored
    try:
        return summary(rule, brand, facts, language)
    except (KeyError, TypeError, ValueError):
        return stored


# -- the messengers' labels ---------------------------------------------------------------------------


def update_label(number: int, language: Language) -> str:
    """Marks the ``number``-th update of an alert already sent."""
    return f"update #{number}" if language == "en" else f"обновление #{number}"


def unknown_author(language: Language, *, short: bool = False) -> str:
    """Stands in for a mention without an author (``short``: where space is tight, as in Slack links)."""
    if language == "en":
        return "author" if short else "unknown author"
    return "автор" if short else "автор неизвестен"


def reach_label(reach: str, language: Language) -> str:
    """The author's audience, already formatted."""
    return f"reach {reach}" if language == "en" else f"охват {reach}"


def copies_label(copies: int, language: Language) -> str:
    """Repost copies collapsed into one shown mention."""
    return f"+{copies} copies" if language == "en" else f"+{copies} копий"


def more_label(count: int, language: Language) -> str:
    """The last line when mentions did not fit the message."""
    return f"…and {count} more" if language == "en" else f"…и ещё {count}"
