"""Rows 11-13 and the one scrubber: nothing secret in status, source health, the database, the error log
or ``-v`` logging of httpx/httpcore, whichever client (collectors' or the outbox's) made the request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.lifecycle import Candidate, raise_alert
from loyalty_monitor import service
from loyalty_monitor.config import load_config
from storage.schema import AlertDelivery, SourceHealth
from storage.store import Store
from tests.alerts.fakes import FakeMessenger
from tests.collectors.server import FixtureServer, Reply
from tests.fakes import FakeSentimentModel
from tests.hostile.helpers import db_url

FEED_KEY = "FeedKey0123456789abcdef"
TG_TOKEN = "987654321:AAHostileBotToken_abcdefghijk"
SLACK_PATH = "T0HOSTILE/B0HOSTILE/slackSecretPath0123456789"


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "load_sentiment", lambda config: FakeSentimentModel())


@pytest.fixture
def feed_server() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


def test_scrubber_knows_every_kind_of_secret() -> None:
    from core.scrub import register_secret, scrub

    register_secret("registered/secret+value")
    text = (
        "GET https://x.example/feed?apikey=k1&q=ok&access_token=k2 "
        "POST https://api.telegram.org/bot123456:AAE-xyz_1/sendMessage "
        "https://hooks.slack.com/services/T1/B2/abcDEF "
        "Authorization: Bearer eyJhbGc.xyz "
        "postgresql+psycopg://me:pw0rd@db/x "
        "registered/secret+value registered%2Fsecret%2Bvalue?"
    )
    out = scrub(text)
    for leaked in ("k1", "k2", "AAE-xyz_1", "abcDEF", "eyJhbGc", "pw0rd", "registered", "secret%2B"):
        assert leaked not in out, out
    assert "q=ok" in out and "apikey=***" in out and "bot***" in out


def test_every_log_record_is_scrubbed_whatever_its_logger(caplog: pytest.LogCaptureFixture) -> None:
    from core.scrub import install_log_scrubbing, register_secret

    install_log_scrubbing()
    register_secret("child-logger-secret")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("collectors.runner").warning("feed %s failed", "https://x/?token=abc123")
    logging.getLogger("some.plugin").error("got child-logger-secret back")
    try:
        raise RuntimeError("boom child-logger-secret")
    except RuntimeError:
        logging.getLogger("x").exception("crashed")
    assert "abc123" not in caplog.text and "child-logger-secret" not in caplog.text
    assert "token=***" in caplog.text


async def test_failing_feed_with_a_key_leaks_it_nowhere(
    tmp_path: Path,
    store: Store,
    feed_server: FixtureServer,
    fake_model: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Row 12: a feed URL with ?apikey= that fails (and whose error page echoes the key)."""
    feed_server.route("/feed.xml", Reply(500, body=f"internal error for key {FEED_KEY}"))
    path = tmp_path / "loyalty.toml"
    path.write_text(
        "[sources.rss]\nmax_retries = 0\n"
        f'feeds = [{{url = "{feed_server.url}/feed.xml?apikey={FEED_KEY}&lang=ru"}}]\n'
        "[pipeline]\nrefresh_window_h = 0\n",
        encoding="utf-8",
    )
    config = load_config(path, db_url(store))
    caplog.set_level(logging.DEBUG)
    await service.run_monitor(config, once=True)
    assert feed_server.hits("/feed.xml"), "the feed was not polled"
    with store.engine.connect() as conn:
        health = conn.execute(select(SourceHealth.last_error)).scalars().all()
    assert health and health[0] and "feed.xml" in health[0]
    status = service.status_report(config)
    for where, text in (("log", caplog.text), ("database", " ".join(health)), ("status", status)):
        assert FEED_KEY not in text, f"{where}: {text}"
    assert "apikey=***" in status


async def test_verbose_http_logging_of_alert_delivery_is_scrubbed(
    tmp_path: Path,
    store: Store,
    fake_model: None,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Row 13: the outbox's client logs the Telegram bot token (URL path) and the Slack webhook URL."""
    telegram, slack = FakeMessenger("telegram"), FakeMessenger("slack")
    telegram.start()
    slack.start()
    try:
        monkeypatch.setenv("HOSTILE_TG", TG_TOKEN)
        monkeypatch.setenv("HOSTILE_SLACK", f"{slack.url}/services/{SLACK_PATH}")
        path = tmp_path / "loyalty.toml"
        path.write_text(
            "[pipeline]\nrefresh_window_h = 0\n"
            "[alerts]\ngroup_wait_s = 0\ngroup_interval_min = 0\n"
            "[[alerts.destinations]]\n"
            f'type = "telegram"\ntoken_env = "HOSTILE_TG"\nchat_id = "-100"\nbase_url = "{telegram.url}"\n'
            '[[alerts.destinations]]\ntype = "slack"\nurl_env = "HOSTILE_SLACK"\n',
            encoding="utf-8",
        )
        config = load_config(path, db_url(store))
        cand = Candidate(
            rule="repeat_complainer",
            brand="Сбербанк",
            channel="vk",
            key="k",
            severity="critical",
            facts={"author": "Жалоба в ЦБ", "complaints": 2, "days": 7.0},
            numbers={"kinds": 2},
            mention_ids=[],
        )
        with store.engine.begin() as conn:
            assert raise_alert(conn, cand, config.alerts, datetime.now(UTC)) is not None
        caplog.set_level(logging.DEBUG)
        await service.run_monitor(config, once=True)
    finally:
        telegram.stop()
        slack.stop()
    assert len(telegram.requests) == 1 and len(slack.requests) == 1
    with store.engine.connect() as conn:
        assert set(conn.execute(select(AlertDelivery.state)).scalars()) == {"sent"}
    assert "HTTP Request: POST" in caplog.text, "httpx did not log the requests"
    assert TG_TOKEN.split(":")[1] not in caplog.text
    assert SLACK_PATH not in caplog.text and "slackSecretPath" not in caplog.text


def test_dashboard_process_learns_the_secrets_its_setup_carries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard never sees the config, but the database password in its setup and its own login
    password are scrubbed from its log lines; an error's message is redacted by the same scrubber."""
    from core.errors import ServerError
    from core.scrub import scrub
    from dashboard.serve import register_setup_secrets
    from dashboard.settings import DashboardSettings, DashboardSetup

    setup = DashboardSetup(
        db_url="postgresql+psycopg://monitor:DbPassw0rd-hostile@db.example/loyalty",
        dashboard=DashboardSettings(password_env="HOSTILE_DASH_PW"),
    )
    monkeypatch.setenv(DashboardSetup.ENV, setup.model_dump_json())
    monkeypatch.setenv("HOSTILE_DASH_PW", "LoginPassw0rd-hostile")
    register_setup_secrets()
    line = scrub("connect failed: DbPassw0rd-hostile; login tried LoginPassw0rd-hostile")
    assert "DbPassw0rd" not in line and "LoginPassw0rd" not in line
    assert "DbPassw0rd" not in str(ServerError("db", "auth failed for DbPassw0rd-hostile"))
