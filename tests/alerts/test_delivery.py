"""Delivery through the outbox to fake Telegram, Slack and webhook servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from alerts.export import alert_rows, delivery_summary
from alerts.lifecycle import Candidate, acknowledge, mute, raise_alert
from alerts.message import AlertMessage
from alerts.outbox import OutboxDispatcher
from alerts.senders import TELEGRAM_LIMIT, slack_payload, telegram_html
from alerts.settings import AlertsSettings, DestinationSettings
from storage.schema import Alert, AlertDelivery
from storage.store import Store
from tests.alerts.fakes import FakeMessenger

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
TOKEN = "123456:AAE-very-secret_token"


UNGROUPED = {"group_wait_s": 0, "group_interval_min": 0}
"""These tests are about one outbox row at a time: grouping (tests/alerts/test_grouping.py) off."""


def tg_settings(fake: FakeMessenger, **kw: object) -> AlertsSettings:
    return AlertsSettings(
        destinations=[
            DestinationSettings(type="telegram", token_env="TG", chat_id="-100500", base_url=fake.url)
        ],
        **{**UNGROUPED, **kw},  # type: ignore[arg-type]
    )


def cand(n: int = 1, severity: str = "critical", key: str = "k", text: str = "Верните деньги!") -> Candidate:
    """An alert whose title carries untrusted text: the author's name goes into it."""
    return Candidate(
        rule="repeat_complainer",
        brand="Альфа",
        channel="vk",
        key=key,
        severity=severity,  # type: ignore[arg-type]
        numbers={"complaints": n, "reach": 12000},
        facts={"author": f"Жалоба <b>{n}</b> & ЦБ", "complaints": n, "days": 7.0},
        mention_ids=list(range(1, n + 1)),
        magnitude=float(n),
        top=[
            {
                "id": i,
                "text": text,
                "url": f"https://vk.com/wall1_{i}",
                "author": "ivan<script>",
                "reach": 100,
            }
            for i in range(1, n + 1)
        ],
    )


def open_alert(store: Store, settings: AlertsSettings, c: Candidate, now: datetime = NOW) -> int:
    with store.engine.begin() as conn:
        change = raise_alert(conn, c, settings, now)
    assert change is not None
    return change.alert_id


def states(store: Store) -> list[tuple[int, str, int]]:
    with store.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(AlertDelivery.alert_version, AlertDelivery.state, AlertDelivery.attempts).order_by(
                    AlertDelivery.id
                )
            )
        ]  # type: ignore[misc]


def message(title: str = "t", texts: list[str] | None = None) -> AlertMessage:
    from alerts.message import TopMention

    return AlertMessage(
        1,
        1,
        "spike",
        "Альфа",
        "vk",
        "warning",
        title,
        "open",
        numbers={"count": 12},
        top=tuple(TopMention(i, t, f"https://x/{i}?a=1&b=2", "a<b>", 10) for i, t in enumerate(texts or [])),
    )


def test_telegram_html_escapes_untrusted_text() -> None:
    html = telegram_html(message("<b>boss</b> & co", ["<a href='x'>клик</a> & <i>"]))
    assert "<b>boss</b>" not in html and "&lt;b&gt;boss&lt;/b&gt; &amp; co" in html
    assert "&lt;a href=&#x27;x&#x27;&gt;" in html
    assert 'href="https://x/0?a=1&amp;b=2"' in html
    assert "a&lt;b&gt;" in html


def test_telegram_html_fits_4096_and_never_cuts_a_tag() -> None:
    html = telegram_html(message("x" * 10000, ["<&>" * 2000 for _ in range(40)]))
    assert len(html) <= TELEGRAM_LIMIT
    assert html.count("<a ") == html.count("</a>")
    assert "…и ещё" in html


def test_slack_payload_escapes() -> None:
    payload = slack_payload(message("<!channel> & co", ["<@U123> hi"]))
    text = json.dumps(payload, ensure_ascii=False)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "&lt;@U123&gt;" in text


