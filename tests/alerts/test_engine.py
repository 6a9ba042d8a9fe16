"""The rules over replayed streams: a calm month stays silent, an escalating complaint raises its alerts."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from alerts.outbox import OutboxDispatcher
from alerts.rules.negative_spike import cap_storms, spike_test
from alerts.settings import SpikeRule
from core.text import TermMatcher
from storage.store import Store
from tests.alerts.fakes import FakeMessenger
from tests.alerts.stream import START, Counters, Event, Harness, calm_stream, config, mention


def test_calm_month_raises_nothing(store: Store) -> None:
    events, counters = calm_stream(30)
    assert len(events) > 5000
    h = Harness(store, config())
    t0 = time.perf_counter()
    h.replay(events, counters)
    elapsed = time.perf_counter() - t0
    assert h.alerts() == []
    assert h.changes == []
    print(f"replayed {len(events)} mentions over 720 hours in {elapsed:.1f} s")


def escalation_script(t0: object) -> tuple[list[Event], list[Counters]]:
    from datetime import datetime

    assert isinstance(t0, datetime)
    first = mention("esc1", t0, "Альфа списала деньги дважды, поддержка молчит третий день", reach=4000)
    events = [Event(first, "Альфа", "negative")]
    counters = []
    for i, (reposts, comments, views) in enumerate([(20, 40, 3000), (120, 260, 20000), (600, 900, 90000)]):
        counters.append(Counters("vk", "esc1", t0 + timedelta(minutes=40 + 40 * i), reposts, comments, views))
    for i in range(12):
        copy = mention(
            f"rp{i}",
            t0 + timedelta(minutes=50 + 5 * i),
            "Альфа списала деньги дважды, поддержка молчит третий день!",
            author=f"fan{i}",
            reach=200,
        )
        events.append(Event(copy, "Альфа", "negative"))
    second = mention(
        "esc2",
        t0 + timedelta(hours=2, minutes=10),
        "Альфа, верните мои деньги! Пишу жалобу в Роспотребнадзор и в ЦБ, журналистам уже написала. "
        "Пётр Сидорову лично тоже отправлю <b>скриншоты</b>",
        reach=4000,
    )
    events.append(Event(second, "Альфа", "negative"))
    return events, counters


async def test_escalating_complaint_raises_its_alerts_and_reaches_telegram(
    store: Store, telegram: FakeMessenger
) -> None:
    cfg = config(
        destinations=[{"type": "telegram", "token_env": "TG", "chat_id": "-1", "base_url": telegram.url}],
        group_wait_s=0,  # each rule's message on its own, at once
        group_interval_min=0,
    )
    events, counters = calm_stream(21)
    h = Harness(store, cfg)
    h.replay(events, counters)
    assert h.alerts() == []
    t0 = START + timedelta(days=21, hours=9, minutes=5)
    script, growth = escalation_script(t0)
    calm_after, calm_counters = calm_stream(1, start=START + timedelta(days=21), seed=99)
    h.replay(script + calm_after, growth + calm_counters, step=timedelta(minutes=15))
    rules = {(rule, sev) for rule, brand, _, sev in h.alerts()}
    assert ("escalation_terms", "critical") in rules
    assert any(rule == "engagement_growth" for rule, _ in rules)
    assert all(brand == "Альфа" for _, brand, _, _ in h.alerts())
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, cfg.alerts, client, env={"TG": "1:secret"})
        sent = await d.run_once(t0 + timedelta(hours=6))
    assert sent >= 2
    texts = [r.json()["text"] for r in telegram.successes()]
    esc = next(t for t in texts if "эскалац" in t)
    assert "регулятор" in esc and "СМИ" in esc and "руководство" in esc
    assert "&lt;b&gt;скриншоты&lt;/b&gt;" in esc
    spread = next(t for t in texts if "расходится" in t)
    assert "копий" in spread or "copies" in spread


def test_competitors_do_not_alert_by_default(store: Store) -> None:
    t0 = START + timedelta(hours=10)
    ev = [
        Event(
            mention("b1", t0, "Бета, верните деньги, иду в суд и в прокуратуру, журналисты в курсе"),
            "Бета",
            "negative",
        )
    ]
    h = Harness(store, config())
    h.replay(ev)
    assert h.alerts() == []
    h2 = Harness(store, config(competitor_alerts=True))
    h2.engine.evaluate([1], t0 + timedelta(hours=1))
    assert [a[0] for a in h2.alerts()] == ["escalation_terms"]


def test_escalation_needs_a_negative_mention(store: Store) -> None:
    t0 = START + timedelta(hours=10)
    ev = [Event(mention("p1", t0, "Альфа молодцы, журналисты СМИ и даже суд хвалят"), "Альфа", "positive")]
    h = Harness(store, config())
    h.replay(ev)
    assert h.alerts() == []


def test_repeat_complainer(store: Store) -> None:
    texts = [
        "Альфа опять заблокировала карту",
        "Альфа, карта снова не работает",
        "Альфа третий раз за неделю то же самое",
        "Альфа, четвёртое обращение и ноль ответа",
    ]
    ev = [
        Event(
            mention(f"r{i}", START + timedelta(days=2 * i, hours=12), t, author="oleg"), "Альфа", "negative"
        )
        for i, t in enumerate(texts)
    ]
    h = Harness(store, config())
    h.replay(ev)
    assert [(a[0], a[3]) for a in h.alerts()] == [("repeat_complainer", "warning")]


def test_recurring_problem_from_different_authors(store: Store) -> None:
    ev = [
        Event(
            mention(
                f"q{i}",
                START + timedelta(hours=10 + i),
                "Альфа приложение не открывается после обновления, вылетает на входе "
                + ["уже два дня", "с утра", "опять", "у мамы тоже", "на андроиде", "и у меня", "второй день"][
                    i
                ],
                author=f"a{i}",
            ),
            "Альфа",
            "negative",
        )
        for i in range(7)
    ]
    # the rule needs days + baseline_days of history before it judges what is new
    ev.append(
        Event(
            mention("old", START - timedelta(days=5), "Альфа давняя история", author="z"), "Альфа", "neutral"
        )
    )
    h = Harness(store, config(recurring_problem={"baseline_days": 1}))
    h.replay(ev)
    rules = [a[0] for a in h.alerts()]
    assert rules == ["recurring_problem"]
    (change,) = [c for c in h.changes if c.kind == "opened"]
    assert "6 авт." in change.title


def test_negative_spike_against_the_same_hours_of_past_weeks(store: Store) -> None:
    events, counters = calm_stream(28)
    t0 = START + timedelta(days=28, hours=11)
    burst = [
        Event(
            mention(
                f"s{i}",
                t0 + timedelta(minutes=7 * i),
                f"Альфа не проходят платежи {i} {'x' * (i % 5)} терминал номер {i * 37}",
                author=f"sp{i}",
                channel="telegram",
            ),
            "Альфа",
            "negative",
        )
        for i in range(24)
    ]
    h = Harness(store, config(recurring_problem={"enabled": False}))
    h.replay(events + burst, counters)
    spikes = [a for a in h.alerts() if a[0] == "negative_spike"]
    assert spikes and spikes[0][2] == "telegram"


def test_index_drop(store: Store) -> None:
    ev = []
    for d in range(14):
        for i in range(12):
            good = i < (10 if d < 7 else 3)
            ev.append(
                Event(
                    mention(
                        f"d{d}-{i}",
                        START + timedelta(days=d, hours=8, minutes=i * 5),
                        f"Альфа отзыв {d} {i}",
                        author=f"u{d}-{i}",
                        channel="news",
                    ),
                    "Альфа",
                    "positive" if good else "neutral" if i == 11 else "negative",
                )
            )
    h = Harness(
        store,
        config(
            repeat_complainer={"enabled": False},
            recurring_problem={"enabled": False},
            negative_spike={"enabled": False},
        ),
    )
    h.replay(ev, step=timedelta(hours=6))
    drops = [a for a in h.alerts() if a[0] == "index_drop"]
    assert drops, h.alerts()


def test_morphology_matches_inflected_terms() -> None:
    m = TermMatcher(
        {
            "regulator": ["Роспотребнадзор", "прокуратура", "ЦБ"],
            "media": ["журналист", "напишу в"],
            "ceo": ["Сидоров"],
        }
    )
    found = m.find(
        "Жалоба Роспотребнадзору и прокуратуре, журналистами займусь, Сидорову тоже напишу в личку"
    )
    assert set(found) == {"regulator", "media", "ceo"}
    assert m.find("Прокурорский сериал и цыбуля") == {}


def test_storms_do_not_inflate_the_baseline() -> None:
    rule = SpikeRule()
    calm = [2.0, 3.0, 1.0, 2.0, 4.0, 2.0, 3.0, 2.0, 1.0, 3.0, 2.0]
    assert spike_test(20, calm, rule).fires
    assert spike_test(20, [*calm, 60.0], rule).fires  # last week's storm is capped, not averaged in
    assert max(cap_storms([*calm, 60.0])) < 10
    assert not spike_test(4, [0.0] * 12, rule).fires  # minimum count
    assert not spike_test(9, [6.0, 7.0, 5.0, 9.0, 4.0, 8.0, 6.0, 7.0, 5.0, 6.0, 8.0, 7.0], rule).fires


@pytest.mark.parametrize("tz_hours", [0])
def test_engine_is_driven_by_the_given_now(store: Store, tz_hours: int) -> None:
    """Nothing in the engine reads the wall clock when now is passed: re-evaluating changes nothing."""
    events, _ = escalation_script(START + timedelta(days=1))
    h = Harness(store, config())
    h.replay(events)
    first = h.alerts()
    h.engine.evaluate_periodic(START + timedelta(days=1, hours=3))
    assert h.alerts() == first


def test_one_story_is_one_alert(store: Store) -> None:
    """Replies and copies of an escalating post update its alert instead of opening new ones."""
    t0 = START + timedelta(hours=10)
    main = mention(
        "main", t0, "Альфа, верните деньги! Жалоба в ЦБ и Роспотребнадзор уже отправлена, журналисты в курсе"
    )
    reply = mention(
        "re1", t0 + timedelta(minutes=20), "Правильно, пишите в ЦБ, Альфа иначе не шевелится", author="x1"
    )
    reply.parent_external_id = "main"
    copy = mention(
        "cp1",
        t0 + timedelta(minutes=30),
        "Подписчица пишет: Альфа, верните деньги! Жалоба в ЦБ и Роспотребнадзор уже отправлена, "
        "журналисты в курсе",
        author="channel",
        channel="telegram",
    )
    copy.parent_external_id = "main"
    # the telegram copy has another source: parents are looked up within the same source, like platforms do
    copy.source = "vk"
    ev = [Event(m, "Альфа", "negative") for m in (main, reply, copy)]
    h = Harness(store, config())
    h.replay(ev, step=timedelta(minutes=10))
    assert [a[0] for a in h.alerts()] == ["escalation_terms"]


def test_comments_in_one_thread_and_initials_are_not_repeat_complainers(store: Store) -> None:
    t0 = START + timedelta(hours=10)
    ev = []
    for i in range(5):
        m = mention(f"c{i}", t0 + timedelta(hours=i), f"Альфа, позор, ответьте уже {i}", author="ivan")
        m.parent_external_id = "post1"
        ev.append(Event(m, "Альфа", "negative"))
    for i in range(5):
        ev.append(
            Event(
                mention(
                    f"k{i}",
                    t0 + timedelta(days=1, hours=i),
                    f"Альфа плохо {i} раз",
                    author="Светлана К.",
                    channel="reviews",
                ),
                "Альфа",
                "negative",
            )
        )
    h = Harness(store, config())
    h.replay(ev)
    assert [a for a in h.alerts() if a[0] == "repeat_complainer"] == []


def test_a_prolific_author_with_mixed_feelings_is_not_a_complainer(store: Store) -> None:
    t0 = START + timedelta(hours=10)
    ev = [
        Event(
            mention(f"p{i}", t0 + timedelta(hours=5 * i), f"Альфа пост номер {i}", author="blogger"),
            "Альфа",
            "negative" if i % 2 else "positive",
        )
        for i in range(8)
    ]
    h = Harness(store, config())
    h.replay(ev)
    assert h.alerts() == []
