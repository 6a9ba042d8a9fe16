"""Why a delivery failed, and what the outbox does about it: the core error tree (:mod:`core.errors`) under
the outbox's names.

::

    DeliveryError (ServiceError)          any failure to hand an alert to a messenger
     ├── RetryableDelivery (TransientError) 5xx, timeouts, connection errors: retried with back-off
     │    └── RateLimited                 429: retried after ``retry_after`` seconds (the messenger's own
     │                                    figure; ``None``: back-off)
     └── PermanentDelivery (PermanentError) the request itself is wrong (bad token, chat not found, invalid
                                          payload): retrying cannot help, the row is marked ``failed``

Every message is scrubbed of secrets (bot tokens, webhook URLs) before it is raised, logged or stored:
:func:`scrub` is the one place that knows what they look like.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.errors import PermanentError as PermanentDelivery
from core.errors import RateLimited
from core.errors import ServiceError as DeliveryError
from core.errors import TransientError as RetryableDelivery

__all__ = ["DeliveryError", "PermanentDelivery", "RateLimited", "RetryableDelivery", "scrub"]

_BOT_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
_SLACK_HOOK = re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/_-]+")


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret in ``secrets``, Telegram bot token and Slack hook path replaced."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _BOT_TOKEN.sub("bot***", text)
    return _SLACK_HOOK.sub("hooks.slack.com/services/***", text)
