"""VK: ``newsfeed.search`` for brand queries, ``wall.get`` and ``wall.getComments`` for communities.

Queries are the search phrases plus ``wall:<community>`` for each configured community (ours and
competitors'), so each has its own cursor. Every call is a POST with the token in the form body, keeping
it out of URLs and therefore out of access logs and error messages. VK reports failures with HTTP 200 and an
``error`` object; :func:`collectors.errors.error_for` turns codes 6/9/29 into retried rate limits and 5 into
an auth error.

Texts pass :func:`collectors.text.clean_text` as HTML: VK's plain-text fields carry entities (``&#10071;``)
and a literal ``<br>``; its own link markup ``[id123|Имя]`` becomes the visible name. Not mentions: deleted
posts and comments (``"deleted": true`` / ``"is_deleted"``, which come with author 0 and no text; their
replies still count), and anything empty after cleaning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx
from pydantic import Field

from collectors.base import Counters, HttpCollector
from collectors.cursor import FetchPage
from collectors.errors import AuthError, CollectorError, ParseError, error_for
from collectors.settings import AtLeastOne, NonNegative, SourceSettings
from collectors.text import clean_text, get_path, opt_int, unix_to_utc
from core.mention import Mention

__all__ = ["VKCollector", "VKSettings", "parse_comment", "parse_post", "vk_text"]

WALL_PREFIX = "wall:"
# VK's own mention markup: [id123|Имя], [club45|Название], [public6|...], [event7|...].
_VK_LINK = re.compile(r"\[(?:id|club|public|event)\d+\|([^\[\]|]+)\]")


def vk_text(value: str) -> str:
    """A VK text field as a reader sees it: entities, ``<br>`` and ``[id1|Name]`` links resolved."""
    return clean_text(_VK_LINK.sub(r"\1", value), "html")


class VKSettings(SourceSettings):
    """``[sources.vk]``.

    Example::

        [sources.vk]
        token_env = "VK_TOKEN"            # a service or user token
        queries = ["Сбербанк", "Сбер"]      # default: brand names and aliases
        communities = ["sberbank", "club12345", "-67890"]
        fetch_comments = true
    """

    base_url: str = "https://api.vk.com"
    token_env: str | None = "VK_TOKEN"
    api_version: str = "5.199"
    communities: list[str] = Field(default_factory=list)
    fetch_comments: bool = True
    comments_per_post: int = Field(default=100, ge=1, le=1000)
    search_count: int = Field(default=200, ge=1, le=200)
    requests_per_s: AtLeastOne = 3
    overlap_s: NonNegative = 600.0


class VKCollector(HttpCollector[VKSettings]):
    """Search and community walls, with comments, mapped to mentions."""

    name: ClassVar[str] = "vk"
    settings_model: ClassVar[type[SourceSettings]] = VKSettings

    def queries(self, brand_terms: list[str]) -> list[str]:
        """Search phrases, then ``wall:<community>`` per configured community."""
        return super().queries(brand_terms) + [WALL_PREFIX + c for c in self.settings.communities]

    async def call(self, method: str, **params: Any) -> Any:
        """Call an API method; returns its ``response`` member."""
        token = self.settings.token()
        if token is None:
            raise AuthError(self.name, f"no token: set the environment variable {self.settings.token_env}")
        form = {k: str(v) for k, v in params.items() if v is not None}
        form.update(access_token=token, v=self.settings.api_version)
        _, body = await self.http.request(
            "POST", f"{self.base}/method/{method}", data=form, api_check=self._check, decode_json=True
        )
        return body["response"]

    def _check(self, body: Any, response: httpx.Response) -> CollectorError | None:
        if not isinstance(body, dict):
            return ParseError(self.name, "<body>", "expected a JSON object")
        if "error" in body:
            err = body["error"]
            if not isinstance(err, dict):
                return ParseError(self.name, "error", "expected an object")
            return error_for(
                self.name, api="vk", api_code=err.get("error_code", 0), message=str(err.get("error_msg", ""))
            )
        if "response" not in body:
            return ParseError(self.name, "response", "missing")
        return None

    def not_a_mention(self, m: Mention) -> str | None:
        """Deleted posts and comments, on top of the shared rule."""
        if m.raw.get("deleted"):
            return "deleted"
        return super().not_a_mention(m)

    def page_reader(self, query: str) -> FetchPage:
        """Pages of search results or of a wall (``wall:<community>``), newest first."""
        if query.startswith(WALL_PREFIX):
            return self._wall_page(query[len(WALL_PREFIX) :])
        return self._search_page(query)

    def _search_page(self, query: str) -> FetchPage:
        async def fetch_page(token: str | None, floor: float) -> tuple[list[Mention], str | None]:
            resp = await self.call(
                "newsfeed.search",
                q=query,
                count=self.settings.search_count,
                start_from=token,
                start_time=int(floor),
                extended=1,
                fields="members_count,followers_count,screen_name",
            )
            items = get_path(self.name, resp, "items", list)
            who = _authors(self.name, resp)
            mentions = [parse_post(i, who, self.name, self.channel) for i in items]
            next_from = resp.get("next_from")
            return mentions, next_from if isinstance(next_from, str) and next_from else None

        return fetch_page

    def _wall_page(self, community: str) -> FetchPage:
        owner: dict[str, Any] = {}
        c = community.strip()
        if c.lstrip("-").isdigit():
            owner["owner_id"] = c if c.startswith("-") else f"-{c}"
        elif (m := re.fullmatch(r"(?:club|public)(\d+)", c)) is not None:
            owner["owner_id"] = "-" + m.group(1)
        else:
            owner["domain"] = c

        async def fetch_page(token: str | None, floor: float) -> tuple[list[Mention], str | None]:
            offset = int(token or 0)
            resp = await self.call(
                "wall.get", **owner, offset=offset, count=100, extended=1, fields="members_count"
            )
            items = get_path(self.name, resp, "items", list)
            who = _authors(self.name, resp)
            mentions: list[Mention] = []
            for item in items:
                post = parse_post(item, who, self.name, self.channel)
                mentions.append(post)
                fresh = post.published_at.timestamp() >= floor or bool(item.get("is_pinned"))
                if self.settings.fetch_comments and fresh and (post.comments or 0) > 0:
                    mentions.extend(await self.comments(item["owner_id"], item["id"], who))
            total = resp.get("count")
            nxt = offset + len(items)
            more = bool(items) and (not isinstance(total, int) or nxt < total)
            return mentions, str(nxt) if more else None

        return fetch_page

    async def comments(
        self, owner_id: int, post_id: int, who: dict[int, tuple[str, int | None, str | None]]
    ) -> list[Mention]:
        """Comments (with their thread replies) of one post, newest first, up to ``comments_per_post``."""
        out: list[Mention] = []
        offset = 0
        while offset < self.settings.comments_per_post:
            resp = await self.call(
                "wall.getComments",
                owner_id=owner_id,
                post_id=post_id,
                offset=offset,
                count=100,
                sort="desc",
                need_likes=1,
                extended=1,
                thread_items_count=10,
                fields="followers_count,screen_name",
            )
            items = get_path(self.name, resp, "items", list)
            who = {**who, **_authors(self.name, resp)}
            for item in items:
                out.append(parse_comment(item, owner_id, post_id, who, self.name, self.channel))
                thread = item.get("thread") or {}
                for reply in thread.get("items") or []:
                    out.append(
                        parse_comment(
                            reply, owner_id, post_id, who, self.name, self.channel, thread_of=item.get("id")
                        )
                    )
            offset += len(items)
            total = resp.get("count")
            if not items or (isinstance(total, int) and offset >= total):
                break
        return out

    async def engagement(self, external_ids: Sequence[str]) -> dict[str, Counters]:
        """Counters of wall posts by id (``wall.getById``, 100 per call); comments are not refreshed."""
        posts = [i for i in external_ids if "?" not in i]
        out: dict[str, Counters] = {}
        for start in range(0, len(posts), 100):
            resp = await self.call("wall.getById", posts=",".join(posts[start : start + 100]))
            items = resp.get("items", resp) if isinstance(resp, dict) else resp
            if not isinstance(items, list):
                raise ParseError(self.name, "response.items", "expected a list")
            for item in items:
                pid = f"{item.get('owner_id')}_{item.get('id')}"
                out[pid] = {
                    "likes": opt_int(item.get("likes")),
                    "reposts": opt_int(item.get("reposts")),
                    "comments": opt_int(item.get("comments")),
                    "views": opt_int(item.get("views")),
                }
        return out


def _authors(source: str, resp: dict[str, Any]) -> dict[int, tuple[str, int | None, str | None]]:
    """VK id -> (display name, reach, screen name): groups by negative id, people by positive id."""
    who: dict[int, tuple[str, int | None, str | None]] = {}
    for p in resp.get("profiles") or []:
        if isinstance(p, dict) and isinstance(p.get("id"), int):
            name = " ".join(x for x in (p.get("first_name"), p.get("last_name")) if x)
            who[p["id"]] = (name or str(p["id"]), opt_int(p.get("followers_count")), p.get("screen_name"))
    for g in resp.get("groups") or []:
        if isinstance(g, dict) and isinstance(g.get("id"), int):
            who[-g["id"]] = (
                g.get("name") or str(g["id"]),
                opt_int(g.get("members_count")),
                g.get("screen_name"),
            )
    return who


def parse_post(
    item: Any, who: dict[int, tuple[str, int | None, str | None]], source: str = "vk", channel: str = "vk"
) -> Mention:
    """A wall post or search hit as a mention; a repost's original text follows the reposter's words."""
    if not isinstance(item, dict):
        raise ParseError(source, "items[]", "expected an object")
    owner_id = get_path(source, item, "owner_id", int)
    post_id = get_path(source, item, "id", int)
    published = unix_to_utc(source, "items[].date", item.get("date"))
    text = item.get("text") or ""
    if not isinstance(text, str):
        raise ParseError(source, "items[].text", "expected a string")
    text = vk_text(text)
    for orig in item.get("copy_history") or []:
        if isinstance(orig, dict) and isinstance(orig.get("text"), str) and orig["text"]:
            text = f"{text}\n\n{vk_text(orig['text'])}".strip()
    from_id: int = item["from_id"] if isinstance(item.get("from_id"), int) else owner_id
    author, reach, _ = who.get(from_id, (str(from_id), None, None))
    place = who.get(owner_id, (str(owner_id), None, None))
    return Mention(
        source=source,
        external_id=f"{owner_id}_{post_id}",
        channel=channel,
        text=text,
        published_at=published,
        url=f"https://vk.com/wall{owner_id}_{post_id}",
        author=author,
        author_id=str(from_id),
        author_reach=reach,
        place=place[2] or place[0],
        likes=opt_int(item.get("likes")),
        reposts=opt_int(item.get("reposts")),
        comments=opt_int(item.get("comments")),
        views=opt_int(item.get("views")),
        raw={
            "owner_id": owner_id,
            "id": post_id,
            "from_id": from_id,
            "is_pinned": bool(item.get("is_pinned")),
            "deleted": bool(item.get("is_deleted") or item.get("deleted")),
        },
    )


def parse_comment(
    item: Any,
    owner_id: int,
    post_id: int,
    who: dict[int, tuple[str, int | None, str | None]],
    source: str = "vk",
    channel: str = "vk",
    *,
    thread_of: Any = None,
) -> Mention:
    """A comment (or thread reply) as a mention whose parent is what it answers.

    A comment's parent is the post; a thread reply's is the comment it answers (``reply_to_comment``), or
    the comment that opened its thread (``thread_of``) when VK does not say: that is where a brand's answer
    to a complaint in the comments sits. A deleted comment is still read (its thread replies follow it) and
    marked ``raw["deleted"]``.
    """
    if not isinstance(item, dict):
        raise ParseError(source, "items[]", "expected an object")
    cid = get_path(source, item, "id", int)
    deleted = bool(item.get("deleted"))
    # A deleted comment may come without a date; it is dropped anyway, so any time will do.
    date = item.get("date", 0) if deleted else item.get("date")
    from_id: int = item["from_id"] if isinstance(item.get("from_id"), int) else 0
    author, reach, _ = who.get(from_id, (str(from_id), None, None))
    place = who.get(owner_id, (str(owner_id), None, None))
    answers = item.get("reply_to_comment")
    if not isinstance(answers, int) or isinstance(answers, bool):
        answers = thread_of if isinstance(thread_of, int) and not isinstance(thread_of, bool) else None
    parent = f"{owner_id}_{post_id}" if answers is None else f"{owner_id}_{post_id}?reply={answers}"
    return Mention(
        source=source,
        external_id=f"{owner_id}_{post_id}?reply={cid}",
        channel=channel,
        text=vk_text(str(item.get("text") or "")),
        published_at=unix_to_utc(source, "items[].date", date),
        url=f"https://vk.com/wall{owner_id}_{post_id}?reply={cid}",
        author=author,
        author_id=str(from_id) if from_id else None,
        author_reach=reach,
        place=place[2] or place[0],
        likes=opt_int(item.get("likes")),
        parent_external_id=parent,
        raw={"owner_id": owner_id, "post_id": post_id, "id": cid, "from_id": from_id, "deleted": deleted},
    )
