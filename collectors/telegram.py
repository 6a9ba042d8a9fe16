"""Telegram public channels through the ``t.me/s/<channel>`` web preview (no token, no Bot API).

Telegram has no public search, so the queries are the configured channels; the pipeline keeps the posts
that name a brand. The preview pages go from newer to older with ``?before=<post id>``. The HTML is parsed
with lxml through BeautifulSoup; a page without any of the markers we read raises :class:`ParseError`
naming the missing selector, and a missing channel (Telegram answers 200 with a generic page) raises
:class:`NotFoundError`.

Likes are the sum of free reactions; paid Stars reactions (``tgme_reaction_paid``) are money, kept apart in
``raw["paid_stars"]``. Not mentions: service messages ("Channel name was changed", pinned notices), and
posts with nothing left after cleaning (a photo or sticker without a caption).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from bs4 import BeautifulSoup, Tag
from pydantic import Field

from collectors.base import Counters, HttpCollector, Page, counters
from collectors.cursor import FetchPage
from collectors.errors import NotFoundError, ParseError
from collectors.settings import Positive, SourceSettings
from collectors.telegram_discussion import (
    COMMENTS_PREFIX,
    CommentsReader,
    comment_id,
    parse_discussion,
    reactions,
    refresh_counters,
)
from collectors.text import clean_text, parse_count, parse_iso
from core.mention import Mention

__all__ = [
    "ChannelPage",
    "TelegramCollector",
    "TelegramSettings",
    "channel_name",
    "comment_id",
    "parse_channel_page",
    "parse_discussion",
    "reactions",
]

SOURCE = "telegram"


class TelegramSettings(SourceSettings):
    """``[sources.telegram]``.

    Example::

        [sources.telegram]
        channels = ["durov", "t.me/tinkoff_news", "@sberbank"]
        fetch_comments = true        # comments of young posts, from the public discussion widget
        comments_window_h = 24       # default: the engagement refresh window (pipeline.refresh_window_h)
    """

    base_url: str = "https://t.me"
    channels: list[str] = Field(default_factory=list)
    rate_period_s: Positive = 2.0
    #: Read the comments under the channels' posts (queries ``comments:<channel>``).
    fetch_comments: bool = True
    #: Posts younger than this many hours have their comments polled; ``None``: the refresh window.
    comments_window_h: Positive | None = None
    #: Comments per widget page (Telegram renders the newest N; scrapers see up to ~100 served).
    comments_limit: int = Field(default=50, ge=1, le=100)
    #: ``loadComments`` calls per post per poll for older comments; the rest waits for the next poll.
    comment_pages: int = Field(default=5, ge=0, le=100)
    #: Young posts per channel whose comments are polled each poll; beyond it they take turns.
    comments_posts: int = Field(default=20, ge=1, le=200)


def channel_name(value: str) -> str:
    """``@name``, ``t.me/name``, ``https://t.me/s/name`` -> ``name``."""
    v = value.strip().removeprefix("@")
    v = re.sub(r"^(https?://)?(www\.)?(t\.me|telegram\.me)/(s/)?", "", v)
    return v.strip("/").split("/")[0]


class TelegramCollector(HttpCollector[TelegramSettings]):
    """Public channel posts with views, reactions and the channel's subscriber count as reach."""

    name: ClassVar[str] = "telegram"
    settings_model: ClassVar[type[SourceSettings]] = TelegramSettings

    def queries(self, brand_terms: list[str]) -> list[str]:
        """The configured channels (Telegram previews cannot be searched by brand), then
        ``comments:<channel>`` for each when comments are fetched."""
        channels = list(
            dict.fromkeys(channel_name(c) for c in [*self.settings.channels, *self.settings.queries])
        )
        comments = [COMMENTS_PREFIX + c for c in channels] if self.settings.fetch_comments else []
        return channels + comments

    async def pages(self, query: str, cursor: str | None, since: datetime | None) -> AsyncIterator[Page]:
        """Preview pages of a channel, or (``comments:<channel>``) the comments of its young posts."""
        if query.startswith(COMMENTS_PREFIX):
            async for page in CommentsReader(self).pages(query[len(COMMENTS_PREFIX) :], cursor, since):
                yield page
            return
        async for page in super().pages(query, cursor, since):
            yield page

    async def page(self, channel: str, before: str | None) -> ChannelPage:
        """One preview page of ``channel``, older than post ``before`` when given."""
        response, _ = await self.http.request(
            "GET", f"{self.base}/s/{channel}", params={"before": before} if before else None
        )
        return parse_channel_page(response.text, channel, self.channel)

    def not_a_mention(self, m: Mention) -> str | None:
        """Service messages, on top of the shared rule."""
        if m.raw.get("service"):
            return "service message"
        return super().not_a_mention(m)

    def page_reader(self, query: str) -> FetchPage:
        """Preview pages of the channel ``query``, newest first."""

        async def fetch_page(token: str | None, floor: float) -> tuple[list[Mention], str | None]:
            page = await self.page(query, token)
            return page.mentions, page.before

        return fetch_page

    async def engagement(self, external_ids: Sequence[str]) -> dict[str, Counters]:
        """Views and reactions of posts ``channel/123``, reading the preview page just above each one;
        reactions of comments ``channel/123?comment=456`` from the post's widget page (newest comments)."""
        out: dict[str, Counters] = {}
        wanted: dict[str, set[int]] = {}
        threads: dict[tuple[str, int], set[str]] = {}
        for ext in external_ids:
            ch, _, num = ext.partition("/")
            if num.isdigit():
                wanted.setdefault(ch, set()).add(int(num))
            elif (hit := re.fullmatch(r"(\d+)\?comment=(\d+)", num)) is not None:
                threads.setdefault((ch, int(hit.group(1))), set()).add(ext)
        for (ch, post), ext_ids in threads.items():
            widget = await CommentsReader(self).discussion(ch, post)
            out.update({k: v for k, v in refresh_counters(widget).items() if k in ext_ids})
        for ch, ids in wanted.items():
            left = set(ids)
            while left:
                page = await self.page(ch, str(max(left) + 1))
                found = {int(m.external_id.partition("/")[2]): m for m in page.mentions}
                for wanted_num in list(left):
                    if wanted_num in found:
                        m = found[wanted_num]
                        out[m.external_id] = counters(m)
                # Posts deleted or older than the page: give up on what this page should have held.
                lowest = min(found, default=0)
                left = {n for n in left if n not in found and n < lowest}
        return out


