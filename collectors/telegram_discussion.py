"""Comments under Telegram channel posts, read from the public discussion widget (no login, no Bot API).

Complaints live in the comments more than in the posts. Telegram renders the newest comments of a post
server-side at ``{base}/<channel>/<post>?embed=1&discussion=1&comments_limit=N`` (oldest first); older ones
come from the page's own unauthenticated call: ``POST`` to the page's ``api_url`` with
``method=loadComments``, the form's ``peer``, ``top_msg_id`` and ``discussion_hash``, and ``before_id``.
The ``api_url`` host is never followed: only its path and query are joined to the configured ``base_url``.

A page is in one of three states: open with comments, open with none (the form is there, "Be the first to
add a comment"), or closed (no form and no ``comments_cnt``; "Discussion is not available"). Traps from real
pages: every comment carries a reply *template* (``.js-reply_tpl``) with its own author and a cut copy of its
own text, so reply-to is read only from ``.js-reply_to[data-reply-to]``; text with custom emoji or media sits
inside ``.media_supported_cont``, so ``.js-message_text`` is searched anywhere in the comment.

:class:`CommentsReader` keeps, per channel, a :class:`CommentsCursor`: for each post young enough to poll
(``comments_window_h``), the newest comment id stored and the ranges of older comments still to read, so a
long thread is read across polls and a kill resumes at the next post.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Tag

from collectors.base import Page
from collectors.errors import CollectorError, ParseError, RateLimited, RequestError
from collectors.text import clean_line, clean_text, parse_count, parse_iso
from core.mention import Mention

if TYPE_CHECKING:
    from collectors.telegram import TelegramCollector

__all__ = [
    "COMMENTS_PREFIX",
    "CommentsCursor",
    "CommentsReader",
    "Discussion",
    "PostState",
    "comment_id",
    "load_error",
    "parse_comments",
    "parse_discussion",
    "parse_load_reply",
    "reactions",
    "refresh_counters",
]

SOURCE = "telegram"
#: Queries ``comments:<channel>`` read the comments of the channel's young posts.
COMMENTS_PREFIX = "comments:"

_AUTH_INIT = re.compile(r"TWidgetAuth\.init\((\{.*?\})\);", re.S)
_DISCUSSION_INIT = re.compile(r"TWidgetDiscussion\.init\((\{.*?\})\);", re.S)
_USERNAME = re.compile(r"^https?://(?:www\.)?(?:t\.me|telegram\.me)/([A-Za-z0-9_]{3,64})/?$")


@dataclass(slots=True)
class Discussion:
    """One widget page (or one ``loadComments`` reply): comments oldest first and how to go further back."""

    open: bool
    comments: list[Mention]
    #: ``data-before`` of the "Show N more comments" link: older comments exist below this id.
    before: int | None
    count: int | None = None
    #: Path and query of the page's ``api_url`` (``/api/method?api_hash=...``), joined to our base URL.
    api_path: str | None = None
    #: ``peer``, ``top_msg_id`` and ``discussion_hash`` of the page's form.
    form: dict[str, str] = field(default_factory=dict)


def comment_id(channel: str, post: int, comment: int) -> str:
    """The external id of a comment: its permalink's path and query, ``<channel>/<post>?comment=<id>``."""
    return f"{channel}/{post}?comment={comment}"


