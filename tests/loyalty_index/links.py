"""Write brand links straight into the tables, and the plain-Python reference the SQL is checked against."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert

from loyalty_index.stats import loyalty_index
from storage.schema import MentionBrand, MentionRow
from storage.store import Store


@dataclass(frozen=True)
class Link:
    brand: str
    channel: str
    published_at: datetime
    label: str
    corrected_label: str | None = None
    counted: bool = True


def write_links(store: Store, links: Sequence[Link], *, clear: bool = True) -> None:
    with store.engine.begin() as conn:
        if clear:
            conn.execute(delete(MentionBrand))
            conn.execute(delete(MentionRow))
        if not links:
            return
        now = datetime(2026, 1, 1, tzinfo=UTC)
        mentions = [
            {
                "id": i + 1,
                "source": "t",
                "external_id": str(i),
                "channel": link.channel,
                "text": f"m{i}",
                "text_hash": f"{i:032d}",
                "published_at": link.published_at,
                "collected_at": now,
            }
            for i, link in enumerate(links)
        ]
        conn.execute(insert(MentionRow), mentions)
        conn.execute(
            insert(MentionBrand),
            [
                {
                    "mention_id": i + 1,
                    "brand": link.brand,
                    "channel": link.channel,
                    "published_at": link.published_at,
                    "label": link.label,
                    "score": 0.9,
                    "model_version": "test",
                    "corrected_label": link.corrected_label,
                    "counted": link.counted,
                }
                for i, link in enumerate(links)
            ],
        )


def ref_bucket(ts: datetime, bucket: str, tz: str) -> datetime:
    """Independent of loyalty_index.index: wall-clock arithmetic on the local time."""
    local = ts.astimezone(ZoneInfo(tz))
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    d = local.date()
    if bucket == "week":
        d = d - timedelta(days=d.weekday())
    return datetime.combine(d, datetime.min.time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def reference_series(
    links: Sequence[Link],
    bucket: str,
    tz: str,
    *,
    by_channel: bool = True,
    since: datetime | None = None,
    until: datetime | None = None,
    brands: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
) -> dict[tuple[str, str | None, datetime], tuple[int, int, int, float | None, bool]]:
    acc: dict[tuple[str, str | None, datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
    for link in links:
        if not link.counted:
            continue
        if since is not None and link.published_at < since:
            continue
        if until is not None and link.published_at >= until:
            continue
        if brands is not None and link.brand not in brands:
            continue
        if channels is not None and link.channel not in channels:
            continue
        label = link.corrected_label or link.label
        key = (link.brand, link.channel if by_channel else None, ref_bucket(link.published_at, bucket, tz))
        acc[key][("positive", "negative", "neutral").index(label)] += 1
    out = {}
    for key, (p, n, u) in acc.items():
        idx = None if p + n == 0 else (p - n) / (p + n)
        out[key] = (p, n, u, idx, loyalty_index(p, n, u).low_support)
    return out
