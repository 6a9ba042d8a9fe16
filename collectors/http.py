"""The one way collectors talk HTTP: polite (throttled, identified, timed out) and retried with back-off.

Why one helper: every source needs the same politeness, and "which failures are retried, for how long"
must have a single answer. :class:`Http` wraps the ``httpx.AsyncClient`` a collector is given (never one it
builds), throttles per source *and token* with asyncio-throttle, maps failures through
:func:`collectors.errors.error_for`, retries transient ones with exponential back-off plus jitter, honours
``Retry-After`` and ``X-Ratelimit-*`` headers, and never puts a secret into an error message.

Tests make back-off instant by passing a :class:`RetryPolicy` whose ``sleep`` records the delays.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, cast

import httpx
from asyncio_throttle.throttler import Throttler

from collectors.errors import (
    CollectorError,
    NetworkError,
    ParseError,
    RateLimited,
    TransientError,
    error_for,
    parse_retry_after,
    scrub,
)
from collectors.settings import SourceSettings
from core.scrub import ScrubFilter, install_log_scrubbing

__all__ = [
    "USER_AGENT",
    "Http",
    "RetryPolicy",
    "ScrubFilter",
    "install_log_scrubbing",
    "make_client",
    "throttler_for",
    "use_shared_throttlers",
]

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("loyalty-monitor")
    except metadata.PackageNotFoundError:
        return "0.1.0"


USER_AGENT = f"loyalty-monitor/{_version()} (+https://github.com/loyalty-monitor)"

Sleep = Callable[[float], Awaitable[None]]
#: Inspects a decoded JSON body; returns the error it reports (VK and Bot API fail with HTTP 200) or None.
ApiCheck = Callable[[Any, httpx.Response], CollectorError | None]
#: Names the API whose error bodies refine a 4xx/5xx (``"google"``: ``error.errors[0].reason``,
#: ``"atproto"``: ``{"error": "ExpiredToken"}``), so a quota or an expired session is told from a ban.
ErrorDialect = str
#: Query parameters: a mapping, or pairs when a key repeats (``uris=a&uris=b``).
Params = Mapping[str, Any] | list[tuple[str, Any]] | None


@dataclass(slots=True)
class RetryPolicy:
    """How transient failures are retried. ``sleep`` is injectable so tests never wait."""

    max_retries: int = 4
    base_s: float = 1.0
    max_s: float = 60.0
    max_retry_after_s: float = 300.0
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, settings: SourceSettings, sleep: Sleep | None = None) -> RetryPolicy:
        """The policy a source's settings ask for."""
        return cls(
            max_retries=settings.max_retries,
            base_s=settings.backoff_base_s,
            max_s=settings.backoff_max_s,
            max_retry_after_s=settings.max_retry_after_s,
            sleep=sleep or asyncio.sleep,
        )

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry ``attempt`` (0-based): the server's ``Retry-After`` or "equal jitter"."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_s, self.base_s * (2**attempt))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))


_THROTTLERS: dict[tuple[str, str], Throttler] = {}

#: Builds the throttle of (source, token fingerprint, rate, period) when the limit must hold across
#: processes (``loyalty-monitor worker`` keeps it in the database); ``None``: one per process.
SharedThrottlerFactory = Callable[[str, str, int, float], AbstractAsyncContextManager[Any]]
_SHARED: list[SharedThrottlerFactory] = []
_SHARED_THROTTLERS: dict[tuple[str, str], AbstractAsyncContextManager[Any]] = {}


def use_shared_throttlers(factory: SharedThrottlerFactory | None) -> None:
    """Make every :class:`Http` built from now on throttle through ``factory`` (``None``: in-process again).

    Why: a token's quota belongs to the platform account, not to one process; several workers polling
    with one token must share it.
    """
    _SHARED.clear()
    _SHARED_THROTTLERS.clear()
    if factory is not None:
        _SHARED.append(factory)


def throttler_for(
    source: str, token: str | None, rate: int, period: float
) -> Throttler | AbstractAsyncContextManager[Any]:
    """The throttler shared by every request of ``source`` made with ``token`` (limits are per token)."""
    fingerprint = hashlib.sha256((token or "").encode()).hexdigest()[:16]
    key = (source, fingerprint)
    if _SHARED:
        shared = _SHARED_THROTTLERS.get(key)
        if shared is None:
            shared = _SHARED_THROTTLERS[key] = _SHARED[0](source, fingerprint, rate, period)
        return shared
    throttler = _THROTTLERS.get(key)
    if throttler is None or throttler.rate_limit != rate or throttler.period != period:
        throttler = _THROTTLERS[key] = Throttler(rate_limit=rate, period=period)
    return throttler


def make_client(settings: SourceSettings | None = None) -> httpx.AsyncClient:
    """The client the runner builds per source: identified, with timeouts, following redirects."""
    install_log_scrubbing()
    timeout = settings.timeout_s if settings is not None else 20.0
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
    )