def parse_discussion(html: str, channel: str, post: int, mention_channel: str = "telegram") -> Discussion:
    """Parse a widget page. A page that is not a discussion widget at all is a :class:`ParseError`."""
    soup = BeautifulSoup(html, "lxml")
    history = soup.select_one(".js-message_history, .tgme_post_discussion")
    notice = soup.select_one(".tme_no_messages_found")
    if history is None:
        if notice is not None:  # "Please open Telegram to view this discussion", a blocked group...
            return Discussion(False, [], None)
        raise ParseError(SOURCE, ".js-message_history", f"not a discussion widget page for {channel}/{post}")
    form = soup.select_one("form.js-new_message_form")
    init = _json_call(_DISCUSSION_INIT, html)
    count = init.get("comments_cnt")
    count = count if isinstance(count, int) and not isinstance(count, bool) else None
    # "Be the first to add a comment" also uses .tme_no_messages_found: the form or the count tells open.
    is_open = form is not None or count is not None
    fields: dict[str, str] = {}
    if form is not None:
        for name in ("peer", "top_msg_id", "discussion_hash"):
            tag = form.select_one(f"input[name={name}]")
            if tag is not None and tag.get("value"):
                fields[name] = str(tag.get("value"))
    api_url = _json_call(_AUTH_INIT, html).get("api_url")
    api_path = None
    if isinstance(api_url, str) and api_url:
        parts = urlsplit(api_url)
        api_path = parts.path + (f"?{parts.query}" if parts.query else "")
    top = _int(fields.get("top_msg_id"))
    comments = parse_comments(history, channel, post, mention_channel, top) if is_open else []
    return Discussion(is_open, comments, _before(history), count, api_path, fields)


def load_error(body: Any, response: object = None) -> CollectorError | None:
    """The error a ``loadComments`` reply reports (``{"error": "..."}``), for the HTTP helper to raise.

    "FLOOD..." / "Too many requests" are rate limits (retried with back-off); anything else means our
    request is wrong (an expired ``api_hash``, a post without discussion) and is not retried.
    """
    if not isinstance(body, dict):
        return ParseError(SOURCE, "<loadComments>", "expected a JSON object")
    if "error" not in body:
        return None
    text = str(body.get("error"))[:200]
    if "FLOOD" in text.upper() or "TOO MANY" in text.upper():
        return RateLimited(SOURCE, f"loadComments: {text}")
    return RequestError(SOURCE, f"loadComments: {text}")


def parse_load_reply(
    body: Any, channel: str, post: int, mention_channel: str = "telegram", top_msg_id: int | None = None
) -> Discussion:
    """A ``loadComments`` JSON reply ``{ok, comments_html, comments_cnt}`` (errors: :func:`load_error`)."""
    err = load_error(body)
    if err is not None:
        raise err
    html = body.get("comments_html")
    if not isinstance(html, str):
        raise ParseError(SOURCE, "comments_html", "missing or not a string")
    fragment = BeautifulSoup(f"<div>{html}</div>", "lxml")
    count = body.get("comments_cnt")
    return Discussion(
        True,
        parse_comments(fragment, channel, post, mention_channel, top_msg_id),
        _before(fragment),
        count if isinstance(count, int) and not isinstance(count, bool) else None,
    )


def parse_comments(
    root: Tag, channel: str, post: int, mention_channel: str = "telegram", top_msg_id: int | None = None
) -> list[Mention]:
    """Every comment under ``root`` as a mention (text-less ones too: the admission rule drops them)."""
    out: list[Mention] = []
    for msg in root.select("div.tgme_widget_message[data-post-id]"):
        cid = _int(str(msg.get("data-post-id") or ""))
        if cid is None:
            raise ParseError(
                SOURCE, "div.tgme_widget_message[data-post-id]", f"not an id in {channel}/{post}"
            )
        time_tag = msg.select_one("a.tgme_widget_message_date time[datetime]")
        if time_tag is None:
            raise ParseError(SOURCE, "a.tgme_widget_message_date time[datetime]", f"comment {cid}")
        published = parse_iso(SOURCE, "time[datetime]", time_tag.get("datetime"))
        name, username = _author(msg)
        text_tag = _own(msg, ".js-message_text")
        text = clean_text(text_tag.decode_contents(), "html") if text_tag is not None else ""
        reply = _own(msg, ".js-reply_to[data-reply-to]")
        reply_to = _int(str(reply.get("data-reply-to") or "")) if reply is not None else None
        if reply_to is not None and reply_to == top_msg_id:
            reply_to = None  # an answer to the post's copy in the group is an answer to the post
        likes, stars = reactions(msg)
        footer = msg.select_one(".js-message_footer, .tgme_widget_message_footer")
        thread = f"{channel}/{post}"
        out.append(
            Mention(
                source=SOURCE,
                external_id=comment_id(channel, post, cid),
                channel=mention_channel,
                text=text,
                published_at=published,
                url=f"https://t.me/{channel}/{post}?comment={cid}",
                author=name,
                author_id=username.lower() if username else None,
                place=channel,
                likes=likes,
                parent_external_id=comment_id(channel, post, reply_to) if reply_to is not None else thread,
                raw={
                    "post": thread,
                    "comment_id": cid,
                    "reply_to": reply_to,
                    "author_username": username,
                    "from_channel": username is not None and username.lower() == channel.lower(),
                    "paid_stars": stars,
                    "edited": footer is not None and "edited" in footer.get_text(" ", strip=True),
                },
            )
        )
    return out


