"""The common mention: what every collector yields and everything downstream consumes.

A collector maps its platform's post, comment or article onto :class:`Mention`; the pipeline then links it
to brands, tags sentiment and stores it. Keeping one plain dataclass here (not an ORM row) lets collectors,
importers, the demo generator and tests build mentions without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.clock import utc

__all__ = ["Mention"]


@dataclass(slots=True)
class Mention:
    """One public text that may name a brand.

    ``source`` is the collector that produced it (``vk``, ``telegram``, ``rss``...), ``external_id`` is the
    platform's own id, unique within the source: together they make a mention idempotent. ``channel`` is the
    platform the loyalty index is reported per (``vk``, ``telegram``, ``youtube``, ``news``...); ``place`` is
    the community, channel, subreddit or feed inside it.

    ``author`` is the name people see; ``author_id`` is the author as the source identifies accounts (a VK
    ``from_id`` such as ``-123456``, a Telegram username, a YouTube channel id, a Bluesky handle, a Mastodon
    ``acct``, a Reddit user name): what a brand's own ``accounts`` are matched against, since display names
    are neither unique nor stable. ``parent_external_id`` is the external id (same source) of what a reply
    answers: the post under which a comment sits, the comment a reply answers, the post a quote quotes.
    """

    source: str
    external_id: str
    channel: str
    text: str
    published_at: datetime
    url: str | None = None
    author: str | None = None
    author_reach: int | None = None
    place: str | None = None
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None
    views: int | None = None
    parent_external_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    collected_at: datetime | None = None
    author_id: str | None = None

    def __post_init__(self) -> None:
        self.published_at = utc(self.published_at)
        if self.collected_at is not None:
            self.collected_at = utc(self.collected_at)
        if not self.source or not self.external_id:
            raise ValueError("a mention needs a source and an external id")
