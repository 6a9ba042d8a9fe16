"""Plain words for the messengers: Russian plurals, group headlines and the one-sentence why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.grouping import group_message
from alerts.senders import slack_payload, telegram_html
from alerts.wording import Evidence, group_title, plural_ru, span_words, why_sentence
from storage.schema import Alert

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
FORMS = ("жалоба", "жалобы", "жалоб")


def test_russian_plurals() -> None:
    got = {n: plural_ru(n, FORMS) for n in (1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111)}
    assert got == {
        1: "жалоба",
        2: "жалобы",
        4: "жалобы",
        5: "жалоб",
        11: "жалоб",
        12: "жалоб",
        14: "жалоб",
        21: "жалоба",
        22: "жалобы",
        25: "жалоб",
        101: "жалоба",
        111: "жалоб",
    }


def test_group_titles_in_both_languages() -> None:
    assert group_title("escalation_terms", "Альфа", 6, 15, "ru") == "Альфа: 6 жалоб с эскалацией за 15 минут"
    assert (
        group_title("escalation_terms", "Alfa", 6, 15, "en") == "Alfa: 6 escalating complaints in 15 minutes"
    )
    assert group_title("negative_spike", "Альфа", 2, 0.2, "ru") == "Альфа: 2 всплеска негатива за 1 минуту"
    assert group_title("sla_breach", "Альфа", 3, 180, "en") == "Альфа: 3 alerts in 3 hours"
    assert span_words(22, "ru") == "за 22 минуты"


def test_why_names_who_where_what_spread_and_reach() -> None:
    items = [
        Evidence(
            "escalation_terms",
            "vk",
            {"kinds": ["regulator", "media"]},
            [{"id": 1, "author": "oleg", "reach": 12_500, "copies": 2, "channel": "vk"}],
        ),
        Evidence(
            "escalation_terms",
            "telegram",
            {"kinds": ["demand"]},
            [{"id": 2, "author": "ira", "reach": 900, "channel": "telegram"}],
        ),
    ]
    assert why_sentence(items, "ru") == (
        "2 автора в vk и telegram называют регулятор, СМИ и возврат денег; +2 копии, охват 13,4 тыс."
    )
    assert why_sentence(items, "en") == (
        "2 authors in vk and telegram bring up the regulator, the media and a refund; +2 copies, reach 13.4k."
    )
    one = [Evidence("repeat_complainer", "vk", {"author": "oleg"}, [])]
    assert why_sentence(one, "en") == "oleg in vk complains again."
    assert why_sentence(one, "ru") == "oleg в vk жалуется снова."


def _alert(i: int, severity: str = "warning") -> Alert:
    return Alert(
        id=i,
        dedup_key=f"k{i}",
        rule="escalation_terms",
        brand="Alfa",
        channel="vk",
        severity=severity,
        state="open",
        title="t",
        details={
            "numbers": {"kinds": 2, "regulator_terms": "ЦБ"},
            "facts": {"kinds": ["regulator"]},
            "top": [
                {"id": i, "text": f"<i>{i}</i>", "url": f"https://vk.com/{i}", "author": f"a{i}", "reach": i}
            ],
        },
        mention_ids={"ids": [i]},
        version=1,
        opened_at=T0 + timedelta(minutes=i),
        updated_at=T0,
        triggered_at=T0,
    )


def test_a_group_message_in_english_has_no_rule_numbers_and_escapes_mentions() -> None:
    msg = group_message([_alert(1), _alert(2, "critical"), _alert(5)], "en", now=T0, top_limit=2)
    assert msg.severity == "critical" and msg.count == 3 and msg.alert_ids == (1, 2, 5)
    assert msg.title == "Alfa: 3 escalating complaints in 4 minutes"
    assert [m.id for m in msg.top] == [5, 2]  # most-read first, within top_limit
    html = telegram_html(msg)
    assert "regulator_terms" not in html and "kinds=" not in html and "escalation_terms" not in html
    assert "&lt;i&gt;5&lt;/i&gt;" in html and "<i>5</i>" not in html
    slack = str(slack_payload(msg))
    assert "regulator_terms" not in slack and "3 escalating complaints" in slack
