"""YouTube Data API v3: videos from ``search.list`` and their comments from ``commentThreads.list``.

Quota matters more than rate here: 10,000 units a day, ``search.list`` costs 100 (and has its own cap of
about 100 calls a day), ``videos.list`` and ``commentThreads.list`` cost 1. So a search page is followed by
one ``videos.list`` call (part ``snippet,statistics``, up to 50 ids) for all its counters and full texts:
``search.list`` escapes titles (``&amp;``, ``&#39;``) and cuts descriptions with "...", ``videos.list``
has the whole description. Comments are read for new videos only, and a used-up daily
quota ends the poll at once (:class:`RateLimited` with an infinite ``retry_after``) instead of retrying.
The API key travels in the ``X-Goog-Api-Key`` header, never in a URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import Field

from collectors.base import Counters, HttpCollector
from collectors.cursor import FetchPage
from collectors.errors import AccessDenied, AuthError, NotFoundError
from collectors.settings import AtLeastOne, SourceSettings
from collectors.text import clean_line, clean_text, get_path, parse_iso
from core.mention import Mention

__all__ = ["YouTubeCollector", "YouTubeSettings", "parse_comment_threads", "parse_search"]

SOURCE = "youtube"


class YouTubeSettings(SourceSettings):
    """``[sources.youtube]``.

    Example::

        [sources.youtube]
        token_env = "YOUTUBE_API_KEY"
        relevance_language = "ru"
        comment_pages = 1          # 100 comments per new video; 0 turns comments off
    """

    base_url: str = "https://www.googleapis.com/youtube/v3"
    token_env: str | None = "YOUTUBE_API_KEY"
    relevance_language: str | None = "ru"
    region_code: str | None = None
    comment_pages: int = Field(default=1, ge=0, le=20)
    requests_per_s: AtLeastOne = 5
    max_pages: AtLeastOne = 5


class YouTubeCollector(HttpCollector[YouTubeSettings]):
    """Videos and their top-level comments (with replies as shown in the thread)."""

    name: ClassVar[str] = "youtube"
    settings_model: ClassVar[type[SourceSettings]] = YouTubeSettings
    error_dialect: ClassVar[str] = "google"

    def _headers(self) -> dict[str, str]:
        key = self.settings.token()
        if not key:
            raise AuthError(SOURCE, f"no API key: set the environment variable {self.settings.token_env}")
        return {"X-Goog-Api-Key": key}

    def page_reader(self, query: str) -> FetchPage:
        """Pages of ``search.list`` (order=date, publishedAfter=floor), with counters and comments added."""

        async def fetch_page(token: str | None, floor: float) -> tuple[list[Mention], str | None]:
            params: dict[str, Any] = {
                "part": "snippet",
                "q": query,
                "type": "video",
                "order": "date",
                "maxResults": 50,
                "publishedAfter": datetime.fromtimestamp(floor, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            if self.settings.relevance_language:
                params["relevanceLanguage"] = self.settings.relevance_language
            if self.settings.region_code:
                params["regionCode"] = self.settings.region_code
            if token:
                params["pageToken"] = token
            body = await self.http.get_json(f"{self.base}/search", params=params, headers=self._headers())
            videos, nxt = parse_search(body, self.channel)
            full = await self.videos([v.external_id for v in videos], "snippet,statistics")
            out: list[Mention] = []
            for video in videos:
                item = full.get(video.external_id)
                if item is not None:
                    _complete(video, item)
                out.append(video)
                if video.published_at.timestamp() >= floor and (video.comments or 0) > 0:
                    out.extend(await self.comments(video.external_id))
            return out, nxt

        return fetch_page

    async def comments(self, video_id: str) -> list[Mention]:
        """Newest comment threads of a video (``comment_pages`` pages of 100); disabled comments: none."""
        out: list[Mention] = []
        token: str | None = None
        for _ in range(self.settings.comment_pages):
            params: dict[str, Any] = {
                "part": "snippet,replies",
                "videoId": video_id,
                "maxResults": 100,
                "order": "time",
                "textFormat": "plainText",
            }
            if token:
                params["pageToken"] = token
            try:
                body = await self.http.get_json(
                    f"{self.base}/commentThreads", params=params, headers=self._headers()
                )
            except (AccessDenied, NotFoundError):
                return out
            comments, token = parse_comment_threads(body, self.channel)
            out.extend(comments)
            if not token:
                break
        return out

    async def videos(self, ids: Sequence[str], part: str) -> dict[str, dict[str, Any]]:
        """``videos.list`` items by id, 50 ids a call (1 quota unit whatever ``part`` asks for)."""
        out: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), 50):
            body = await self.http.get_json(
                f"{self.base}/videos",
                params={"part": part, "id": ",".join(ids[start : start + 50]), "maxResults": 50},
                headers=self._headers(),
            )
            for item in get_path(SOURCE, body, "items", list):
                if not isinstance(item, dict):
                    continue
                out[get_path(SOURCE, item, "id", str)] = item
        return out

    async def engagement(self, external_ids: Sequence[str]) -> dict[str, Counters]:
        """Views, likes and comment counts of videos (``videos.list`` part ``statistics``)."""
        items = await self.videos([i for i in external_ids if ":" not in i], "statistics")
        return {vid: _counters(item) for vid, item in items.items()}


def _counters(item: dict[str, Any]) -> Counters:
    stats = item.get("statistics") or {}
    return {
        "views": _int(stats.get("viewCount")),
        "likes": _int(stats.get("likeCount")),
        "comments": _int(stats.get("commentCount")),
        "reposts": None,
    }


def _complete(video: Mention, item: dict[str, Any]) -> None:
    """Fill a search hit from its ``videos.list`` item: full title and description, author, counters."""
    snippet = item.get("snippet")
    if isinstance(snippet, dict) and isinstance(snippet.get("title"), str):
        title = clean_line(snippet["title"], "escaped")
        description = clean_text(snippet.get("description") or "", "escaped")
        video.text = "\n\n".join(t for t in (title, description) if t)
        video.author = video.place = clean_line(snippet.get("channelTitle"), "escaped") or video.author
        video.raw.pop("truncated", None)
    if isinstance(item.get("statistics"), dict):
        for key, value in _counters(item).items():
            setattr(video, key, value)


def _int(value: Any) -> int | None:
    """YouTube sends counters as strings ("12345")."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_search(body: Any, channel: str = "youtube") -> tuple[list[Mention], str | None]:
    """``search.list`` results (videos only) and the next page token."""
    items = get_path(SOURCE, body, "items", list)
    out: list[Mention] = []
    for item in items:
        vid = get_path(SOURCE, item, "id.videoId", str)
        snippet = get_path(SOURCE, item, "snippet", dict)
        # search.list escapes entities and cuts the description: videos.list replaces both (_complete).
        title = clean_line(snippet.get("title") or "", "escaped")
        description = clean_text(snippet.get("description") or "", "escaped")
        channel_title = clean_line(snippet.get("channelTitle"), "escaped") or None
        out.append(
            Mention(
                source=SOURCE,
                external_id=vid,
                channel=channel,
                text="\n\n".join(t for t in (title, description) if t),
                published_at=parse_iso(SOURCE, "items[].snippet.publishedAt", snippet.get("publishedAt")),
                url=f"https://www.youtube.com/watch?v={vid}",
                author=channel_title,
                author_id=snippet.get("channelId") if isinstance(snippet.get("channelId"), str) else None,
                place=channel_title,
                raw={"videoId": vid, "channelId": snippet.get("channelId"), "truncated": True},
            )
        )
    nxt = body.get("nextPageToken")
    return out, nxt if isinstance(nxt, str) and nxt else None


