"""The one scrubber: every secret the configuration names, removed from any text before anyone sees it.

Why one module: a secret leaks through whichever path was forgotten. Collectors, the alert senders, the
status report, source health in the database and every log handler all call :func:`scrub`, and
:func:`install_log_scrubbing` makes every log record (httpx's request lines at ``-v`` included) pass through
it, whichever logger or HTTP client produced it.

What it removes:

* values registered with :func:`register_secret` (tokens, webhook URLs, HMAC secrets and passwords read
  from the environment variables the config names), also in their URL-encoded forms;
* query parameters that carry keys in any URL (``?apikey=``, ``access_token=``, ``key=``, ``sig=``...);
* Telegram bot tokens in URL paths (``/bot123456:AAH.../sendMessage``);
* Slack incoming-webhook paths (``hooks.slack.com/services/T.../B.../...``);
* ``Authorization``/``Bearer`` values and the password of ``scheme://user:password@host`` URLs.

Example::

    >>> register_secret("s3cr3t-token")
    >>> scrub("GET https://x.example/feed?apikey=abc&q=1 with s3cr3t-token")
    'GET https://x.example/feed?apikey=***&q=1 with ***'
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "ScrubFilter",
    "install_log_scrubbing",
    "known_secrets",
    "register_secret",
    "scrub",
    "secret_query_values",
]

MASK = "***"
"""What a removed secret is replaced with."""

_PARAM_NAMES = (
    r"access_token|refresh_token|id_token|client_secret|api_key|api-key|apikey|app_key|appkey|secret"
    r"|password|passwd|pwd|token|auth|key|sig|signature|session|sessionid"
)
_SECRET_PARAMS = re.compile(rf"(?i)(?<![A-Za-z0-9_-])({_PARAM_NAMES})(=|%3D)([^&\s\"'#<>]+)")
_BOT_TOKEN = re.compile(r"(?i)\bbot\d+(?::|%3A)[A-Za-z0-9_-]+")
_SLACK_HOOK = re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_-]+")
_BEARER = re.compile(
    r"(?i)\b(authorization:\s*(?:bearer\s+|oauth\s+|basic\s+)?|bearer\s+)[A-Za-z0-9._~+/=-]+"
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):([^@\s/]+)@")
_MIN_SECRET = 4  # shorter values would blank ordinary words

_lock = threading.Lock()
_known: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """Remember a secret value so :func:`scrub` removes it wherever it shows, also URL-encoded.

    Values shorter than four characters are ignored: masking every "ab" in a log helps nobody.
    """
    global _known
    if not value or len(value) < _MIN_SECRET:
        return
    forms = {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value, safe="/:")}
    with _lock:
        merged = set(_known) | {f for f in forms if len(f) >= _MIN_SECRET}
        # Longest first, so a URL is masked whole before a token inside it is.
        _known = tuple(sorted(merged, key=lambda s: (-len(s), s)))


def known_secrets() -> tuple[str, ...]:
    """The registered secret values (for tests and for checks that nothing leaked)."""
    return _known


def secret_query_values(text: str) -> list[str]:
    """The values of key-carrying query parameters in ``text`` (``?apikey=abc`` gives ``abc``)."""
    return [m.group(3) for m in _SECRET_PARAMS.finditer(text)]


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known or given secret and every secret-looking URL part replaced by ``***``."""
    extra = [s for s in secrets if s and len(s) >= _MIN_SECRET]
    values = _known if not extra else sorted({*_known, *extra}, key=len, reverse=True)
    for secret in values:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _BOT_TOKEN.sub(f"bot{MASK}", text)
    text = _SLACK_HOOK.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", text)


class ScrubFilter(logging.Filter):
    """Rewrites a record's message (and traceback) through :func:`scrub`; for handlers built elsewhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub_record(record)
        return True


def _scrub_record(record: logging.LogRecord) -> None:
    if getattr(record, "_scrubbed", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging itself reports it when the record is emitted
        return
    cleaned = scrub(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    setattr(record, "_scrubbed", True)  # noqa: B010 - LogRecord has no such attribute declared


_installed = False


def install_log_scrubbing() -> None:
    """Scrub every log record when it is created, whichever logger or handler it goes to (idempotent).

    A logger's filter does not apply to its children's records and a handler's filter misses handlers
    added later (a test's, a service manager's), so the record factory is where one place covers all.
    """
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
