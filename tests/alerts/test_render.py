"""Alert wording: rendered from the rule and its facts in the reader's language, Russian as it always read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from alerts.export import alert_rows
from alerts.lifecycle import Candidate, raise_alert
from alerts.message import AlertMessage
from alerts.render import LANGUAGES, RULES_WITH_WORDING, alert_title, as_language, summary, title
from alerts.senders import slack_payload, telegram_html
from alerts.settings import AlertsSettings
from storage.schema import Alert
from storage.store import Store

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)

# (rule, facts, Russian title as the engine wrote it before wording moved to rendering, English title)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "escalation_terms",
        {"kinds": ["regulator", "media", "ceo", "demand"]},
        "Альфа: жалоба с эскалацией (регулятор, СМИ, руководство, требование)",
        "Альфа: complaint escalating (regulator, media, management, demand)",
    ),
    (
        "repeat_complainer",
        {"author": "oleg", "complaints": 4, "days": 7.0},
        "Альфа: oleg жалуется снова (4 раз за 7 дн.)",
        "Альфа: oleg complains again (4 times in 7 days)",
    ),
    (
        "recurring_problem",
        {"authors": 6, "days": 2.5},
        "Альфа: повторяющаяся проблема (6 авт. за 2.5 дн.)",
        "Альфа: recurring problem (6 authors in 2.5 days)",
    ),
    (
        "copies_across_channels",
        {"copies": 5, "channels": ["telegram", "vk"]},
        "Альфа: жалобу копируют (5 копий, каналы: telegram, vk)",
        "Альфа: complaint being copied (5 copies, channels: telegram, vk)",
    ),
    (
        "engagement_growth",
        {"channel": "vk"},
        "Альфа: негатив расходится (vk)",
        "Альфа: negative story spreading (vk)",
    ),
    (
        "negative_spike",
        {"channel": None, "negative": 24, "window_hours": 3},
        "Альфа: всплеск негатива (все каналы: 24 за 3 ч)",
        "Альфа: negative spike (all channels: 24 in 3 h)",
    ),
    (
        "negative_spike",
        {"channel": "telegram", "negative": 9, "window_hours": 3},
        "Альфа: всплеск негатива (telegram: 9 за 3 ч)",
        "Альфа: negative spike (telegram: 9 in 3 h)",
    ),
    (
        "index_drop",
        {"drop": 0.41666, "channel": None, "period_days": 7},
        "Альфа: индекс лояльности упал на 0.42 (все каналы)",
        "Альфа: loyalty index fell by 0.42 (all channels)",
    ),
    (
        "volume_spike",
        {"channel": None, "count": 420, "window_hours": 6.0},
        "Альфа: всплеск упоминаний (все каналы: 420 за 6 ч)",
        "Альфа: mention volume spike (all channels: 420 in 6 h)",
    ),
    (
        "sla_breach",
        {"case": 17, "channel": "vk", "hours": 24.0},
        "Альфа: нет ответа дольше 24 ч (vk, обращение №17)",
        "Альфа: no answer for over 24 h (vk, case #17)",
    ),
]


@pytest.mark.parametrize(("rule", "facts", "ru", "en"), CASES)
def test_titles_in_both_languages(rule: str, facts: dict[str, Any], ru: str, en: str) -> None:
    assert title(rule, "Альфа", facts, "ru") == ru
    assert title(rule, "Альфа", facts, "en") == en


def test_every_rule_has_wording_in_every_language() -> None:
    covered = {rule for rule, *_ in CASES}
    assert covered == RULES_WITH_WORDING
    for rule, facts, _, _ in CASES:
        for lang in LANGUAGES:
            assert summary(rule, "Альфа", facts, lang).endswith(".")


def test_summaries_keep_their_russian_text() -> None:
    assert summary("escalation_terms", "Альфа", {"kinds": ["regulator", "demand"]}) == (
        "Негативное упоминание называет: регулятор, требование."
    )
    assert summary("index_drop", "Альфа", {"drop": 0.5, "channel": "vk", "period_days": 7}) == (
        "Индекс за 7 дн. против предыдущих 7 дн."
    )


def test_facts_are_values_never_templates() -> None:
    facts = {"author": "{brand} {0} {author!r:>99}", "complaints": 4, "days": 7.0}
    assert title("repeat_complainer", "Альфа", facts, "en") == (
        "Альфа: {brand} {0} {author!r:>99} complains again (4 times in 7 days)"
    )


def test_unknown_language_is_refused_by_name() -> None:
    assert as_language("en") == "en"
    with pytest.raises(ValueError, match=r"'de'.*ru, en"):
        as_language("de")


def _candidate() -> Candidate:
    return Candidate(
        rule="repeat_complainer",
        brand="Альфа",
        channel=None,
        key="author:oleg",
        severity="warning",
        numbers={"complaints": 4, "days": 7.0, "channels": "vk"},
        facts={"author": "oleg", "complaints": 4, "days": 7.0},
        mention_ids=[1],
        top=[
            {
                "id": 1,
                "text": "опять",
                "url": "https://vk.example/1",
                "author": None,
                "reach": 1200,
                "copies": 2,
            }
        ],
    )


def test_stored_alert_is_worded_in_the_readers_language(store: Store) -> None:
    with store.engine.begin() as conn:
        change = raise_alert(conn, _candidate(), AlertsSettings(), NOW)
    assert change is not None and change.title == "Альфа: oleg жалуется снова (4 раз за 7 дн.)"
    with store.engine.connect() as conn:
        stored_title, details = conn.execute(select(Alert.title, Alert.details)).one()
    assert stored_title == change.title  # the column keeps the Russian title for SQL readers
    assert "summary" not in details and details["facts"]["author"] == "oleg"

    (ru,) = alert_rows(store, now=NOW)
    (en,) = alert_rows(store, now=NOW, language="en")
    assert ru["title"] == stored_title
    assert en["title"] == "Альфа: oleg complains again (4 times in 7 days)"
    assert en["why"] == ru["why"] == "complaints=4; days=7; channels=vk"


def test_messengers_speak_the_readers_language(store: Store) -> None:
    with store.engine.begin() as conn:
        raise_alert(conn, _candidate(), AlertsSettings(), NOW)
    from sqlalchemy.orm import Session

    with Session(store.engine) as session:
        alert = session.scalars(select(Alert)).one()
        ru = AlertMessage.from_alert(alert)
        en = AlertMessage.from_alert(alert, "en")
    assert en.summary == "Repeated complaints from one author: close the issue before it goes higher."
    assert ru.summary == "Повторные жалобы одного автора: закройте вопрос, пока он не ушёл выше."
    tg_en, tg_ru = telegram_html(en), telegram_html(ru)
    assert (
        "all channels" in tg_en
        and "unknown author" in tg_en
        and "reach 1200" in tg_en
        and "+2 copies" in tg_en
    )
    assert (
        "все каналы" in tg_ru
        and "автор неизвестен" in tg_ru
        and "охват 1200" in tg_ru
        and "+2 копий" in tg_ru
    )
    assert "все каналы" not in tg_en and "охват" not in tg_en
    slack = slack_payload(en)
    assert "all channels" in slack["text"] and "complains again" in slack["text"]


def test_alerts_stored_before_facts_keep_their_title(store: Store) -> None:
    """Rows written by earlier versions have a Russian title and summary and no facts: shown as stored."""
    with store.engine.begin() as conn:
        conn.execute(
            insert(Alert),
            {
                "dedup_key": "escalation_terms:Альфа:vk:mention:1",
                "rule": "escalation_terms",
                "brand": "Альфа",
                "channel": "vk",
                "severity": "critical",
                "state": "open",
                "title": "Альфа: жалоба с эскалацией (регулятор)",
                "details": {"summary": "Негативное упоминание называет: регулятор.", "numbers": {"kinds": 1}},
                "mention_ids": {"ids": [1]},
                "version": 1,
                "opened_at": NOW,
                "updated_at": NOW,
                "triggered_at": NOW,
            },
        )
    (row,) = alert_rows(store, now=NOW, language="en")
    assert row["title"] == "Альфа: жалоба с эскалацией (регулятор)"
    from sqlalchemy.orm import Session

    with Session(store.engine) as session:
        msg = AlertMessage.from_alert(session.scalars(select(Alert)).one(), "en")
    assert msg.summary == "Негативное упоминание называет: регулятор."
    assert alert_title("escalation_terms", "Альфа", {"facts": {"kinds": 3}}, "stored", "en") == "stored"
