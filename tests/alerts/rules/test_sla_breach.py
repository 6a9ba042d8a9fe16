"""``sla_breach``: an overdue own case alerts once through the outbox, however often the engine runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from alerts.engine import AlertEngine
from alerts.render import title
from alerts.settings import AlertBrand, AlertsSettings, DestinationSettings
from core.mention import Mention
from storage.cases import NewCase, change_case, open_cases
from storage.schema import Alert, AlertDelivery, MentionRow
from storage.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BRANDS = [AlertBrand("Поляр", own=True, names=("Поляр",)), AlertBrand("Север", own=False, names=("Север",))]


def _settings() -> AlertsSettings:
    return AlertsSettings(
        destinations=[DestinationSettings(type="webhook", url_env="SLA_TEST_HOOK_URL")],
        negative_spike={"enabled": False},
        engagement_growth={"enabled": False},
        index_drop={"enabled": False},
    )


def _cases(store: Store) -> tuple[int, int]:
    store.upsert_mentions(
        [
            Mention(source="vk", external_id=e, channel="vk", text=f"жалоба {e}", published_at=T0)
            for e in ("1", "2")
        ]
    )
    with store.engine.connect() as conn:
        ids = conn.execute(select(MentionRow.id).order_by(MentionRow.id)).scalars().all()
    due = T0 + timedelta(hours=24)
    ours, theirs = open_cases(
        store,
        [
            NewCase(ids[0], "Поляр", True, "vk", "negative", False, True, T0, due),
            NewCase(ids[1], "Север", False, "vk", "negative", False, True, T0, due),
        ],
        T0,
    )
    return ours, theirs


def _counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        alerts = conn.execute(
            select(func.count()).select_from(Alert).where(Alert.rule == "sla_breach")
        ).scalar()
        sent = conn.execute(select(func.count()).select_from(AlertDelivery)).scalar()
    return int(alerts or 0), int(sent or 0)


def test_an_overdue_case_alerts_once(store: Store) -> None:
    _cases(store)
    engine = AlertEngine(store, _settings(), BRANDS)
    assert engine.evaluate_periodic(T0 + timedelta(hours=23)) == []
    (change,) = engine.evaluate_periodic(T0 + timedelta(hours=25))
    assert (change.kind, change.rule, change.brand, change.severity) == (
        "opened",
        "sla_breach",
        "Поляр",
        "critical",
    )
    assert _counts(store) == (1, 1)
    for hours in (26, 30, 47, 70, 200):  # the engine runs every minute; the case waits
        engine.evaluate_periodic(T0 + timedelta(hours=hours))
    assert _counts(store) == (1, 1)  # one alert, one delivery: never repeated
    with store.engine.connect() as conn:
        brand, details = conn.execute(select(Alert.brand, Alert.details)).one()
    assert title("sla_breach", brand, details["facts"], "en").startswith("Поляр: no answer for over 24 h")


def test_an_answered_case_does_not_alert(store: Store) -> None:
    ours, _ = _cases(store)
    change_case(store, ours, "anna", T0 + timedelta(hours=2), status="answered")
    engine = AlertEngine(store, _settings(), BRANDS)
    assert engine.evaluate_periodic(T0 + timedelta(hours=30)) == []
    assert _counts(store) == (0, 0)
