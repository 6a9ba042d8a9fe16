"""The async pipeline: collectors -> store -> brand match + sentiment (batched) -> alert evaluation.

Collectors store each page with its cursor first (so a crash loses nothing), then hand the new mention ids
to a bounded queue. When the queue is full, collectors wait: back-pressure keeps a fast source from
outrunning the model. A single tagging worker drains the queue in batches, labels them off the event loop,
stores the labels and tells the alert hooks which mentions are new. On start-up it first tags whatever was
stored but not tagged before a restart.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.clock import now_utc
from loyalty_monitor.tagging import Tagger
from storage.store import Store

__all__ = ["AfterTag", "Pipeline", "PipelineStats"]

log = logging.getLogger(__name__)

#: Called with the ids of freshly tagged mentions and the pipeline's clock; alert evaluation plugs in here.
AfterTag = Callable[[Sequence[int], datetime], object]


@dataclass(slots=True)
class PipelineStats:
    """Counts for the log line a run ends with."""

    received: int = 0
    tagged: int = 0
    linked: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


class Pipeline:
    """Owns the queue and the tagging worker; collectors call :meth:`submit`."""

    def __init__(
        self,
        store: Store,
        tagger: Tagger,
        *,
        queue_size: int = 2000,
        batch_size: int = 512,
        flush_interval_s: float = 0.5,
        after_tag: Sequence[AfterTag] = (),
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.store = store
        self.tagger = tagger
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.after_tag = list(after_tag)
        self.clock = clock
        self.queue: asyncio.Queue[list[int]] = asyncio.Queue(maxsize=queue_size)
        self.stats = PipelineStats()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, mention_ids: Sequence[int]) -> None:
        """Queue stored mention ids for tagging; waits while the queue is full."""
        if mention_ids:
            self.stats.received += len(mention_ids)
            await self.queue.put(list(mention_ids))

    async def start(self) -> None:
        """Tag what a previous run left untagged, then start the worker."""
        await self.catch_up()
        self._worker = asyncio.create_task(self._run(), name="tagger")

    async def catch_up(self) -> int:
        """Tag every stored-but-untagged mention; returns how many."""
        done = 0
        while True:
            pending = await asyncio.to_thread(self.store.untagged, self.batch_size)
            if not pending:
                return done
            await self._tag_ids([p.id for p in pending])
            done += len(pending)

    async def drain(self) -> None:
        """Wait until everything queued so far is tagged and stored."""
        await self.queue.join()

    async def stop(self) -> None:
        """Finish queued work, then stop the worker."""
        await self.drain()
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    async def _run(self) -> None:
        while True:
            first = await self.queue.get()
            ids = list(first)
            taken = 1
            deadline = asyncio.get_running_loop().time() + self.flush_interval_s
            while len(ids) < self.batch_size:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    ids.extend(await asyncio.wait_for(self.queue.get(), timeout))
                    taken += 1
                except TimeoutError:
                    break
            try:
                for start in range(0, len(ids), self.batch_size):
                    await self._tag_ids(ids[start : start + self.batch_size])
            except Exception as exc:  # a bad batch must not stop the monitor; it stays untagged
                log.exception("tagging failed; the mentions stay untagged and are retried at restart")
                self.stats.errors.append(f"tagging: {type(exc).__name__}: {exc}")
            finally:
                for _ in range(taken):
                    self.queue.task_done()

    async def _tag_ids(self, ids: Sequence[int]) -> None:
        pending = await asyncio.to_thread(self.store.pending_by_ids, ids)
        if not pending:
            return
        tagged = await asyncio.to_thread(self.tagger.tag, pending)
        await asyncio.to_thread(self.store.save_tags, tagged)
        self.stats.batches += 1
        self.stats.tagged += len(tagged)
        self.stats.linked += sum(len(t.links) for t in tagged)
        now = self.clock()
        tagged_ids = [t.mention.id for t in tagged if t.links]
        for hook in self.after_tag:
            try:
                await asyncio.to_thread(hook, tagged_ids, now)
            except Exception as exc:  # alerting trouble is reported, never allowed to stop ingestion
                log.exception("after-tag hook %r failed", hook)
                self.stats.errors.append(f"alerts: {type(exc).__name__}: {exc}")


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` so the run loop can flush and exit cleanly."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread or Windows
            pass
