"""What can go wrong while collecting, as one tree, and the one function that decides which branch applies.

::

    CollectorError                  anything a collector raises; carries ``source``
    ├── TransientError              worth retrying with back-off (the HTTP helper does it)
    │   ├── RateLimited             429, VK errors 6/9/29/14; ``retry_after`` seconds when known
    │   ├── ServerError             5xx, VK error 10
    │   └── NetworkError            timeouts, refused or reset connections
    ├── AuthError                   401/403, VK error 5, a session that cannot be created: not retried,
    │                               reported once, the source stays off until its credentials change
    ├── ParseError                  the response changed shape; names ``source`` and ``field``
    ├── NotFoundError               404/410: a channel, feed or community that is gone (others keep going)
    ├── AccessDenied                VK 15/18/30, a private wall: skipped, not an auth problem
    └── RequestError                any other 4xx or API error: our request is wrong, retrying will not help

:func:`error_for` is the only place that maps an HTTP status or an API error code to a class; collectors
call it (through :mod:`collectors.http`) rather than choosing classes themselves, so "is this retried?" has
one answer everywhere. :func:`scrub` removes secrets from any text before it reaches a log or the store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = [
    "AccessDenied",
    "AuthError",
    "CollectorError",
    "NetworkError",
    "NotFoundError",
    "ParseError",
    "RateLimited",
    "RequestError",
    "ServerError",
    "TransientError",
    "error_for",
    "parse_retry_after",
    "register_secret",
    "scrub",
]


class CollectorError(Exception):
    """Base of every collector failure. ``str()`` is safe to log: messages are scrubbed on creation."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = scrub(message)
        super().__init__(f"{source}: {self.message}")


class TransientError(CollectorError):
    """A failure that may pass on its own; retried with exponential back-off and jitter."""


class RateLimited(TransientError):
    """The platform asked us to slow down; wait ``retry_after`` seconds (``None``: use back-off)."""

    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(source, message)
        self.retry_after = retry_after


class ServerError(TransientError):
    """The platform failed (5xx or an internal API error)."""


class NetworkError(TransientError):
    """The request did not complete: timeout, refused or reset connection."""


class AuthError(CollectorError):
    """Credentials are missing, wrong, expired or lack rights. Retrying cannot fix it; a person must."""


class ParseError(CollectorError):
    """The response's shape changed: ``field`` is the path that was missing or of the wrong type."""

    def __init__(self, source: str, field: str, detail: str = "") -> None:
        self.field = field
        super().__init__(
            source, f"unexpected response shape at {field!r}" + (f": {detail}" if detail else "")
        )


class NotFoundError(CollectorError):
    """The thing polled does not exist (any more): a feed, a channel, a community."""


class AccessDenied(CollectorError):
    """The thing polled is private or blocked for us; other queries of the source are fine."""


class RequestError(CollectorError):
    """The platform rejected our request as malformed; a bug or a bad config value, not a passing fault."""


#: VK API error codes (https://dev.vk.com/reference/errors) and what they mean for us.
_VK_RATE = {6, 9, 29}
_VK_AUTH = {5, 27, 28, 1116}
_VK_SERVER = {1, 10}
_VK_DENIED = {7, 15, 18, 19, 30, 203}
_VK_CAPTCHA = 14


def error_for(
    source: str,
    *,
    status: int | None = None,
    api_code: int | str | None = None,
    message: str = "",
    retry_after: float | None = None,
    api: str = "http",
) -> CollectorError:
    """The error for an HTTP ``status`` or an ``api`` (``"vk"``, ``"telegram"``...) error ``api_code``.

    API codes win over the status because VK and the Bot API report failures with HTTP 200.
    """
    detail = message.strip()
    if api == "vk" and api_code is not None:
        code = int(api_code)
        text = f"VK error {code}: {detail}"
        if code in _VK_RATE:
            return RateLimited(source, text, retry_after)
        if code in _VK_AUTH:
            return AuthError(source, text)
        if code in _VK_SERVER:
            return ServerError(source, text)
        if code in _VK_DENIED:
            return AccessDenied(source, text)
        if code == _VK_CAPTCHA:
            # A captcha means "a human must slow down": not something a bot can retry through.
            return RateLimited(source, text + " (captcha requested; lower the request rate)", None)
        if code == 100 or code == 113:
            return RequestError(source, text)
        return RequestError(source, text)
    if api == "google" and api_code is not None:
        reason = str(api_code)
        text = f"HTTP {status} {reason}: {detail}"
        if reason in {"quotaExceeded", "dailyLimitExceeded"}:
            # The daily quota resets at midnight Pacific time: waiting within a poll cannot help.
            return RateLimited(source, text + " (daily quota used up)", retry_after=float("inf"))
        if reason in {"rateLimitExceeded", "userRateLimitExceeded"}:
            return RateLimited(source, text, retry_after)
        if reason in {"keyInvalid", "keyExpired", "accessNotConfigured", "authError", "forbidden"}:
            return AuthError(source, text)
        if reason in {"commentsDisabled", "videoNotFound", "channelNotFound", "notFound"}:
            return AccessDenied(source, text) if reason == "commentsDisabled" else NotFoundError(source, text)
    if api == "atproto" and isinstance(api_code, str):
        if api_code in {
            "ExpiredToken",
            "InvalidToken",
            "AuthenticationRequired",
            "AuthMissing",
            "AccountTakedown",
        }:
            return AuthError(source, f"{api_code}: {detail}")
        if api_code == "RateLimitExceeded":
            return RateLimited(source, f"{api_code}: {detail}", retry_after)
    if api_code is not None and status is None:
        # Other JSON APIs (Bot API, Bluesky's "error" names) that carry an HTTP-like code.
        try:
            status = int(api_code)
        except ValueError:
            name = str(api_code)
            if name in {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"}:
                return AuthError(source, f"{name}: {detail}")
            if name == "RateLimitExceeded":
                return RateLimited(source, f"{name}: {detail}", retry_after)
            return RequestError(source, f"{name}: {detail}")
    if status is None:
        return CollectorError(source, detail or "unknown failure")
    text = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status == 429:
        return RateLimited(source, text, retry_after)
    if status in (401, 403):
        return AuthError(source, text)
    if status in (404, 410):
        return NotFoundError(source, text)
    if status == 408 or status >= 500:
        return ServerError(source, text)
    if 400 <= status < 500:
        return RequestError(source, text)
    return CollectorError(source, text)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; ``None`` if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


_SECRET_PARAMS = re.compile(
    r"(?i)\b(access_token|api_key|apikey|key|token|password|client_secret|refresh_token|sig)=([^&\s\"'#]+)"
)
_BOT_PATH = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
_BEARER = re.compile(r"(?i)\b(authorization:\s*(?:bearer\s+|oauth\s+)?|bearer\s+)[A-Za-z0-9._~+/=-]+")
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value (read from the environment) so :func:`scrub` removes it wherever it shows."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with tokens removed: URL parameters, Bot API paths, bearer headers and known secret values."""
    for secret in sorted({*_known_secrets, *(s for s in secrets if s)}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)
    text = _BOT_PATH.sub("/bot***", text)
    return _BEARER.sub(lambda m: f"{m.group(1)}***", text)
