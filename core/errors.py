"""What a remote service (a platform API, a messenger) can do to us, as one tree, and the one mapping from an
HTTP status to a branch of it.

::

    ServiceError                    anything a remote service did to us; carries ``service`` (its name)
    ├── TransientError              may pass on its own: retried with back-off
    │   ├── RateLimited             429 or an API's "slow down"; ``retry_after`` seconds when known
    │   ├── ServerError             5xx, 408, an API's internal error
    │   └── NetworkError            no complete answer: timeout, refused or reset connection
    └── PermanentError              the same request will fail the same way: a person or a fix must act
        ├── AuthError               401/403, bad or expired credentials
        ├── NotFoundError           404/410: a feed, channel, community or chat that is gone
        ├── AccessDenied            private or blocked for us (not a credentials problem)
        ├── ParseError              the answer changed shape; names ``field``
        └── RequestError            any other 4xx: our request is wrong

Collectors (:mod:`collectors.errors` adds the API dialects: VK, Google, AT Protocol error codes) and the
alert senders (:mod:`alerts.senders`) raise these classes, so "is this retried?" has one answer for every
HTTP client: :func:`error_for_status` is the only place an HTTP status becomes a class.

Messages are redacted when an error is created (``str()`` is safe to log): by default with
:func:`core.scrub.scrub`, the one scrubber (every secret registered from the configuration, and secret-looking
URL parts); :func:`set_redactor` replaces it (tests, or a process with its own rules).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from core.scrub import scrub

__all__ = [
    "AccessDenied",
    "AuthError",
    "NetworkError",
    "NotFoundError",
    "ParseError",
    "PermanentError",
    "RateLimited",
    "RequestError",
    "ServerError",
    "ServiceError",
    "TransientError",
    "error_for_status",
    "parse_retry_after",
    "set_redactor",
]


_redact: Callable[[str], str] = scrub


def set_redactor(redact: Callable[[str], str]) -> None:
    """Apply ``redact`` to the message of every :class:`ServiceError` created from now on."""
    global _redact
    _redact = redact


class ServiceError(Exception):
    """Base of every remote failure. ``service`` names the source or destination; ``message`` is redacted."""

    def __init__(self, service: str, message: str) -> None:
        self.service = service
        self.message = _redact(message)
        super().__init__(f"{service}: {self.message}")

    @property
    def source(self) -> str:
        """The collectors' word for :attr:`service`: the source that failed."""
        return self.service


class TransientError(ServiceError):
    """A failure that may pass on its own; retried with exponential back-off and jitter."""


class RateLimited(TransientError):
    """The service asked us to slow down; wait ``retry_after`` seconds (``None``: use back-off)."""

    def __init__(self, service: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(service, message)
        self.retry_after = retry_after


class ServerError(TransientError):
    """The service failed (5xx, a timeout on its side, an internal API error)."""


class NetworkError(TransientError):
    """The request did not complete: timeout, refused or reset connection."""


class PermanentError(ServiceError):
    """Retrying the same request cannot help."""


class AuthError(PermanentError):
    """Credentials are missing, wrong, expired or lack rights. Retrying cannot fix it; a person must."""


class NotFoundError(PermanentError):
    """The thing asked for does not exist (any more): a feed, a channel, a community, a chat."""


class AccessDenied(PermanentError):
    """The thing asked for is private or blocked for us; other requests to the service are fine."""


class ParseError(PermanentError):
    """The answer's shape changed: ``field`` is the path that was missing or of the wrong type."""

    def __init__(self, service: str, field: str, detail: str = "") -> None:
        self.field = field
        super().__init__(
            service, f"unexpected response shape at {field!r}" + (f": {detail}" if detail else "")
        )


class RequestError(PermanentError):
    """The service rejected our request as malformed; a bug or a bad config value, not a passing fault."""


def error_for_status(
    service: str, status: int, message: str = "", retry_after: float | None = None
) -> ServiceError:
    """The error for an HTTP ``status`` (a plain :class:`ServiceError` for one that is not a failure).

    ``message`` is the service's own explanation; the error reads ``HTTP <status>: <message>``.
    """
    detail = message.strip()
    text = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status == 429:
        return RateLimited(service, text, retry_after)
    if status in (401, 403):
        return AuthError(service, text)
    if status in (404, 410):
        return NotFoundError(service, text)
    if status == 408 or status >= 500:
        return ServerError(service, text)
    if 400 <= status < 500:
        return RequestError(service, text)
    return ServiceError(service, text)


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
