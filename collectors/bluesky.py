"""Bluesky ``app.bsky.feed.searchPosts`` with an app-password session.

Anonymous search has been switched off repeatedly, so the collector always logs in: it creates a session
(``com.atproto.server.createSession``) with an identifier and an app password read from the environment,
keeps the access JWT in memory only, and creates a new session once when the server says it expired. A
rejected login is an :class:`AuthError`, reported once by the runner rather than retried every poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import httpx

from collectors.base import Counters, HttpCollector, counters
from collectors.cursor import FetchPage
from collectors.errors import AuthError, ParseError
from collectors.settings import AtLeastOne, SourceSettings, env_secret
from collectors.text import get_path, opt_int, parse_iso
from core.mention import Mention

__all__ = ["BlueskyCollector", "BlueskySettings", "parse_post_view"]

SOURCE = "bluesky"


class BlueskySettings(SourceSettings):
    """``[sources.bluesky]``: the handle and an app password (Settings -> App passwords), by env name.

    Example::

        [sources.bluesky]
        base_url = "https://bsky.social"
        identifier_env = "BLUESKY_IDENTIFIER"    # e.g. monitor.bsky.social
        password_env = "BLUESKY_APP_PASSWORD"    # xxxx-xxxx-xxxx-xxxx, never the account password
    """

    base_url: str = "https://bsky.social"
    identifier_env: str = "BLUESKY_IDENTIFIER"
    password_env: str = "BLUESKY_APP_PASSWORD"
    limit: int = 100
    requests_per_s: AtLeastOne = 5

    def credentials(self) -> tuple[str | None, str | None]:
        """(identifier, app password) from the environment."""
        return env_secret(self.identifier_env), env_secret(self.password_env)

    def token(self) -> str | None:
        """The app password stands in for a token (throttling is per account)."""
        return self.credentials()[1]


class BlueskyCollector(HttpCollector[BlueskySettings]):
    """Latest posts matching the brand queries."""

    name: ClassVar[str] = "bluesky"
    settings_model: ClassVar[type[SourceSettings]] = BlueskySettings
    error_dialect: ClassVar[str] = "atproto"

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient, **kw: Any) -> None:
        super().__init__(settings, client, **kw)
        self._jwt: str | None = None

    async def _login(self) -> str:
        identifier, password = self.settings.credentials()
        if not identifier or not password:
            raise AuthError(
                SOURCE,
                f"set {self.settings.identifier_env} and {self.settings.password_env} (an app password)",
            )
        _, body = await self.http.request(
            "POST",
            f"{self.base}/xrpc/com.atproto.server.createSession",
            json_body={"identifier": identifier, "password": password},
            decode_json=True,
        )
        self._jwt = get_path(SOURCE, body, "accessJwt", str)
        return self._jwt

    async def xrpc(self, method: str, params: dict[str, Any] | list[tuple[str, Any]]) -> Any:
        """GET an XRPC query with the session, logging in (again, once) when needed."""
        for attempt in range(2):
            jwt = self._jwt or await self._login()
            try:
                return await self.http.get_json(
                    f"{self.base}/xrpc/{method}", params=params, headers={"Authorization": f"Bearer {jwt}"}
                )
            except AuthError:
                self._jwt = None
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def page_reader(self, query: str) -> FetchPage:
        """Pages of ``searchPosts`` (sort=latest)."""

        async def fetch_page(token: str | None, floor: float) -> tuple[list[Mention], str | None]:
            params: dict[str, Any] = {"q": query, "limit": self.settings.limit, "sort": "latest"}
            if token:
                params["cursor"] = token
            body = await self.xrpc("app.bsky.feed.searchPosts", params)
            posts = get_path(SOURCE, body, "posts", list)
            nxt = body.get("cursor")
            return [parse_post_view(p, self.channel) for p in posts], nxt if isinstance(
                nxt, str
            ) and nxt else None

        return fetch_page

    async def engagement(self, external_ids: Sequence[str]) -> dict[str, Counters]:
        """Counters by post URI via ``app.bsky.feed.getPosts`` (25 per call)."""
        out: dict[str, Counters] = {}
        ids = list(external_ids)
        for start in range(0, len(ids), 25):
            body = await self.xrpc("app.bsky.feed.getPosts", [("uris", u) for u in ids[start : start + 25]])
            for p in get_path(SOURCE, body, "posts", list):
                m = parse_post_view(p, self.channel)
                out[m.external_id] = counters(m)
        return out


def parse_post_view(post: Any, channel: str = "bluesky") -> Mention:
    """An ``app.bsky.feed.defs#postView`` as a mention; the URL is the bsky.app page of the post."""
    if not isinstance(post, dict):
        raise ParseError(SOURCE, "posts[]", "expected an object")
    uri = get_path(SOURCE, post, "uri", str)
    author = get_path(SOURCE, post, "author", dict)
    handle = get_path(SOURCE, author, "handle", str)
    record = get_path(SOURCE, post, "record", dict)
    text = get_path(SOURCE, record, "text", str)
    created = parse_iso(SOURCE, "posts[].record.createdAt", record.get("createdAt") or post.get("indexedAt"))
    reply = record.get("reply")
    parent = reply.get("parent", {}).get("uri") if isinstance(reply, dict) else None
    rkey = uri.rsplit("/", 1)[-1]
    likes = opt_int(post.get("likeCount"))
    return Mention(
        source=SOURCE,
        external_id=uri,
        channel=channel,
        text=text,
        published_at=created,
        url=f"https://bsky.app/profile/{handle}/post/{rkey}",
        author=author.get("displayName") or handle,
        author_reach=opt_int(author.get("followersCount")),
        place=handle,
        likes=likes,
        reposts=(opt_int(post.get("repostCount")) or 0) + (opt_int(post.get("quoteCount")) or 0)
        if post.get("repostCount") is not None
        else None,
        comments=opt_int(post.get("replyCount")),
        parent_external_id=parent if isinstance(parent, str) else None,
        raw={"uri": uri, "cid": post.get("cid"), "handle": handle},
    )
