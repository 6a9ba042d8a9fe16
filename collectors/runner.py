"""Polling: every enabled source concurrently, each contained so one failure never reaches another.

For each query :func:`poll_source` reads the stored cursor, iterates the collector's pages, commits each
page with its cursor (:meth:`Store.save_page`) and hands the new mention ids to ``on_page`` (the pipeline
tags them). A kill between pages loses nothing: the next poll resumes from the last committed cursor.

Failures are recorded in the store's source health with scrubbed messages. An :class:`AuthError` stops the
source for this poll, is logged once at ERROR, and :func:`collect_once` then skips the source until its
token changes, instead of hammering the platform with a bad credential every poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx

from collectors.base import Collector
from collectors.errors import AuthError, CollectorError, scrub
from collectors.http import RetryPolicy, make_client
from collectors.registry import collector_class
from collectors.settings import SourceSettings
from core.mention import Mention

__all__ = [
    "AuthGate",
    "ClientFactory",
    "OnPage",
    "PollResult",
    "StoreLike",
    "build_collector",
    "collect_once",
    "poll_source",
]

log = logging.getLogger(__name__)

OnPage = Callable[[list[int]], Awaitable[None]]
ClientFactory = Callable[[SourceSettings], httpx.AsyncClient]


class StoreLike(Protocol):
    """The part of :class:`storage.store.Store` the runner uses."""

    def get_cursor(self, source: str, query: str) -> str | None: ...
    def save_page(
        self, source: str, query: str | None, mentions: list[Mention], cursor: str | None = None
    ) -> list[int]: ...
    def record_success(self, source: str, mentions: int = 0) -> None: ...
    def record_failure(self, source: str, error: str, *, auth: bool = False) -> None: ...


@dataclass(slots=True)
class PollResult:
    """What one poll of one source did."""

    source: str
    new_ids: list[int] = field(default_factory=list)
    pages: int = 0
    errors: list[str] = field(default_factory=list)
    auth_failed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No query failed."""
        return not self.errors


class AuthGate:
    """Remembers sources whose credentials were rejected, keyed by a fingerprint of the token in use."""

    def __init__(self) -> None:
        self._failed: dict[str, str] = {}

    @staticmethod
    def fingerprint(settings: SourceSettings) -> str:
        """A one-way digest of the credentials, so a changed token reopens the gate."""
        return hashlib.sha256(repr(_credentials(settings)).encode()).hexdigest()

    def blocked(self, name: str, settings: SourceSettings) -> bool:
        """Whether ``name`` failed auth with the credentials it has now."""
        return self._failed.get(name) == self.fingerprint(settings)

    def fail(self, name: str, settings: SourceSettings) -> None:
        """Close the gate for these credentials."""
        self._failed[name] = self.fingerprint(settings)


def _credentials(settings: SourceSettings) -> tuple[str | None, ...]:
    creds = getattr(settings, "credentials", None)
    if callable(creds):
        return tuple(creds())
    return (settings.token(),)


def _secrets(settings: SourceSettings) -> list[str]:
    return [c for c in _credentials(settings) if c]


async def poll_source(
    name: str,
    collector: Collector,
    store: StoreLike,
    brand_terms: list[str],
    on_page: OnPage | None,
    since: datetime | None = None,
) -> PollResult:
    """Poll every query of one source; never raises (apart from cancellation).

    A failing query is recorded and the next one polled; an auth failure ends the source's poll.
    """
    result = PollResult(name)
    settings: SourceSettings | None = getattr(collector, "settings", None)
    secrets = _secrets(settings) if settings is not None else []
    try:
        queries = collector.queries(brand_terms)
    except Exception as exc:  # a broken plugin must not take the others down
        queries = []
        result.errors.append(_describe(exc, secrets))
    for query in queries:
        try:
            cursor = await asyncio.to_thread(store.get_cursor, name, query)
            async for page in collector.fetch(query, cursor, since):
                new_ids = await asyncio.to_thread(store.save_page, name, query, page.mentions, page.cursor)
                result.pages += 1
                result.new_ids.extend(new_ids)
                result.notes.extend(page.notes)
                if on_page is not None and new_ids:
                    await on_page(new_ids)
                if page.done:
                    break
        except AuthError as exc:
            result.auth_failed = True
            result.errors.append(_describe(exc, secrets))
            break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = _describe(exc, secrets)
            # The query may be a feed URL with a key in it (``?apikey=``): scrubbed like the message.
            where = scrub(repr(query), secrets)
            log.warning("%s: query %s failed: %s", name, where, message)
            result.errors.append(f"{where}: {message}")
    try:
        if result.auth_failed:
            log.error(
                "%s: credentials rejected, source paused until they change: %s", name, result.errors[-1]
            )
            await asyncio.to_thread(store.record_failure, name, "; ".join(result.errors)[:2000], auth=True)
        elif result.errors:
            await asyncio.to_thread(store.record_failure, name, "; ".join(result.errors)[:2000])
        else:
            await asyncio.to_thread(store.record_success, name, len(result.new_ids))
    except Exception as exc:  # the store itself failing is logged, not raised into other sources
        log.error("%s: could not record health: %s", name, _describe(exc, secrets))
    return result


def _describe(exc: BaseException, secrets: list[str]) -> str:
    """A one-line, secret-free description of ``exc``."""
    if isinstance(exc, CollectorError):
        text = f"{type(exc).__name__}: {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return scrub(text, secrets)


_DEFAULT_GATE = AuthGate()


async def collect_once(
    sources: Mapping[str, SourceSettings],
    store: StoreLike,
    brand_terms: list[str],
    on_page: OnPage | None,
    since: datetime | None = None,
    client_factory: ClientFactory = make_client,
    *,
    retry: RetryPolicy | None = None,
    auth_gate: AuthGate | None = None,
) -> dict[str, PollResult]:
    """Poll every enabled source concurrently, once. Returns each source's :class:`PollResult`.

    ``retry`` overrides every source's back-off (tests pass one with an instant ``sleep``).
    """
    gate = auth_gate or _DEFAULT_GATE

    async def one(name: str, settings: SourceSettings) -> PollResult:
        if gate.blocked(name, settings):
            log.debug("%s: skipped, its credentials were rejected and have not changed", name)
            return PollResult(name, errors=["skipped: credentials rejected earlier"], auth_failed=True)
        try:
            cls = collector_class(name)
            async with client_factory(settings) as client:
                collector = build_collector(cls, settings, client, retry)
                result = await poll_source(name, collector, store, brand_terms, on_page, since)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = _describe(exc, _secrets(settings))
            log.error("%s: %s", name, message)
            result = PollResult(name, errors=[message])
            try:
                await asyncio.to_thread(store.record_failure, name, message)
            except Exception as store_exc:
                log.error("%s: could not record health: %s", name, _describe(store_exc, []))
        if result.auth_failed:
            gate.fail(name, settings)
        return result

    enabled = {n: s for n, s in sources.items() if s.enabled}
    results = await asyncio.gather(*(one(n, s) for n, s in enabled.items()))
    return {r.source: r for r in results}


def build_collector(
    cls: type[Collector], settings: SourceSettings, client: httpx.AsyncClient, retry: RetryPolicy | None
) -> Collector:
    """Build a collector, passing ``retry`` only to collectors that accept it (outside plugins may not)."""
    if retry is not None and "retry" in inspect.signature(cls).parameters:
        return cls(settings, client, retry=retry)  # type: ignore[call-arg]
    return cls(settings, client)