async def test_telegram_retries_429_then_500_then_delivers_once(
    store: Store, telegram: FakeMessenger
) -> None:
    settings = tg_settings(telegram)
    open_alert(store, settings, cand())
    telegram.rate_limit(3)
    telegram.server_error()
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, settings, client, env={"TG": TOKEN})
        assert await d.run_once(NOW) == 0
        assert states(store) == [(1, "pending", 1)]
        assert await d.run_once(NOW + timedelta(seconds=2)) == 0  # still inside retry_after
        assert len(telegram.requests) == 1
        assert await d.run_once(NOW + timedelta(seconds=3)) == 0  # 500: back-off
        assert states(store) == [(1, "pending", 2)]
        assert await d.run_once(NOW + timedelta(seconds=4)) == 0
        assert await d.run_once(NOW + timedelta(seconds=10)) == 1
        assert await d.run_once(NOW + timedelta(seconds=60)) == 0
    assert [r.status for r in telegram.requests] == [429, 500, 200]
    req = telegram.requests[-1]
    assert req.path == f"/bot{TOKEN}/sendMessage"
    body = req.json()
    assert body["chat_id"] == "-100500" and body["parse_mode"] == "HTML"
    assert "&lt;b&gt;1&lt;/b&gt; &amp; ЦБ" in body["text"]
    assert states(store) == [(1, "sent", 3)]


async def test_slack_honours_retry_after_header(store: Store, slack: FakeMessenger) -> None:
    settings = AlertsSettings(
        destinations=[DestinationSettings(type="slack", url_env="SLACK_URL")],
        **UNGROUPED,  # type: ignore[arg-type]
    )
    open_alert(store, settings, cand())
    slack.rate_limit(5)
    slack.answer(503, "upstream down")
    url = f"{slack.url}/services/T000/B000/XXXXSECRET"
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, settings, client, env={"SLACK_URL": url})
        await d.run_once(NOW)
        await d.run_once(NOW + timedelta(seconds=4))
        assert len(slack.requests) == 1
        await d.run_once(NOW + timedelta(seconds=5))
        assert await d.run_once(NOW + timedelta(seconds=30)) == 1
    assert [r.status for r in slack.requests] == [429, 503, 200]
    body = slack.requests[-1].json()
    assert body["text"] and body["blocks"][0]["type"] == "header"