class Http:
    """Throttled, retried requests for one source. Raises only :class:`CollectorError` subclasses."""

    def __init__(
        self,
        source: str,
        client: httpx.AsyncClient,
        settings: SourceSettings,
        *,
        retry: RetryPolicy | None = None,
        token: str | None = None,
        error_dialect: ErrorDialect = "http",
    ) -> None:
        self.source = source
        self.error_dialect = error_dialect
        self.client = client
        self.settings = settings
        self.retry = retry or RetryPolicy.from_settings(settings)
        self.throttler = throttler_for(source, token, settings.requests_per_s, settings.rate_period_s)
        self._not_before = 0.0

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Params = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        api_check: ApiCheck | None = None,
        decode_json: bool = False,
    ) -> tuple[httpx.Response, Any]:
        """Send a request, retrying transient failures; returns the response and (if asked) its JSON."""
        attempt = 0
        while True:
            try:
                return await self._once(method, url, params, data, json_body, headers, api_check, decode_json)
            except TransientError as exc:
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
                if attempt >= self.retry.max_retries:
                    raise
                if retry_after is not None and retry_after > self.retry.max_retry_after_s:
                    raise
                delay = self.retry.delay(attempt, retry_after)
                log.info("%s: %s; retry %d in %.1fs", self.source, exc.message, attempt + 1, delay)
                await self.retry.sleep(delay)
                attempt += 1

    async def get_json(
        self,
        url: str,
        *,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        api_check: ApiCheck | None = None,
    ) -> Any:
        """GET and decode JSON (a body that is not JSON is a :class:`ParseError`)."""
        _, body = await self.request(
            "GET", url, params=params, headers=headers, api_check=api_check, decode_json=True
        )
        return body

    async def _once(
        self,
        method: str,
        url: str,
        params: Params,
        data: Mapping[str, Any] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
        api_check: ApiCheck | None,
        decode_json: bool,
    ) -> tuple[httpx.Response, Any]:
        wait = self._not_before - time.monotonic()
        if wait > 0:
            await self.retry.sleep(wait)
        merged = {"User-Agent": USER_AGENT, **(headers or {})}
        async with self.throttler:
            try:
                response = await self.client.request(
                    method,
                    url,
                    params=cast(Any, params),
                    data=data,
                    json=json_body,
                    headers=merged,
                    timeout=self.settings.timeout_s,
                )
            except httpx.TimeoutException as exc:
                raise NetworkError(
                    self.source, f"timeout after {self.settings.timeout_s}s: {type(exc).__name__}"
                ) from None
            except httpx.TransportError as exc:
                raise NetworkError(self.source, f"{type(exc).__name__}: {scrub(str(exc))}") from None
        self._note_rate_headers(response)
        if response.status_code >= 400:
            raise self._status_error(response)
        body: Any = None
        if decode_json or api_check is not None:
            body = _decode(self.source, response)
        if api_check is not None:
            err = api_check(body, response)
            if err is not None:
                raise err
        return response, body

    def _status_error(self, response: httpx.Response) -> CollectorError:
        snippet = " ".join(response.text[:300].split())
        path = response.request.url.path
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            retry_after = _reset_seconds(response)
        return error_for(
            self.source,
            status=response.status_code,
            api_code=_error_name(self.error_dialect, response),
            api=self.error_dialect,
            message=f"{response.request.method} {path}: {snippet}",
            retry_after=retry_after,
        )

    def _note_rate_headers(self, response: httpx.Response) -> None:
        """Pause before the next request when the platform says the window is used up (Reddit, Mastodon)."""
        remaining = response.headers.get("X-Ratelimit-Remaining")
        if remaining is None:
            return
        try:
            left = float(remaining)
        except ValueError:
            return
        if left < 1:
            reset = _reset_seconds(response)
            if reset is not None:
                self._not_before = time.monotonic() + min(reset, self.retry.max_retry_after_s)


def _reset_seconds(response: httpx.Response) -> float | None:
    """``X-Ratelimit-Reset`` as seconds from now: Reddit sends seconds, Mastodon an ISO timestamp."""
    value = response.headers.get("X-Ratelimit-Reset")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_name(dialect: str, response: httpx.Response) -> str | None:
    """The API's own error name in a failed response's JSON body, for dialects that have one."""
    if dialect not in ("google", "atproto"):
        return None
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    if dialect == "atproto":
        name = body.get("error")
        return name if isinstance(name, str) else None
    err = body.get("error")
    if isinstance(err, dict):
        errors = err.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            reason = errors[0].get("reason")
            return reason if isinstance(reason, str) else None
    return None


def _decode(source: str, response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(source, "<body>", f"not JSON ({exc.__class__.__name__})") from None