@dataclass(slots=True)
class ChannelPage:
    """Posts of one preview page and the ``before`` token of the next (older) page."""

    mentions: list[Mention]
    before: str | None
    subscribers: int | None


def parse_channel_page(html: str, channel: str, mention_channel: str = "telegram") -> ChannelPage:
    """Parse a ``t.me/s/<channel>`` page. Albums and replies repeat text in nested blocks; only the post's
    own text block is read."""
    soup = BeautifulSoup(html, "lxml")
    info = soup.select_one(".tgme_channel_info")
    messages = soup.select("div.tgme_widget_message[data-post]")
    if info is None and not messages:
        if soup.select_one(".tgme_page") is not None or "tgme" in html:
            raise NotFoundError(SOURCE, f"channel {channel!r} does not exist or has no public preview")
        raise ParseError(SOURCE, ".tgme_channel_info", f"not a channel preview page for {channel!r}")
    subscribers = _subscribers(soup)
    title_tag = soup.select_one(".tgme_channel_info_header_title")
    title = title_tag.get_text(" ", strip=True) if title_tag else channel
    out: list[Mention] = []
    for msg in messages:
        post = str(msg.get("data-post") or "")
        if "/" not in post:
            raise ParseError(SOURCE, "div.tgme_widget_message[data-post]", f"unexpected value {post[:40]!r}")
        time_tag = msg.select_one("a.tgme_widget_message_date time[datetime]") or msg.select_one(
            "time[datetime]"
        )
        if time_tag is None:
            raise ParseError(SOURCE, "time[datetime]", f"post {post}")
        published = parse_iso(SOURCE, "time[datetime]", time_tag.get("datetime"))
        text = _own_text(msg)
        service = "service_message" in (msg.get("class") or [])
        likes, stars = reactions(msg)
        owner = msg.select_one(".tgme_widget_message_owner_name")
        views = msg.select_one("span.tgme_widget_message_views")
        forwarded = msg.select_one(".tgme_widget_message_forwarded_from_name")
        out.append(
            Mention(
                source=SOURCE,
                external_id=post,
                channel=mention_channel,
                text=text,
                published_at=published,
                url=f"https://t.me/{post}",
                author=owner.get_text(" ", strip=True) if owner else title,
                author_id=post.split("/")[0].lower(),
                author_reach=subscribers,
                place=post.split("/")[0],
                likes=likes,
                views=parse_count(views.get_text()) if views else None,
                raw={
                    "post": post,
                    "forwarded_from": forwarded.get_text(" ", strip=True) if forwarded else None,
                    "service": service,
                    "paid_stars": stars,
                },
            )
        )
    more = soup.select_one("a.tme_messages_more[data-before]")
    before = str(more.get("data-before")) if more is not None and more.get("data-before") else None
    return ChannelPage(out, before, subscribers)


def _own_text(msg: Tag) -> str:
    for block in msg.select(".tgme_widget_message_text"):
        if block.find_parent(class_="tgme_widget_message_reply") is not None:
            continue
        return clean_text(block.decode_contents(), "html")
    return ""


def _subscribers(soup: BeautifulSoup) -> int | None:
    for counter in soup.select(".tgme_channel_info_counter"):
        kind = counter.select_one(".counter_type")
        value = counter.select_one(".counter_value")
        if (
            kind is not None
            and value is not None
            and kind.get_text(strip=True).startswith(("subscriber", "member"))
        ):
            return parse_count(value.get_text())
    return None