async def test_webhook_is_signed(store: Store, slack: FakeMessenger) -> None:
    settings = AlertsSettings(
        destinations=[DestinationSettings(type="webhook", url_env="HOOK_URL", secret_env="HOOK_SECRET")]
    )
    alert_id = open_alert(store, settings, cand())
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(
            store, settings, client, env={"HOOK_URL": f"{slack.url}/hook", "HOOK_SECRET": "s3cr3t"}
        )
        assert await d.run_once(NOW) == 1
    (req,) = slack.requests
    want = "sha256=" + hmac.new(b"s3cr3t", req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Loyalty-Signature"] == want
    assert req.headers["Idempotency-Key"] == f"alert-{alert_id}-v1-webhook"
    data = req.json()
    assert data["alert"]["rule"] == "repeat_complainer" and data["alert"]["top_mentions"][0]["url"]


async def test_exactly_once_across_restart_and_outage(store: Store, telegram: FakeMessenger) -> None:
    """Alerts queued while the messenger is down survive two restarts and arrive once each."""
    db_url = store.engine.url.render_as_string(hide_password=False)
    settings = tg_settings(telegram)
    for i in range(3):
        open_alert(store, settings, cand(key=f"story{i}"))
    port = telegram.port
    telegram.stop()  # the messenger is unreachable
    async with httpx.AsyncClient(timeout=2) as client:
        d = OutboxDispatcher(store, settings, client, env={"TG": TOKEN})
        assert await d.run_once(NOW) == 0
    with store.engine.connect() as conn:
        errors = [r[0] for r in conn.execute(select(AlertDelivery.last_error))]
    assert all(e and TOKEN not in e and "pending" for e in errors), errors
    assert TOKEN not in delivery_summary(store, NOW)
    store.close()

    # Restart 1: the messenger is back; one delivery is claimed and the process "dies" mid-request.
    telegram.start(port)
    store = Store.open(db_url)
    with store.engine.begin() as conn:
        first = conn.execute(select(AlertDelivery.id).order_by(AlertDelivery.id)).scalars().first()
        conn.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == first)
            .values(state="sending", next_attempt_at=NOW + timedelta(seconds=70))
        )
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, settings, client, env={"TG": TOKEN})
        assert await d.run_once(NOW + timedelta(seconds=30)) == 2
    store.close()

    # Restart 2: the lease of the interrupted delivery has expired; it goes out, nothing else repeats.
    store = Store.open(db_url)
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, settings, client, env={"TG": TOKEN})
        assert await d.run_once(NOW + timedelta(seconds=50)) == 0
        assert await d.run_once(NOW + timedelta(seconds=80)) == 1
        for k in range(5):
            assert await d.run_once(NOW + timedelta(minutes=5 + k)) == 0
    titles = [r.json()["text"] for r in telegram.successes()]
    assert len(titles) == 3
    assert [s for _, s, _ in states(store)] == ["sent"] * 3
    store.close()


async def test_bad_token_fails_for_good_without_leaking_it(store: Store, telegram: FakeMessenger) -> None:
    settings = tg_settings(telegram)
    alert_id = open_alert(store, settings, cand())
    telegram.answer(401, {"ok": False, "error_code": 401, "description": f"Unauthorized bot{TOKEN}"})
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, settings, client, env={"TG": TOKEN})
        await d.run_once(NOW)
        assert await d.run_once(NOW + timedelta(hours=1)) == 0
    (row,) = alert_rows(store, now=NOW)
    assert row["id"] == alert_id and not row["delivered"]
    assert "failed" in row["delivery"] and TOKEN not in row["delivery"]
    assert "last failure telegram" in delivery_summary(store, NOW)


async def test_updates_supersede_and_mute_suppresses(store: Store, telegram: FakeMessenger) -> None:
    settings = tg_settings(telegram, cooldown_minutes=0)
    alert_id = open_alert(store, settings, cand(1))
    with store.engine.begin() as conn:
        change = raise_alert(conn, cand(3), settings, NOW + timedelta(minutes=1))
    assert change is not None and change.kind == "updated" and change.version == 2
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, settings, client, env={"TG": TOKEN})
        assert await d.run_once(NOW + timedelta(minutes=1)) == 1
        assert "обновление #1" in telegram.requests[-1].json()["text"]
        assert [s for _, s, _ in states(store)] == ["superseded", "sent"]
        with store.engine.begin() as conn:
            raise_alert(conn, cand(5), settings, NOW + timedelta(minutes=2))
        mute(store, alert_id, NOW + timedelta(hours=1), NOW + timedelta(minutes=2))
        assert await d.run_once(NOW + timedelta(minutes=2)) == 0
        with store.engine.begin() as conn:
            change = raise_alert(conn, cand(7), settings, NOW + timedelta(minutes=3))
        assert change is not None and change.kind == "merged" and not change.notified
    assert len(telegram.requests) == 1
    (row,) = alert_rows(store, now=NOW + timedelta(minutes=3))
    assert row["state"] == "muted"


