"""The PostgreSQL primitives the workers share: SKIP LOCKED tag claims, the leader's advisory lock, the
database-backed rate limit. Each test uses two engines (two "processes") on one real server."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.mention import Mention
from storage.coordination import (
    AdvisoryLease,
    SharedThrottler,
    done_alert_pending,
    reserve_slot,
    tag_batch,
    take_alert_pending,
)
from storage.schema import MentionBrand, MentionRow
from storage.store import BrandLabel, PendingMention, Store, TaggedMention

pytestmark = pytest.mark.postgres


@pytest.fixture
def second(pg_store: Store) -> Iterator[Store]:
    """Another engine on the same schema: what a second worker process would hold."""
    other = Store.open(str(pg_store.engine.url.render_as_string(hide_password=False)), migrate_schema=False)
    yield other
    other.close()


def _seed(store: Store, n: int) -> None:
    now = datetime.now(UTC)
    store.upsert_mentions(
        [Mention("t", str(i), "vk", f"Полярбанк случай {i}", published_at=now) for i in range(n)]
    )


def _label(pending: Sequence[PendingMention]) -> list[TaggedMention]:
    return [TaggedMention(p, [BrandLabel("Полярбанк", "negative", 0.9, "test@1")]) for p in pending]


def test_two_workers_never_claim_the_same_mention(pg_store: Store, second: Store) -> None:
    _seed(pg_store, 40)
    inside = threading.Event()
    release = threading.Event()
    first_ids: list[int] = []

    def slow(pending: Sequence[PendingMention]) -> list[TaggedMention]:
        first_ids.extend(p.id for p in pending)
        inside.set()
        release.wait(10)
        return _label(pending)

    t = threading.Thread(target=lambda: tag_batch(pg_store.engine, 15, slow, queue_alerts=True))
    t.start()
    assert inside.wait(10)
    # While the first batch is being labelled, the second worker gets the next ones, never the same.
    other = tag_batch(second.engine, 100, _label, queue_alerts=True)
    release.set()
    t.join()
    assert other.tagged == 25 and len(first_ids) == 15
    with pg_store.engine.connect() as conn:
        links = conn.execute(select(MentionBrand.mention_id)).scalars().all()
        untagged = conn.execute(select(func.count()).where(MentionRow.tagged_at.is_(None))).scalar_one()
    assert sorted(links) == sorted(set(links)) and len(links) == 40 and untagged == 0
    queued = take_alert_pending(pg_store.engine, 100)
    assert len(queued) == 40
    done_alert_pending(pg_store.engine, queued)
    assert take_alert_pending(pg_store.engine, 100) == []


def test_a_failed_batch_returns_to_the_pool(pg_store: Store, second: Store) -> None:
    _seed(pg_store, 10)

    def crash(pending: Sequence[PendingMention]) -> list[TaggedMention]:
        raise RuntimeError("worker died mid-batch")

    with pytest.raises(RuntimeError):
        tag_batch(pg_store.engine, 10, crash, queue_alerts=False)
    again = tag_batch(second.engine, 10, _label, queue_alerts=False)
    assert again.tagged == 10
    assert take_alert_pending(pg_store.engine, 10) == []  # queue_alerts=False queues nothing


def test_one_leader_at_a_time_and_takeover_when_it_lets_go(pg_store: Store, second: Store) -> None:
    a, b = AdvisoryLease(pg_store.engine), AdvisoryLease(second.engine)
    assert a.try_acquire() and a.holds()
    assert not b.try_acquire()
    assert a.try_acquire()  # holding it already is holding it
    a._conn.invalidate()  # type: ignore[union-attr]  # the leader's session dies (a SIGKILL or a lost connection)
    assert not a.holds()
    assert b.try_acquire() and b.holds()
    assert not a.try_acquire()
    b.release()
    assert a.try_acquire()
    a.release()


def test_the_rate_limit_holds_across_workers(pg_store: Store, second: Store) -> None:
    slots = []
    for store in (pg_store, second, pg_store, second):
        wait = reserve_slot(store.engine, "vk:abc", 0.2)
        slots.append(time.monotonic() + wait)  # when this request may go
    # Four requests from two workers on one token go out at least 0.2 s apart, whoever asks.
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 0.2 - 0.05, gaps
    assert reserve_slot(pg_store.engine, "vk:other-token", 0.2) == pytest.approx(0.0, abs=0.05)


async def test_shared_throttler_spaces_requests(pg_store: Store, second: Store) -> None:
    throttles = [SharedThrottler(s.engine, "rss:x", rate=10, period=1.0) for s in (pg_store, second)]
    start = time.monotonic()
    for i in range(6):
        async with throttles[i % 2]:
            pass
    assert time.monotonic() - start >= 0.45  # six requests at 10/s: at least five gaps of 0.1 s
