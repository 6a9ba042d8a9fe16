"""What can go wrong while collecting: the core error tree (:mod:`core.errors`) and the API dialects.

::

    CollectorError (core ServiceError)  anything a collector raises; carries ``source`` (``service``)
    ├── TransientError              worth retrying with back-off (the HTTP helper does it)
    │   ├── RateLimited             429, VK errors 6/9/29/14; ``retry_after`` seconds when known
    │   ├── ServerError             5xx, VK error 10
    │   └── NetworkError            timeouts, refused or reset connections
    └── PermanentError
        ├── AuthError               401/403, VK error 5, a session that cannot be created: not retried,
        │                           reported once, the source stays off until its credentials change
        ├── ParseError              the response changed shape; names ``source`` and ``field``
        ├── NotFoundError           404/410: a channel, feed or community that is gone (others keep going)
        ├── AccessDenied            VK 15/18/30, a private wall: skipped, not an auth problem
        └── RequestError            any other 4xx or API error: our request is wrong, retrying will not help

:func:`error_for` maps an API error code (VK, Google, AT Protocol, the Bot API report failures with HTTP
200) to a class and leaves HTTP statuses to :func:`core.errors.error_for_status`, the one status mapper of
every HTTP client (the alert senders use it too); collectors call it (through :mod:`collectors.http`)
rather than choosing classes themselves, so "is this retried?" has one answer everywhere. :func:`scrub`
(:mod:`core.scrub`, the one scrubber, re-exported) removes secrets from any text before it reaches a log or
the store; every error's message goes through it (it is :mod:`core.errors`' default redactor).
"""

from __future__ import annotations

from core.errors import (
    AccessDenied,
    AuthError,
    NetworkError,
    NotFoundError,
    ParseError,
    PermanentError,
    RateLimited,
    RequestError,
    ServerError,
    ServiceError,
    TransientError,
    error_for_status,
    parse_retry_after,
)
from core.scrub import register_secret, scrub

__all__ = [
    "AccessDenied",
    "AuthError",
    "CollectorError",
    "NetworkError",
    "NotFoundError",
    "ParseError",
    "PermanentError",
    "RateLimited",
    "RequestError",
    "ServerError",
    "TransientError",
    "error_for",
    "parse_retry_after",
    "register_secret",
    "scrub",
]


CollectorError = ServiceError
"""Anything a collector raises: the core tree's root, under the name the collectors use."""

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
    return error_for_status(source, status, detail, retry_after)