def reactions(msg: Tag) -> tuple[int | None, int | None]:
    """(free reactions summed as likes, paid Stars) of a post or comment; ``None`` where it shows none.

    Each reaction is ``<span class="tgme_reaction">`` with an emoji and a count ("1.2K"); a paid one also has
    ``tgme_reaction_paid`` and counts Stars bought, which say nothing about how many people liked it.
    """
    spans = msg.select(".tgme_reaction, .tgme_reaction_paid")
    if not spans:
        return None, None
    likes: int | None = None
    stars: int | None = None
    for r in spans:
        m = re.search(r"([\d.,]+[KMB]?)\s*$", r.get_text(" ", strip=True))
        count = (parse_count(m.group(1)) or 0) if m else 0
        if "tgme_reaction_paid" in (r.get("class") or []):
            stars = (stars or 0) + count
        else:
            likes = (likes or 0) + count
    return likes, stars


def _own(msg: Tag, selector: str) -> Tag | None:
    """The first ``selector`` match in ``msg`` that is not inside its reply template (``.js-reply_tpl``)."""
    for tag in msg.select(selector):
        if tag.find_parent(class_="js-reply_tpl") is None:
            return tag
    return None


def _author(msg: Tag) -> tuple[str | None, str | None]:
    """(display name, username) of a comment's author, as the page shows them.

    The name may hold emoji markup (``<i class="emoji"><b>🔗</b></i>``); the username is the last part of the
    author link (``https://t.me/<username>``). Deleted or hidden accounts have a name and no link.
    """
    tag: Tag | None = None
    for candidate in msg.select(".tgme_widget_message_author_name"):
        if candidate.find_parent(class_=["js-reply_tpl", "js-reply_to"]) is None:
            tag = candidate
            break
    if tag is None:
        return None, None
    name = clean_line(tag.decode_contents(), "html") or None
    href = tag.get("href") if tag.name == "a" else None
    if href is None:
        link = msg.select_one(".tgme_widget_message_user > a[href]")
        href = link.get("href") if link is not None else None
    m = _USERNAME.match(str(href)) if href else None
    return name, m.group(1) if m else None


def _before(root: Tag) -> int | None:
    more = root.select_one(".js-messages_more[data-before]")
    return _int(str(more.get("data-before") or "")) if more is not None else None


def _json_call(pattern: re.Pattern[str], html: str) -> dict[str, Any]:
    m = pattern.search(html)
    if m is None:
        return {}
    try:
        value = json.loads(m.group(1))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


@dataclass(slots=True)
class PostState:
    """What is known of one post's comments: ``newest`` id stored, older ranges still ``todo``.

    A ``todo`` range ``[before, floor]`` means: comments with ids below ``before`` and above ``floor`` have
    not been read yet (``floor`` 0: down to the first comment).
    """

    published: float
    newest: int | None = None
    todo: list[list[int]] = field(default_factory=list)
    closed: bool = False
    #: When the post was last polled (unix seconds; 0: never), so posts take turns under ``comments_posts``.
    polled: float = 0.0


