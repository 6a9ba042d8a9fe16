"""Bluesky ``app.bsky.feed.searchPosts`` with an app-password session.

Anonymous search has been switched off repeatedly, so the collector always logs in: it creates a session
(``com.atproto.server.createSession``) with an identifier and an app password read from the environment,
keeps the access JWT in memory only, and creates a new session once when the server says it expired. A
rejected login is an :class:`AuthError`, reported once by the runner rather than retried every poll.

Search results carry no follower counts, so each page is followed by one ``app.bsky.actor.getProfiles``
call per 25 new authors (remembered for the collector's life, so a poll asks for each author once) to fill
``author_reach``. Link text in a post is shortened by the client ("example.org/a/very-lo..."); the full URL
is in the record's ``facets`` (UTF-8 byte ranges) and replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx

from collectors.base import Counters, HttpCollector, counters
from collectors.cursor import FetchPage
from collectors.errors import AuthError, CollectorError, ParseError
from collectors.settings import AtLeastOne, SourceSettings, env_secret
from collectors.text import clean_text, get_path, opt_int, parse_iso
from core.mention import Mention

__all__ = ["BlueskyCollector", "BlueskySettings", "expand_links", "parse_post_view"]

log = logging.getLogger(__name__)

#: getProfiles accepts at most this many actors per call.
PROFILES_PER_CALL = 25

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
        self._followers: dict[str, int | None] = {}

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
            mentions = [parse_post_view(p, self.channel) for p in posts]
            await self.add_reach(mentions)
            return mentions, nxt if isinstance(nxt, str) and nxt else None

        return fetch_page

    async def add_reach(self, mentions: list[Mention]) -> None:
        """Set ``author_reach`` (followers) from ``getProfiles``, 25 authors a call, each author once."""
        wanted = [
            did
            for did in dict.fromkeys(str(m.raw.get("did") or "") for m in mentions)
            if did and did not in self._followers
        ]
        for start in range(0, len(wanted), PROFILES_PER_CALL):
            batch = wanted[start : start + PROFILES_PER_CALL]
            try:
                body = await self.xrpc("app.bsky.actor.getProfiles", [("actors", did) for did in batch])
            except AuthError:
                raise
            except CollectorError as exc:
                # Reach is a weight, not the mention: keep the posts, try these authors again next page.
                log.warning("bluesky: profile lookup failed, reach left unknown: %s", exc.message)
                continue
            for did in batch:
                self._followers[did] = None  # not returned: deleted, suspended or not found
            for profile in get_path(SOURCE, body, "profiles", list):
                if isinstance(profile, dict) and isinstance(profile.get("did"), str):
                    self._followers[profile["did"]] = opt_int(profile.get("followersCount"))
        for m in mentions:
            author = m.raw.get("did")
            if m.author_reach is None and isinstance(author, str):
                m.author_reach = self._followers.get(author)

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
    text = clean_text(expand_links(get_path(SOURCE, record, "text", str), record.get("facets")), "plain")
    created = parse_iso(SOURCE, "posts[].record.createdAt", record.get("createdAt") or post.get("indexedAt"))
    reply = record.get("reply")
    parent = reply.get("parent", {}).get("uri") if isinstance(reply, dict) else None
    if not isinstance(parent, str):
        parent = _quoted(record.get("embed"))
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
        author_id=handle.lower(),
        author_reach=opt_int(author.get("followersCount")),
        place=handle,
        likes=likes,
        reposts=(opt_int(post.get("repostCount")) or 0) + (opt_int(post.get("quoteCount")) or 0)
        if post.get("repostCount") is not None
        else None,
        comments=opt_int(post.get("replyCount")),
        parent_external_id=parent if isinstance(parent, str) else None,
        raw={"uri": uri, "cid": post.get("cid"), "handle": handle, "did": author.get("did")},
    )


_LINK = "app.bsky.richtext.facet#link"


def expand_links(text: str, facets: Any) -> str:
    """``text`` with each link facet's byte range replaced by the facet's full ``uri``.

    Facet ranges are UTF-8 byte offsets (not characters: Cyrillic and emoji take several bytes). A facet
    whose range is out of bounds, overlaps another or cuts a character in two is ignored, never guessed.
    """
    if not isinstance(facets, list) or not facets:
        return text
    data = text.encode("utf-8")
    links: list[tuple[int, int, str]] = []
    for facet in facets:
        if not isinstance(facet, dict) or not isinstance(facet.get("index"), dict):
            continue
        start, end = facet["index"].get("byteStart"), facet["index"].get("byteEnd")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(data):
            continue
        for feature in facet.get("features") or []:
            if (
                isinstance(feature, dict)
                and feature.get("$type") == _LINK
                and isinstance(feature.get("uri"), str)
            ):
                links.append((start, end, feature["uri"]))
                break
    out = data
    last_start = len(data) + 1
    for start, end, uri in sorted(links, reverse=True):
        if end > last_start:
            continue  # overlaps the link after it
        try:
            data[start:end].decode("utf-8")
            data[:start].decode("utf-8")
        except UnicodeDecodeError:
            continue  # the range cuts a character: not a range this text was written with
        out = out[:start] + uri.encode("utf-8") + out[end:]
        last_start = start
    return out.decode("utf-8")


def _quoted(embed: Any) -> str | None:
    """The URI of the post a quote post quotes (``app.bsky.embed.record``, or with media): a quote that
    answers a post is part of its thread, like a reply."""
    if not isinstance(embed, dict):
        return None
    record = embed.get("record")
    if isinstance(record, dict) and isinstance(record.get("record"), dict):  # recordWithMedia
        record = record["record"]
    uri = record.get("uri") if isinstance(record, dict) else None
    return uri if isinstance(uri, str) and uri.startswith("at://") else None
