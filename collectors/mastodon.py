"""Mastodon: hashtag timelines (anonymous) and full-text status search (needs a token), on one instance.

Paging follows the ``Link: <...max_id=...>; rel="next"`` header, as the API documents; the cursor keeps the
``max_id`` only, so a changed ``base_url`` (a proxy) still resumes. Counters are refreshed per status.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from pydantic import Field

from collectors.base import Counters, HttpCollector
from collectors.cursor import FetchPage
from collectors.errors import ParseError
from collectors.settings import SourceSettings
from collectors.text import get_path, html_to_text, opt_int, parse_iso
from core.mention import Mention

__all__ = ["MastodonCollector", "MastodonSettings", "next_max_id", "parse_status"]

SOURCE = "mastodon"
TAG_PREFIX = "#"


class MastodonSettings(SourceSettings):
    """``[sources.mastodon]``.

    Example::

        [sources.mastodon]
        base_url = "https://mastodon.social"
        tags = ["сбербанк", "sber"]
        token_env = "MASTODON_TOKEN"   # optional; enables full-text search of `queries`/brand names
    """

    base_url: str = "https://mastodon.social"
    tags: list[str] = Field(default_factory=list)
    limit: int = Field(default=40, ge=1, le=40)


class MastodonCollector(HttpCollector[MastodonSettings]):
    """Statuses from hashtag timelines and search."""

    name: ClassVar[str] = "mastodon"
    settings_model: ClassVar[type[SourceSettings]] = MastodonSettings

    def queries(self, brand_terms: list[str]) -> list[str]:
        """``#tag`` per configured tag; search phrases too when a token is set (search needs one)."""
        tags = [TAG_PREFIX + t.lstrip("#") for t in self.settings.tags]
        if self.settings.token():
            return list(dict.fromkeys(tags + super().queries(brand_terms)))
        return tags

    def _headers(self) -> dict[str, str]:
        token = self.settings.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def page_reader(self, query: str) -> FetchPage:
        """Pages of a tag timeline or of search results."""
        is_tag = query.startswith(TAG_PREFIX)

        async def fetch_page(max_id: str | None, floor: float) -> tuple[list[Mention], str | None]:
            params: dict[str, Any] = {"limit": self.settings.limit}
            if max_id:
                params["max_id"] = max_id
            if is_tag:
                url = f"{self.base}/api/v1/timelines/tag/{quote(query[1:], safe='')}"
                response, body = await self.http.request(
                    "GET", url, params=params, headers=self._headers(), decode_json=True
                )
                if not isinstance(body, list):
                    raise ParseError(SOURCE, "<body>", "expected a list of statuses")
                statuses = body
                nxt = next_max_id(response)
            else:
                params.update(q=query, type="statuses", resolve="false")
                response, body = await self.http.request(
                    "GET",
                    f"{self.base}/api/v2/search",
                    params=params,
                    headers=self._headers(),
                    decode_json=True,
                )
                statuses = get_path(SOURCE, body, "statuses", list)
                nxt = next_max_id(response) or (str(statuses[-1].get("id")) if statuses else None)
            place = query if is_tag else None
            return [parse_status(s, self.channel, place) for s in statuses], nxt

        return fetch_page

    async def engagement(self, external_ids: Sequence[str]) -> dict[str, Counters]:
        """Counters of each status (one request per status; deleted ones are skipped)."""

        async def read(ext: str) -> Mention:
            body = await self.http.get_json(
                f"{self.base}/api/v1/statuses/{quote(ext, safe='')}", headers=self._headers()
            )
            return parse_status(body, self.channel, None)

        return await self.engagement_each(external_ids, read)


_LINK = re.compile(r"<([^>]+)>\s*;\s*rel=\"?([^\";]+)\"?")


def next_max_id(response: httpx.Response) -> str | None:
    """``max_id`` of the ``rel="next"`` link, if the response has one."""
    for url, rel in _LINK.findall(response.headers.get("Link", "")):
        if "next" in rel.split():
            values = parse_qs(urlsplit(url).query).get("max_id")
            if values:
                return str(values[0])
    return None


def parse_status(status: Any, channel: str = "mastodon", place: str | None = None) -> Mention:
    """A status as a mention; a boost is read as the boosted status (that is what was said)."""
    if not isinstance(status, dict):
        raise ParseError(SOURCE, "status", "expected an object")
    own_id = get_path(SOURCE, status, "id", str)
    if isinstance(status.get("reblog"), dict):
        status = status["reblog"]
    account = get_path(SOURCE, status, "account", dict)
    text = html_to_text(get_path(SOURCE, status, "content", str))
    if status.get("spoiler_text"):
        text = f"{status['spoiler_text']}\n\n{text}"
    return Mention(
        source=SOURCE,
        external_id=own_id,
        channel=channel,
        text=text,
        published_at=parse_iso(SOURCE, "created_at", status.get("created_at")),
        url=status.get("url") or status.get("uri"),
        author=account.get("acct"),
        author_id=account["acct"].lower() if isinstance(account.get("acct"), str) else None,
        author_reach=opt_int(account.get("followers_count")),
        place=place,
        likes=opt_int(status.get("favourites_count")),
        reposts=opt_int(status.get("reblogs_count")),
        comments=opt_int(status.get("replies_count")),
        parent_external_id=status.get("in_reply_to_id"),
        raw={"id": own_id, "uri": status.get("uri"), "pinned": bool(status.get("pinned"))},
    )
