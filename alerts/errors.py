"""Why a delivery failed, and what the outbox does about it.

::

    DeliveryError                 any failure to hand an alert to a messenger
     ├── RetryableDelivery        5xx, timeouts, connection errors: retried with back-off, never dropped
     │    └── RateLimited         429: retried after ``retry_after`` seconds (the messenger's own figure)
     └── PermanentDelivery        the request itself is wrong (bad token, chat not found, invalid payload):
                                  retrying cannot help, the row is marked ``failed`` for ``status`` to show

Every message is scrubbed of secrets (bot tokens, webhook URLs) before it is raised, logged or stored:
:func:`scrub` is the one place that knows what they look like.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DeliveryError", "PermanentDelivery", "RateLimited", "RetryableDelivery", "scrub"]

_BOT_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
_SLACK_HOOK = re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/_-]+")


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret in ``secrets``, Telegram bot token and Slack hook path replaced."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _BOT_TOKEN.sub("bot***", text)
    return _SLACK_HOOK.sub("hooks.slack.com/services/***", text)


class DeliveryError(Exception):
    """An alert could not be delivered; the message is free of secrets."""


class RetryableDelivery(DeliveryError):
    """Worth trying again later: the messenger or the network is down."""


class RateLimited(RetryableDelivery):
    """The messenger asked us to wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDelivery(DeliveryError):
    """The request is wrong; sending it again would fail the same way."""
