"""RSS and Atom feeds: news sites, blogs, Google Alerts, vc.ru and Dzen feeds, any URL feedparser reads.

Each configured feed is one query (its URL) with its own ``channel`` ("news", "dzen", "vc.ru"...). Feeds
are fetched with conditional GET: the ETag and Last-Modified validators live in the cursor, so an unchanged
feed costs a 304 and no parsing. Entries older than the newest one already seen are dropped.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import feedparser
from pydantic import BaseModel, ConfigDict, Field

from collectors.base import HttpCollector, Page
from collectors.cursor import SweepCursor
from collectors.errors import ParseError
from collectors.settings import AtLeastOne, Positive, SourceSettings
from collectors.text import html_to_text
from core.mention import Mention

__all__ = ["FeedSettings", "RSSCollector", "RSSSettings", "parse_feed"]


class FeedSettings(BaseModel):
    """One feed: ``{url = "https://vc.ru/rss", channel = "vc.ru"}``."""

    model_config = ConfigDict(extra="forbid")

    url: str
    channel: str = "news"
    name: str | None = None


class RSSSettings(SourceSettings):
    """``[sources.rss]``: a list of feeds; ``base_url`` only resolves relative feed URLs.

    Example::

        [sources.rss]
        feeds = [
          {url = "https://vc.ru/rss/all", channel = "vc.ru"},
          {url = "https://dzen.ru/news/rss", channel = "dzen"},
        ]
    """

    base_url: str = ""
    feeds: list[FeedSettings] = Field(default_factory=list)
    requests_per_s: AtLeastOne = 2
    initial_lookback_h: Positive = 72.0


class RSSCollector(HttpCollector[RSSSettings]):
    """Polls feeds with conditional GET and maps entries to mentions."""

    name: ClassVar[str] = "rss"
    settings_model: ClassVar[type[SourceSettings]] = RSSSettings

    def queries(self, brand_terms: list[str]) -> list[str]:
        """Every configured feed URL (brand terms do not apply: the pipeline matches brands in the text)."""
        return [self._url(f.url) for f in self.settings.feeds] + list(self.settings.queries)

    def _url(self, url: str) -> str:
        return urljoin(self.settings.base_url, url) if self.settings.base_url else url

    def _feed(self, url: str) -> FeedSettings:
        for f in self.settings.feeds:
            if self._url(f.url) == url:
                return f
        return FeedSettings(url=url, channel=self.settings.channel or "news")

    async def pages(self, query: str, cursor: str | None, since: datetime | None) -> AsyncIterator[Page]:
        """One conditional GET of the feed; a 304 yields an empty page with the validators unchanged."""
        cur = SweepCursor.load(cursor)
        feed = self._feed(query)
        headers: dict[str, str] = {}
        # Backfilling ignores the validators: the feed may be unchanged and still hold older entries.
        if since is None:
            if etag := cur.extra.get("etag"):
                headers["If-None-Match"] = str(etag)
            if modified := cur.extra.get("modified"):
                headers["If-Modified-Since"] = str(modified)
        response, _ = await self.http.request("GET", query, headers=headers)
        if response.status_code == 304:
            yield Page([], cur.dump(), done=True, notes=["not modified"])
            return
        mentions = parse_feed(response.content, query, feed, dict(response.headers))
        if cur.high_water is not None:
            floor = cur.high_water
        elif since is not None:
            floor = since.timestamp()
        else:
            floor = (datetime.now(UTC) - timedelta(hours=self.settings.initial_lookback_h)).timestamp()
        if since is not None:
            floor = min(floor, since.timestamp())
        kept = [m for m in mentions if m.published_at.timestamp() >= floor]
        newest = max((m.published_at.timestamp() for m in kept), default=None)
        extra: dict[str, Any] = {}
        if response.headers.get("ETag"):
            extra["etag"] = response.headers["ETag"]
        if response.headers.get("Last-Modified"):
            extra["modified"] = response.headers["Last-Modified"]
        tops = [t for t in (cur.high_water, newest) if t is not None]
        new = SweepCursor(high_water=max(tops) if tops else None, extra=extra)
        yield Page(kept, new.dump(), done=True)


def parse_feed(
    content: bytes, url: str, feed: FeedSettings, headers: dict[str, str] | None = None
) -> list[Mention]:
    """Entries of a feed document as mentions; a document that is not a feed is a :class:`ParseError`."""
    parsed: Any = feedparser.parse(content, response_headers=headers or {})
    if not parsed.get("version") and not parsed.entries:
        reason = type(parsed.get("bozo_exception")).__name__ if parsed.get("bozo") else "no entries"
        raise ParseError("rss", "feed", f"{url}: not an RSS/Atom document ({reason})")
    place = feed.name or parsed.feed.get("title") or urlsplit(url).netloc
    now = datetime.now(UTC)
    out: list[Mention] = []
    for entry in parsed.entries:
        link = entry.get("link")
        guid = entry.get("id") or link
        title = html_to_text(entry.get("title") or "")
        summary = _entry_body(entry)
        text = "\n\n".join(part for part in (title, summary) if part)
        if not guid:
            guid = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:32]
        external_id = guid if "://" in guid else f"{urlsplit(url).netloc}:{guid}"
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else now
        out.append(
            Mention(
                source="rss",
                external_id=external_id,
                channel=feed.channel,
                text=text,
                published_at=published,
                url=link,
                author=entry.get("author") or None,
                place=place,
                raw={"feed": url, "id": guid, "title": entry.get("title")},
            )
        )
    return out


def _entry_body(entry: Any) -> str:
    content = entry.get("content")
    if content:
        return html_to_text(content[0].get("value") or "")
    return html_to_text(entry.get("summary") or "")
