"""Cursors as stored state: where a query's last finished sweep reached, and where an unfinished one stands.

Search APIs return newest first and page backwards. A *sweep* pages from the newest item down to the
*floor*: the newest item of the previous finished sweep (the high-water mark), or ``since`` when
backfilling, or ``initial_lookback_h`` ago on a query's first poll. After every page the cursor records the
page token to continue from, so a process killed mid-sweep resumes on the next page instead of starting
over; when the sweep reaches the floor (already-seen ground) the newest timestamp it saw becomes the new
high-water mark. The floor is inclusive, so items sharing the boundary second are seen twice and the store
(idempotent by source and external id) keeps one copy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.base import Page
from core.mention import Mention

__all__ = ["SweepCursor", "sweep"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SweepCursor:
    """The JSON stored per (source, query). Timestamps are unix seconds (UTC)."""

    high_water: float | None = None
    next: str | None = None
    top: float | None = None
    floor: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> SweepCursor:
        """Decode a stored cursor; an unreadable one (an older format) starts afresh rather than failing."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return cls(
                high_water=_num(data.get("high_water")),
                next=data.get("next") if isinstance(data.get("next"), str) else None,
                top=_num(data.get("top")),
                floor=_num(data.get("floor")),
                extra=dict(data["extra"]) if isinstance(data.get("extra"), dict) else {},
            )
        except ValueError:
            log.warning("ignoring unreadable cursor %r", raw[:80])
            return cls()

    def dump(self) -> str:
        """The cursor as compact JSON, for :meth:`storage.store.Store.save_page`."""
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


#: Fetches one page given a page token (``None``: the newest page) and the sweep's floor (unix seconds, so a
#: source can skip sub-requests for old items); returns the page's mentions and the next token.
FetchPage = Callable[[str | None, float], Awaitable[tuple[list[Mention], str | None]]]


async def sweep(
    raw_cursor: str | None,
    since: datetime | None,
    fetch_page: FetchPage,
    *,
    max_pages: int,
    lookback_h: float,
    overlap_s: float = 0.0,
    now: datetime | None = None,
) -> AsyncIterator[Page]:
    """Drive a newest-first paginated API from ``raw_cursor`` down to the floor, yielding resumable pages.

    Top-level items (no ``parent_external_id``) older than the floor end the sweep; comments are kept when
    they are newer than the floor even if their post is older, as a comment is new ground of its own.
    Pinned posts (``raw["is_pinned"]`` on VK, ``raw["pinned"]`` on Mastodon) sit on top of a wall whatever
    their age, so they never end a sweep.
    """
    cur = SweepCursor.load(raw_cursor)
    now = now or datetime.now(UTC)
    since_ts = since.timestamp() if since is not None else None
    if cur.next is None:
        if cur.high_water is not None:
            floor = cur.high_water - overlap_s
        elif since_ts is not None:
            floor = since_ts
        else:
            floor = (now - timedelta(hours=lookback_h)).timestamp()
        cur.top = None
    else:
        floor = cur.floor if cur.floor is not None else (cur.high_water or 0.0)
    if since_ts is not None:
        floor = min(floor, since_ts)
    cur.floor = floor
    token = cur.next
    pages = 0
    while True:
        mentions, next_token = await fetch_page(token, floor)
        pages += 1
        kept = [m for m in mentions if m.published_at.timestamp() >= floor]
        reached = any(
            m.parent_external_id is None and not _pinned(m) and m.published_at.timestamp() < floor
            for m in mentions
        )
        if kept:
            newest = max(m.published_at.timestamp() for m in kept)
            cur.top = newest if cur.top is None else max(cur.top, newest)
        finished = reached or not next_token or not mentions
        if finished:
            tops = [t for t in (cur.high_water, cur.top) if t is not None]
            cur = SweepCursor(high_water=max(tops) if tops else None, extra=cur.extra)
        else:
            cur.next = next_token
        stop = finished or pages >= max_pages
        notes = [] if finished or not stop else [f"stopped after {pages} pages; resumes next poll"]
        yield Page(kept, cur.dump(), done=stop, notes=notes)
        if stop:
            return
        token = next_token


def _pinned(m: Mention) -> bool:
    return bool(m.raw.get("is_pinned") or m.raw.get("pinned"))
