"""`run` reads Telegram button presses only when a Telegram destination exists, in the display settings."""

from __future__ import annotations

import httpx

from alerts.senders import build_senders
from loyalty_monitor.config import Config
from loyalty_monitor.service import telegram_actions
from storage.store import Store


def _config(destinations: list[dict[str, str]]) -> Config:
    return Config.model_validate(
        {
            "brands": [{"name": "Альфа", "own": True}],
            "alerts": {"destinations": destinations},
            "display": {"language": "en", "timezone": "Asia/Yekaterinburg"},
            "dashboard": {"public_url": "https://monitor.example.com"},
        }
    )


async def test_buttons_are_read_only_with_a_telegram_destination(sqlite_store: Store) -> None:
    env = {"TG": "1:t", "SLACK": "http://127.0.0.1:9/hook"}
    slack_only = _config([{"type": "slack", "url_env": "SLACK"}])
    both = _config(
        [{"type": "slack", "url_env": "SLACK"}, {"type": "telegram", "token_env": "TG", "chat_id": "-1"}]
    )
    async with httpx.AsyncClient() as client:
        assert (
            telegram_actions(slack_only, sqlite_store, client, build_senders(slack_only.alerts, env)) is None
        )
        actions = telegram_actions(both, sqlite_store, client, build_senders(both.alerts, env))
    assert actions is not None
    assert [b.name for b in actions.bots] == ["telegram"]
    assert (actions.language, actions.timezone, actions.dashboard_url) == (
        "en",
        "Asia/Yekaterinburg",
        "https://monitor.example.com",
    )
