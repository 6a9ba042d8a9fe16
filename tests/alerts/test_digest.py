"""The digest: every brand with its index, rising themes, the period's alerts; short, escaped, bilingual."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from alerts.digest import TELEGRAM_LIMIT, build_digest, render_digest
from alerts.export import alert_rows
from loyalty_monitor.cli import main
from storage.schema import Alert
from storage.store import Store
from tests.alerts.fakes import FakeMessenger

AddMentions = Callable[..., None]  # the ``add_mentions`` fixture of tests/conftest.py
NOW = datetime(2026, 3, 15, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
BRANDS = [("Поляр Банк", True), ("Борей", False)]
EVIL = "<script>alert(1)</script> & <b>жирный</b>"


def _alert(
    store: Store, title: str, at: datetime, severity: str = "critical", brand: str = "Поляр Банк"
) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(Alert).values(
                dedup_key=f"k{title}{at.isoformat()}",
                rule="escalation_terms",
                brand=brand,
                channel="vk",
                severity=severity,
                state="open",
                title=title,
                details={},
                mention_ids={},
                opened_at=at,
                updated_at=at,
                triggered_at=at,
            )
        )


def _day(day_offset: int, n: int, text: str, label: str) -> list[tuple[datetime, str, str]]:
    start = NOW - timedelta(days=day_offset)
    return [(start + timedelta(minutes=10 * i), text, label) for i in range(n)]


def test_digest_names_every_brand_with_its_index_and_the_periods_alerts(
    store: Store, add_mentions: AddMentions
) -> None:
    # Yesterday: 6 negative, 2 positive for ours (index -0.5); the day before: 2 negative, 6 positive (+0.5).
    add_mentions(store, _day(1, 6, "Приложение вылетает после обновления", "negative"))
    add_mentions(store, _day(1, 2, "Поддержка ответила быстро", "positive"))
    add_mentions(store, _day(2, 2, "Приложение вылетает", "negative"))
    add_mentions(store, _day(2, 6, "Поддержка ответила быстро", "positive"))
    add_mentions(store, _day(1, 3, "Кэшбэк начислили вовремя", "positive"), brand="Борей")
    _alert(store, "Поляр Банк: жалоба с эскалацией", NOW - timedelta(hours=3))
    _alert(store, "старый алерт", NOW - timedelta(days=3))
    digest = build_digest(store, BRANDS, NOW, "Europe/Moscow")
    text = render_digest(digest, "ru")
    assert text.startswith("Дайджест за 14.03.2026 09:00 — 15.03.2026 09:00 (Europe/Moscow)")
    assert "• Поляр Банк (наш): -0,50 (было +0,50)" in text
    assert "• Борей: +1,00 (было нет оценок)" in text
    assert "Алерты за период: 1" in text and "жалоба с эскалацией" in text and "старый" not in text
    assert text.index("Поляр Банк") < text.index("Борей")  # ours first
    english = render_digest(digest, "en")
    assert "• Поляр Банк (ours): -0.50 (was +0.50)" in english and "Alerts in the period: 1" in english


def test_an_empty_period_says_so(store: Store) -> None:
    digest = build_digest(store, BRANDS, NOW, "Europe/Moscow")
    assert digest.empty
    assert render_digest(digest, "ru").endswith("За период упоминаний и алертов нет.")
    assert render_digest(digest, "en").endswith("No mentions and no alerts in the period.")


def test_hostile_titles_are_escaped_and_the_digest_fits_one_telegram_message(
    store: Store, add_mentions: AddMentions
) -> None:
    add_mentions(store, _day(1, 5, "Приложение вылетает", "negative"))
    for i in range(300):
        _alert(store, f"{EVIL} {i} " + "очень длинный заголовок " * 5, NOW - timedelta(minutes=i + 1))
    digest = build_digest(store, BRANDS, NOW, "Europe/Moscow")
    html_text = render_digest(digest, "ru", html_mode=True)
    assert len(html_text) <= TELEGRAM_LIMIT
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text and "&amp;" in html_text
    assert html_text.count("<b>") == html_text.count("</b>")  # never cut inside a tag
    assert "…и ещё " in html_text and "Алерты за период: 300" in html_text
    plain = render_digest(digest, "ru")
    assert len(plain) <= TELEGRAM_LIMIT and EVIL in plain  # plain text for stdout is left as written


def test_rising_themes_of_the_week_are_listed(store: Store, add_mentions: AddMentions) -> None:
    for day in range(1, 7):
        add_mentions(store, _day(day, 4, "Кэшбэк начислили не за ту категорию покупок", "negative"))
        add_mentions(store, _day(day, 4, "Очередь в отделении, работает одно окно", "negative"))
    digest = build_digest(store, BRANDS, NOW, "Europe/Moscow", stop_terms=["Поляр", "Борей"])
    names = [t.name for t in digest.rising]
    assert any("кэшбэк" in n for n in names) and any("очередь" in n for n in names), names
    assert "Растущие темы за 7 дней" in render_digest(digest, "ru")


def test_the_digest_is_sent_once_per_day_across_restarts(
    tmp_path: Path, telegram: FakeMessenger, add_mentions: AddMentions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`loyalty-monitor digest` twice (a restart in between): one Telegram message, escaped, in the outbox."""
    db = tmp_path / "d.db"
    store = Store.open(f"sqlite:///{db}")
    now = datetime.now(UTC)
    add_mentions(store, [(now - timedelta(hours=2), "Приложение вылетает", "negative")] * 3)
    _alert(store, EVIL, now - timedelta(hours=1))
    store.close()
    config = tmp_path / "loyalty.toml"
    config.write_text(
        "\n".join(
            [
                "[storage]",
                f'url = "sqlite:///{db}"',
                "[[brands]]",
                'name = "Поляр Банк"',
                "own = true",
                "[[alerts.destinations]]",
                'type = "telegram"',
                'name = "pr"',
                'token_env = "TG_TOKEN"',
                'chat_id = "-100"',
                f'base_url = "{telegram.url}"',
                "[digest]",
                'destinations = ["pr"]',
            ]
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("TG_TOKEN", "123:secret")
    runner = CliRunner()
    first = runner.invoke(main, ["digest", "--config", str(config)])
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, ["digest", "--config", str(config)])
    assert second.exit_code == 0 and "sent already" in second.output
    sent = [r for r in telegram.requests if r.path.endswith("/sendMessage")]
    assert len(sent) == 1
    text = sent[0].json()["text"]
    assert text.startswith("<b>Дайджест за ") and "Поляр Банк (наш)" in text
    assert "&lt;script&gt;" in text and "<script>" not in text
    store = Store.open(f"sqlite:///{db}")
    try:
        assert [r["rule"] for r in alert_rows(store)] == ["escalation_terms"]  # the digest is not an alert
    finally:
        store.close()


def test_digest_destinations_must_exist(tmp_path: Path) -> None:
    config = tmp_path / "loyalty.toml"
    config.write_text('[digest]\ndestinations = ["nowhere"]\nschedule = "09:00"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["digest", "--print", "--config", str(config)])
    assert result.exit_code != 0
    assert "digest.destinations: no alert destination named 'nowhere'" in result.output


def test_run_queues_the_scheduled_digest_once_a_day(tmp_path: Path, add_mentions: AddMentions) -> None:
    from loyalty_monitor.config import parse_config
    from loyalty_monitor.service import queue_scheduled_digest

    db = tmp_path / "s.db"
    config = parse_config(
        {
            "storage": {"url": f"sqlite:///{db}"},
            "display": {"timezone": "Europe/Moscow"},
            "brands": [{"name": "Поляр Банк", "own": True}],
            "digest": {"schedule": "09:00"},
        }
    )
    store = Store.open(config.storage.url)
    try:
        add_mentions(store, _day(1, 4, "Приложение вылетает", "negative"))
        before = datetime(2026, 3, 15, 5, 59, tzinfo=UTC)  # 08:59 in Moscow
        assert queue_scheduled_digest(config, store, before) is None
        first = queue_scheduled_digest(config, store, NOW + timedelta(minutes=1))
        assert first is not None
        assert queue_scheduled_digest(config, store, NOW + timedelta(hours=5)) is None  # a restart at 14:00
        nxt = queue_scheduled_digest(config, store, NOW + timedelta(days=1, minutes=3))  # the next morning
        assert nxt is not None and nxt != first
    finally:
        store.close()