def test_acknowledged_alert_is_resent_only_when_worse(store: Store) -> None:
    settings = AlertsSettings(
        destinations=[DestinationSettings(type="slack", url_env="X", min_severity="info")], cooldown_minutes=0
    )
    alert_id = open_alert(store, settings, cand(1, severity="warning"))
    acknowledge(store, alert_id, NOW)
    with store.engine.begin() as conn:
        more = raise_alert(conn, cand(4, severity="warning"), settings, NOW + timedelta(minutes=5))
        worse = raise_alert(conn, cand(5, severity="critical"), settings, NOW + timedelta(minutes=6))
    assert more is not None and more.kind == "merged"
    assert worse is not None and worse.kind == "updated" and worse.severity == "critical"
    with store.engine.connect() as conn:
        a = conn.execute(select(Alert.state, Alert.version)).one()
    assert tuple(a) == ("acknowledged", 2)


def test_cooldown_keeps_a_high_metric_from_paging_every_hour(store: Store) -> None:
    settings = AlertsSettings(
        destinations=[DestinationSettings(type="slack", url_env="X")], cooldown_minutes=60
    )
    open_alert(store, settings, cand(1))
    kinds = []
    for minute in (10, 20, 30, 70):
        with store.engine.begin() as conn:
            ch = raise_alert(conn, cand(1 + minute), settings, NOW + timedelta(minutes=minute))
        kinds.append(ch.kind if ch else None)
    assert kinds == ["merged", "merged", "merged", "updated"]
    with store.engine.begin() as conn:
        again = raise_alert(conn, cand(71), settings, NOW + timedelta(days=2))
    assert again is not None and again.kind == "opened"  # the old one went stale and was resolved


def test_missing_secret_names_its_key_path(store: Store) -> None:
    settings = AlertsSettings(
        destinations=[DestinationSettings(type="telegram", token_env="NOPE", chat_id="1")]
    )
    with pytest.raises(ValueError, match=r"alerts\.destinations\[0\]\.token_env.*NOPE"):
        OutboxDispatcher(store, settings, httpx.AsyncClient(), env={})


async def test_telegram_updates_reply_in_the_thread_of_the_first_message(
    store: Store, telegram: FakeMessenger
) -> None:
    settings = tg_settings(telegram, cooldown_minutes=0)
    open_alert(store, settings, cand(1))
    async with httpx.AsyncClient(timeout=5) as client:
        d = OutboxDispatcher(store, settings, client, env={"TG": TOKEN})
        assert await d.run_once(NOW) == 1
        for minute in (1, 2):
            with store.engine.begin() as conn:
                raise_alert(conn, cand(1 + 2 * minute), settings, NOW + timedelta(minutes=minute))
            assert await d.run_once(NOW + timedelta(minutes=minute)) == 1
    first, *updates = [r.json() for r in telegram.requests]
    assert "reply_parameters" not in first
    assert [u["reply_parameters"]["message_id"] for u in updates] == [1, 1]
    with store.engine.connect() as conn:
        assert [r[0] for r in conn.execute(select(AlertDelivery.remote_id).order_by(AlertDelivery.id))] == [
            "1",
            "2",
            "3",
        ]


def test_a_quiet_window_reopens_instead_of_paging_again(store: Store) -> None:
    settings = AlertsSettings(destinations=[DestinationSettings(type="slack", url_env="X")])
    from dataclasses import replace

    c = replace(cand(1, severity="warning"), quiet_hours=24 * 7)
    first = open_alert(store, settings, c)
    with store.engine.begin() as conn:
        later = raise_alert(conn, replace(c, mention_ids=[1, 2]), settings, NOW + timedelta(days=3))
        worse = raise_alert(
            conn,
            replace(c, severity="critical", mention_ids=[1, 2, 3]),
            settings,
            NOW + timedelta(days=3, hours=1),
        )
        fresh = raise_alert(conn, replace(c, mention_ids=[9]), settings, NOW + timedelta(days=30))
    assert later is not None and later.alert_id == first and later.kind == "merged" and not later.notified
    assert worse is not None and worse.alert_id == first and worse.kind == "updated"
    assert fresh is not None and fresh.kind == "opened" and fresh.alert_id != first
