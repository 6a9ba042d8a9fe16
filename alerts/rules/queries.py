"""The SQL the rules share, and the named rows it returns.

Every rule reads mentions through the same few shapes: a brand link with its mention (:class:`Link`), the
story a mention belongs to (:class:`Story`), a brand's recent complaints (:class:`Complaint`) and the
mentions an alert shows (:func:`top_mentions`). Rows are read by column name, never by position, so adding
a column cannot shift another rule's numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select, tuple_
from sqlalchemy.engine import Connection, Row

from storage.schema import MentionBrand, MentionRow, effective_label

__all__ = [
    "Complaint",
    "FirstSeen",
    "Link",
    "Story",
    "chunks",
    "link_query",
    "load_links",
    "recent_complaints",
    "stories",
    "top_mentions",
]


def chunks(items: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    """``items`` in slices short enough for an ``IN (...)`` on every database."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(frozen=True, slots=True)
class Link:
    """One brand link of a mention, with the mention's fields the rules read."""

    id: int
    brand: str
    channel: str
    label: str
    counted: bool
    text: str
    author: str | None
    reach: int | None
    url: str | None
    published_at: datetime
    duplicate_of: int | None
    source: str
    parent_external_id: str | None

    @property
    def root(self) -> int:
        """The first copy of a reposted text: copies count as spreading, never as more complaints."""
        return self.duplicate_of or self.id

    @classmethod
    def from_row(cls, r: Row[Any]) -> Link:
        """A row of :func:`link_query` (extra columns it was given are ignored)."""
        return cls(
            id=r.id,
            brand=r.brand,
            channel=r.channel,
            label=r.label,
            counted=r.counted,
            text=r.text,
            author=r.author,
            reach=r.reach,
            url=r.url,
            published_at=r.published_at,
            duplicate_of=r.duplicate_of,
            source=r.source,
            parent_external_id=r.parent_external_id,
        )


def link_query(brands: Sequence[str]) -> Select[*tuple[Any, ...]]:
    """Links of ``brands`` joined with their mentions, columns named as :class:`Link`'s fields."""
    return (
        select(
            MentionBrand.mention_id.label("id"),
            MentionBrand.brand.label("brand"),
            MentionBrand.channel.label("channel"),
            effective_label().label("label"),
            MentionBrand.counted.label("counted"),
            MentionRow.text.label("text"),
            MentionRow.author.label("author"),
            MentionRow.author_reach.label("reach"),
            MentionRow.url.label("url"),
            MentionRow.published_at.label("published_at"),
            MentionRow.duplicate_of.label("duplicate_of"),
            MentionRow.source.label("source"),
            MentionRow.parent_external_id.label("parent_external_id"),
        )
        .join(MentionRow, MentionRow.id == MentionBrand.mention_id)
        .where(MentionBrand.brand.in_(list(brands)))
    )


def load_links(conn: Connection, brands: Sequence[str], ids: Sequence[int]) -> list[Link]:
    """The links of ``brands`` among the mentions ``ids``."""
    out: list[Link] = []
    for chunk in chunks(sorted(set(ids))):
        rows = conn.execute(link_query(brands).where(MentionBrand.mention_id.in_(chunk))).all()
        out.extend(Link.from_row(r) for r in rows)
    return out


@dataclass(frozen=True, slots=True)
class Story:
    """The case a mention belongs to: its root post, and the root's author and channel."""

    root: int
    author: str | None
    channel: str