@dataclass(slots=True)
class CommentsCursor:
    """The JSON stored for a ``comments:<channel>`` query: a :class:`PostState` per young post."""

    posts: dict[int, PostState] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> CommentsCursor:
        """Decode a stored cursor; anything unreadable starts afresh (the store keeps one copy of each)."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            posts = data["posts"] if isinstance(data, dict) else None
            if not isinstance(posts, dict):
                return cls()
            out: dict[int, PostState] = {}
            for key, st in posts.items():
                if not str(key).isdigit() or not isinstance(st, dict):
                    continue
                todo = [
                    [int(r[0]), int(r[1])]
                    for r in st.get("todo") or []
                    if isinstance(r, list) and len(r) == 2 and all(isinstance(x, int) for x in r)
                ]
                newest = st.get("newest")
                out[int(key)] = PostState(
                    published=float(st.get("published") or 0.0),
                    newest=newest if isinstance(newest, int) else None,
                    todo=todo,
                    closed=bool(st.get("closed")),
                    polled=float(st.get("polled") or 0.0),
                )
            return cls(out)
        except (ValueError, TypeError, KeyError):
            return cls()

    def dump(self) -> str:
        """Compact JSON for :meth:`storage.store.Store.save_page`."""
        posts = {
            str(pid): {
                "published": st.published,
                "newest": st.newest,
                "todo": st.todo,
                "closed": st.closed,
                "polled": st.polled,
            }
            for pid, st in sorted(self.posts.items())
        }
        return json.dumps({"posts": posts}, separators=(",", ":"))


class CommentsReader:
    """Reads the comments of one channel's young posts for a :class:`~collectors.telegram.TelegramCollector`,
    through its throttled :class:`~collectors.http.Http` (so posts and comments share one rate limit)."""

    def __init__(self, collector: TelegramCollector, *, clock: Callable[[], datetime] | None = None) -> None:
        self.collector = collector
        self.settings = collector.settings
        self.clock = clock or (lambda: datetime.now(UTC))

    @property
    def window_h(self) -> float:
        """How long after publication a post's comments are polled."""
        from collectors.refresh import RefreshPolicy

        return self.settings.comments_window_h or RefreshPolicy().window_h

    async def discussion(self, channel: str, post: int) -> Discussion:
        """The widget page of ``channel/post``: the newest ``comments_limit`` comments."""
        response, _ = await self.collector.http.request(
            "GET",
            f"{self.collector.base}/{channel}/{post}",
            params={"embed": "1", "discussion": "1", "comments_limit": str(self.settings.comments_limit)},
        )
        return parse_discussion(response.text, channel, post, self.collector.channel)

    async def older(self, page: Discussion, channel: str, post: int, before: int) -> Discussion:
        """Comments older than ``before``, through the page's own ``loadComments`` call."""
        if page.api_path is None or not {"peer", "top_msg_id", "discussion_hash"} <= page.form.keys():
            raise ParseError(
                SOURCE, "TWidgetAuth.init api_url", f"no loadComments parameters on {channel}/{post}"
            )
        path = page.api_path if page.api_path.startswith("/") else f"/{page.api_path}"
        _, body = await self.collector.http.request(
            "POST",
            f"{self.collector.base}{path}",
            data={"method": "loadComments", **page.form, "before_id": str(before)},
            headers={"X-Requested-With": "XMLHttpRequest"},
            api_check=load_error,
        )
        return parse_load_reply(
            body, channel, post, self.collector.channel, _int(page.form.get("top_msg_id"))
        )

    async def young_posts(self, channel: str, horizon: float) -> dict[int, float]:
        """Post id -> publication time of the channel's posts since ``horizon``, from its preview pages."""
        found: dict[int, float] = {}
        before: str | None = None
        for _ in range(self.settings.max_pages):
            page = await self.collector.page(channel, before)
            for m in page.mentions:
                num = m.external_id.partition("/")[2]
                if num.isdigit() and not m.raw.get("service") and m.published_at.timestamp() >= horizon:
                    found[int(num)] = m.published_at.timestamp()
            oldest = min((m.published_at.timestamp() for m in page.mentions), default=None)
            if page.before is None or oldest is None or oldest < horizon:
                break
            before = page.before
        return found

    async def pages(
        self, channel: str, raw_cursor: str | None, since: datetime | None
    ) -> AsyncIterator[Page]:
        """One page per young post (its new comments and the cursor after it), newest post first."""
        cur = CommentsCursor.load(raw_cursor)
        horizon = (self.clock() - timedelta(hours=self.window_h)).timestamp()
        if since is not None:
            horizon = min(horizon, since.timestamp())
        for pid, published in (await self.young_posts(channel, horizon)).items():
            cur.posts.setdefault(pid, PostState(published=published))
        # Posts that aged out of the window are no longer polled, and forgotten.
        cur.posts = {pid: st for pid, st in cur.posts.items() if st.published >= horizon}
        # The least recently polled first (new posts have never been), newest first among equals: with more
        # young posts than comments_posts, they take turns instead of the oldest never being read.
        due = sorted(
            (pid for pid, st in cur.posts.items() if not st.closed), key=lambda p: (cur.posts[p].polled, -p)
        )[: self.settings.comments_posts]
        if not due:
            yield Page([], cur.dump(), done=True)
            return
        failed: list[CollectorError] = []
        for n, pid in enumerate(due):
            st = cur.posts[pid]
            before = replace(st, todo=[list(r) for r in st.todo])
            try:
                mentions, notes = await self.post(channel, pid, st)
            except (ParseError, RequestError) as exc:
                # One odd post must not starve the others: it goes to the back of the queue with its state
                # as it was (nothing read from it is lost), the rest are read, and the failure is raised
                # once they are committed, so it reaches source health.
                failed.append(exc)
                st = cur.posts[pid] = before
                mentions, notes = [], [f"{channel}/{pid}: {exc.message}"]
            st.polled = self.clock().timestamp()
            last = n == len(due) - 1
            yield Page(mentions, cur.dump(), done=last and not failed, notes=notes)
        if failed:
            raise failed[0]

    async def post(self, channel: str, pid: int, st: PostState) -> tuple[list[Mention], list[str]]:
        """New comments of one post; updates ``st``. Older ranges are read ``comment_pages`` calls at most."""
        page = await self.discussion(channel, pid)
        if not page.open:
            st.closed = True
            return [], []
        seen_before = st.newest
        out = [c for c in page.comments if seen_before is None or int(c.raw["comment_id"]) > seen_before]
        ids = [int(c.raw["comment_id"]) for c in page.comments]
        if ids:
            st.newest = max([*ids, *([seen_before] if seen_before is not None else [])])
        if page.before is not None and page.before > (seen_before or 0) + 1:
            st.todo.insert(0, [page.before, seen_before or 0])
        notes: list[str] = []
        calls = 0
        while st.todo and calls < self.settings.comment_pages:
            before, floor = st.todo[0]
            older = await self.older(page, channel, pid, before)
            calls += 1
            got = [c for c in older.comments if floor < int(c.raw["comment_id"]) < before]
            out.extend(got)
            lowest = min((int(c.raw["comment_id"]) for c in got), default=None)
            nxt = older.before
            if nxt is None or lowest is None or nxt <= floor + 1 or nxt >= before:
                st.todo.pop(0)  # reached what was stored before, or the first comment
            else:
                st.todo[0] = [nxt, floor]
        if st.todo:
            notes.append(f"{channel}/{pid}: older comments left for the next poll")
        return out, notes


def refresh_counters(discussion: Discussion) -> dict[str, dict[str, int | None]]:
    """Counters of the comments on a widget page, by external id (reactions as likes)."""
    return {
        c.external_id: {"likes": c.likes, "reposts": None, "comments": None, "views": None}
        for c in discussion.comments
    }
