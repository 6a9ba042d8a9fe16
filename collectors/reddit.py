"""Reddit search (``/search.json``, newest first), anonymous or with an OAuth bearer token.

Reddit asks for a unique User-Agent (ours names the project and its URL) and about 60 requests a minute with
OAuth; :class:`collectors.http.Http` also pauses when ``X-Ratelimit-Remaining`` reaches zero.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from collectors.base import HttpCollector
from collectors.cursor import FetchPage
from collectors.errors import ParseError
from collectors.settings import SourceSettings
from collectors.text import clean_line, clean_text, get_path, opt_int, unix_to_utc
from core.mention import Mention

__all__ = ["RedditCollector", "RedditSettings", "parse_listing"]

SOURCE = "reddit"


class RedditSettings(SourceSettings):
    """``[sources.reddit]``.

    Example::

        [sources.reddit]
        base_url = "https://oauth.reddit.com"   # with a token; "https://www.reddit.com" without
        token_env = "REDDIT_TOKEN"              # an OAuth bearer token (optional)
        subreddits = ["russia", "AskARussian"]  # empty: all of Reddit
    """

    base_url: str = "https://www.reddit.com"
    subreddits: list[str] = Field(default_factory=list)
    limit: int = Field(default=100, ge=1, le=100)


class RedditCollector(HttpCollector[RedditSettings]):
    """Posts matching the brand queries, newest first, paged by ``after``."""

    name: ClassVar[str] = "reddit"
    settings_model: ClassVar[type[SourceSettings]] = RedditSettings

    def page_reader(self, query: str) -> FetchPage:
        """Pages of search results, newest first."""
        subs = "+".join(self.settings.subreddits)
        url = f"{self.base}/r/{subs}/search.json" if subs else f"{self.base}/search.json"
        token = self.settings.token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}

        async def fetch_page(after: str | None, floor: float) -> tuple[list[Mention], str | None]:
            params: dict[str, Any] = {"q": query, "sort": "new", "limit": self.settings.limit, "raw_json": 1}
            if subs:
                params["restrict_sr"] = "on"
            if after:
                params["after"] = after
            body = await self.http.get_json(url, params=params, headers=headers)
            return parse_listing(body, self.channel)

        return fetch_page


#: What Reddit leaves in place of a deleted or moderated text: not words of the author.
_REMOVED = frozenset({"[deleted]", "[removed]"})


def parse_listing(body: Any, channel: str = "reddit") -> tuple[list[Mention], str | None]:
    """A ``Listing`` of posts (t3) and comments (t1) as mentions, plus the ``after`` token."""
    if get_path(SOURCE, body, "kind", str) != "Listing":
        raise ParseError(SOURCE, "kind", f"expected 'Listing', got {body.get('kind')!r}")
    children = get_path(SOURCE, body, "data.children", list)
    out: list[Mention] = []
    for child in children:
        data = get_path(SOURCE, child, "data", dict)
        name = get_path(SOURCE, data, "name", str)
        # Reddit escapes &, < and > in titles and markdown bodies; a removed body reads "[removed]".
        title = clean_line(data.get("title") or "", "escaped")
        body_text = clean_text(data.get("selftext") or data.get("body") or "", "escaped")
        if body_text in _REMOVED:
            body_text = ""
        permalink = data.get("permalink")
        out.append(
            Mention(
                source=SOURCE,
                external_id=name,
                channel=channel,
                text="\n\n".join(t for t in (title, body_text) if t),
                published_at=unix_to_utc(SOURCE, "data.children[].data.created_utc", data.get("created_utc")),
                url=f"https://www.reddit.com{permalink}" if isinstance(permalink, str) else data.get("url"),
                author=data.get("author"),
                author_id=data["author"].lower() if isinstance(data.get("author"), str) else None,
                place=data.get("subreddit_name_prefixed") or data.get("subreddit"),
                likes=opt_int(data.get("score")),
                comments=opt_int(data.get("num_comments")),
                parent_external_id=data.get("parent_id") if child.get("kind") == "t1" else None,
                raw={"name": name, "subreddit": data.get("subreddit")},
            )
        )
    after = body["data"].get("after")
    return out, after if isinstance(after, str) and after else None