def stories(conn: Connection, links: Sequence[Link]) -> dict[int, Story]:
    """Mention id -> its :class:`Story`.

    Repost copies go onto their original, replies and comments onto the post they answer
    (``parent_external_id`` within the same source, up to three levels).

    A story is what PR handles as one case: the loud post, its reposts and the pile-on under it.
    """
    roots = {lk.id: lk.root for lk in links}
    pending: dict[int, tuple[str, str]] = {
        lk.id: (lk.source, lk.parent_external_id) for lk in links if lk.parent_external_id
    }
    for _ in range(3):
        if not pending:
            break
        keys = sorted(set(pending.values()))
        found: dict[tuple[str, str], Any] = {}
        for start in range(0, len(keys), 400):
            for r in conn.execute(
                select(
                    MentionRow.id,
                    MentionRow.source,
                    MentionRow.external_id,
                    MentionRow.duplicate_of,
                    MentionRow.parent_external_id,
                    MentionRow.author,
                ).where(tuple_(MentionRow.source, MentionRow.external_id).in_(keys[start : start + 400]))
            ).all():
                found[(r.source, r.external_id)] = r
        nxt: dict[int, tuple[str, str]] = {}
        for mid, key in pending.items():
            parent = found.get(key)
            if parent is None:
                continue
            roots[mid] = parent.duplicate_of or parent.id
            if parent.parent_external_id:
                nxt[mid] = (parent.source, parent.parent_external_id)
        pending = nxt
    info: dict[int, tuple[str | None, str]] = {}
    for chunk in chunks(sorted(set(roots.values()))):
        for root_row in conn.execute(
            select(MentionRow.id, MentionRow.author, MentionRow.channel).where(MentionRow.id.in_(chunk))
        ).all():
            info[root_row.id] = (root_row.author, root_row.channel)
    out: dict[int, Story] = {}
    for mid, root in roots.items():
        author, channel = info.get(root, (None, ""))
        out[mid] = Story(root, author, channel)
    return out


def top_mentions(conn: Connection, ids: Iterable[int], limit: int) -> list[dict[str, Any]]:
    """The alert's mentions to show: roots only, with their copies counted, biggest reach first.

    Stored as JSON in ``alerts.details.top``, so a messenger renders them without another query.
    """
    wanted = sorted(set(ids))[-500:]
    if not wanted:
        return []
    rows = conn.execute(
        select(
            MentionRow.id,
            MentionRow.text,
            MentionRow.url,
            MentionRow.author,
            MentionRow.author_reach,
            MentionRow.channel,
            MentionRow.published_at,
        ).where(MentionRow.id.in_(wanted))
    ).all()
    copies: dict[int, int] = {
        r.root: int(r.n)
        for r in conn.execute(
            select(MentionRow.duplicate_of.label("root"), func.count().label("n"))
            .where(MentionRow.duplicate_of.in_(wanted))
            .group_by(MentionRow.duplicate_of)
        ).all()
    }
    top = [
        {
            "id": r.id,
            "text": r.text[:1000],
            "url": r.url,
            "author": r.author,
            "reach": r.author_reach,
            "channel": r.channel,
            "published_at": r.published_at.isoformat(),
            "copies": copies.get(r.id, 0),
        }
        for r in rows
    ]
    top.sort(key=lambda m: (-(m["reach"] or 0) * (1 + m["copies"]), -m["id"]))
    return top[:limit]


@dataclass(frozen=True, slots=True)
class Complaint:
    """A counted negative mention of a brand, as the text rules compare them (see :mod:`.texts`)."""

    id: int
    text: str
    author: str | None
    channel: str
    published_at: datetime
    thread: str
    """The post answered (``parent_external_id``), or the mention's own ``#id``: one thread, one complaint."""


def recent_complaints(
    conn: Connection, brand: str, now: datetime, days: float, limit: int
) -> list[Complaint]:
    """The brand's counted negative mentions of the last ``days`` up to ``now``, newest first."""
    rows = conn.execute(
        select(
            MentionRow.id,
            MentionRow.text,
            MentionRow.author,
            MentionRow.channel,
            MentionRow.published_at,
            MentionRow.parent_external_id,
        )
        .join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
        .where(
            and_(
                MentionBrand.brand == brand,
                MentionBrand.counted.is_(True),
                effective_label() == "negative",
                MentionBrand.published_at >= now - timedelta(days=days),
                MentionBrand.published_at <= now,
            )
        )
        .order_by(MentionBrand.published_at.desc())
        .limit(limit)
    ).all()
    return [
        Complaint(r.id, r.text, r.author, r.channel, r.published_at, r.parent_external_id or f"#{r.id}")
        for r in rows
    ]


class FirstSeen:
    """When each brand's first link was published, cached: history only grows backwards, by imports."""

    def __init__(self) -> None:
        self._first: dict[str, datetime | None] = {}

    def __call__(self, conn: Connection, brand: str) -> datetime | None:
        if self._first.get(brand) is None:  # not cached, or no links yet: ask again
            self._first[brand] = conn.execute(
                select(func.min(MentionBrand.published_at)).where(MentionBrand.brand == brand)
            ).scalar_one_or_none()
        return self._first[brand]