def parse_comment_threads(body: Any, channel: str = "youtube") -> tuple[list[Mention], str | None]:
    """Top-level comments and the replies included in each thread; external ids are ``comment:<id>``."""
    out: list[Mention] = []
    for item in get_path(SOURCE, body, "items", list):
        top = get_path(SOURCE, item, "snippet.topLevelComment", dict)
        out.append(_comment(top, channel))
        for reply in (item.get("replies") or {}).get("comments") or []:
            out.append(_comment(reply, channel))
    nxt = body.get("nextPageToken")
    return out, nxt if isinstance(nxt, str) and nxt else None


def _comment(comment: dict[str, Any], channel: str) -> Mention:
    cid = get_path(SOURCE, comment, "id", str)
    snip = get_path(SOURCE, comment, "snippet", dict)
    vid = get_path(SOURCE, snip, "videoId", str)
    # textOriginal is what the author typed; textDisplay (HTML) only when the original is withheld.
    if isinstance(snip.get("textOriginal"), str):
        text = clean_text(snip["textOriginal"], "plain")
    else:
        text = clean_text(str(snip.get("textDisplay") or ""), "html")
    # A reply answers the top-level comment of its thread (YouTube threads are one level deep).
    parent_id = snip.get("parentId")
    author_channel = snip.get("authorChannelId")
    author_id = author_channel.get("value") if isinstance(author_channel, dict) else None
    return Mention(
        source=SOURCE,
        external_id=f"comment:{cid}",
        channel=channel,
        text=text,
        published_at=parse_iso(
            SOURCE, "items[].snippet.topLevelComment.snippet.publishedAt", snip.get("publishedAt")
        ),
        url=f"https://www.youtube.com/watch?v={vid}&lc={cid}",
        author=snip.get("authorDisplayName"),
        author_id=author_id if isinstance(author_id, str) else None,
        place=vid,
        likes=snip.get("likeCount") if isinstance(snip.get("likeCount"), int) else None,
        parent_external_id=f"comment:{parent_id}" if isinstance(parent_id, str) and parent_id else vid,
        raw={"commentId": cid, "videoId": vid, "parentId": snip.get("parentId")},
    )
