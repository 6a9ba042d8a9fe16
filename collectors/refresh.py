"""Engagement refresh: re-read the counters of young mentions while they still move.

Likes, reposts and views grow mostly in a post's first hours, and the loyalty index weighs mentions by
them, so counters read at collection time undercount. :class:`EngagementRefresher` re-polls, for each
source whose collector is :class:`~collectors.base.Refreshable` (VK ``wall.getById``, Telegram preview
pages and, for comments, the post's discussion widget, Bluesky ``getPosts``, Mastodon statuses, YouTube
``videos.list``, vc.ru content), the mentions published within ``window_h`` hours, at most every
``every_min`` minutes each, and writes what it reads with :meth:`Store.update_engagement` (which also
keeps a snapshot per observation).

Call :meth:`EngagementRefresher.refresh_sources` on a timer (every few minutes); it decides which
mentions are due. A failure of one source is logged and recorded, never raised into the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from collectors.base import Collector, Counters, Refreshable
from collectors.errors import AuthError, CollectorError, scrub
from collectors.http import RetryPolicy, make_client
from collectors.registry import collector_class
from collectors.runner import ClientFactory, build_collector
from collectors.settings import SourceSettings

__all__ = ["EngagementRefresher", "RefreshPolicy", "RefreshStore"]

log = logging.getLogger(__name__)


class RefreshStore(Protocol):
    """The part of :class:`storage.store.Store` the refresher uses."""

    def recent_mentions(self, source: str, since: datetime) -> list[tuple[str, datetime]]: ...
    def update_engagement(
        self,
        source: str,
        external_id: str,
        counters: dict[str, int | None],
        observed_at: datetime | None = None,
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """Which mentions are refreshed and how often. ``max_per_source`` caps one pass (API budgets)."""

    window_h: float = 6.0
    every_min: float = 30.0
    max_per_source: int = 500


class EngagementRefresher:
    """Remembers when each mention was last refreshed (in memory: a restart refreshes all young ones once)."""

    def __init__(
        self,
        store: RefreshStore,
        policy: RefreshPolicy | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or RefreshPolicy()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last: dict[tuple[str, str], datetime] = {}

    def due(self, source: str, now: datetime) -> list[str]:
        """External ids of ``source`` published within the window and not refreshed for ``every_min``."""
        window_start = now - timedelta(hours=self.policy.window_h)
        every = timedelta(minutes=self.policy.every_min)
        recent = self.store.recent_mentions(source, window_start)
        ids: list[str] = []
        for external_id, _published in recent:
            last = self._last.get((source, external_id))
            if last is None or now - last >= every:
                ids.append(external_id)
        # Forget mentions that aged out of the window, so the map stays small in a long-running process.
        live = {e for e, _ in recent}
        for key in [k for k in self._last if k[0] == source and k[1] not in live]:
            del self._last[key]
        return ids[: self.policy.max_per_source]

    async def refresh(self, source: str, collector: Collector | Refreshable) -> int:
        """Refresh the due mentions of one source; returns how many were updated. Raises collector errors."""
        if not isinstance(collector, Refreshable):
            return 0
        now = self.clock()
        ids = await asyncio.to_thread(self.due, source, now)
        if not ids:
            return 0
        counters: dict[str, Counters] = await collector.engagement(ids)
        updated = 0
        for external_id in ids:
            # Deleted or hidden posts are not asked for again until the next interval either.
            self._last[(source, external_id)] = now
            fresh = counters.get(external_id)
            if fresh is not None and await asyncio.to_thread(
                self.store.update_engagement, source, external_id, dict(fresh), now
            ):
                updated += 1
        return updated

    async def refresh_sources(
        self,
        sources: Mapping[str, SourceSettings],
        client_factory: ClientFactory = make_client,
        *,
        retry: RetryPolicy | None = None,
    ) -> dict[str, int | str]:
        """Refresh every enabled source that supports it, concurrently; failures become messages."""

        async def one(name: str, settings: SourceSettings) -> tuple[str, int | str]:
            try:
                cls = collector_class(name)
                async with client_factory(settings) as client:
                    return name, await self.refresh(name, build_collector(cls, settings, client, retry))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                text = exc.message if isinstance(exc, CollectorError) else str(exc)
                message = scrub(f"{type(exc).__name__}: {text}")
                level = logging.ERROR if isinstance(exc, AuthError) else logging.WARNING
                log.log(level, "%s: engagement refresh failed: %s", name, message)
                return name, message

        pairs = await asyncio.gather(*(one(n, s) for n, s in sources.items() if s.enabled))
        return dict(pairs)
