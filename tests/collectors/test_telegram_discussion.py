"""Comments under Telegram posts, from fixtures shaped like the real discussion widget pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from collectors.errors import ParseError, RateLimited, RequestError
from collectors.telegram import TelegramCollector, TelegramSettings
from collectors.telegram_discussion import CommentsCursor, parse_discussion
from tests.collectors.server import FIXTURES, FixtureServer, Reply, fetch_all

CH = "romashka_news"
WIDGET = {"embed": "1", "discussion": "1"}


def _tg(server: FixtureServer, client, retry, **kw) -> TelegramCollector:
    settings = TelegramSettings(
        base_url=server.url, channels=[CH], comments_window_h=1e6, requests_per_s=50, **kw
    )
    return TelegramCollector(settings, client, retry=retry)


def _routes(server: FixtureServer) -> None:
    server.route(f"/s/{CH}", "telegram/channel_comments.html")
    server.route(f"/{CH}/120", "telegram/discussion_120.html", **WIDGET)
    server.route(f"/{CH}/121", "telegram/discussion_121_closed.html", **WIDGET)
    server.route(f"/{CH}/122", "telegram/discussion_122_empty.html", **WIDGET)
    server.route("/api/method", "telegram/load_120_before_5003.json", before_id="5003")
    server.route("/api/method", "telegram/load_120_before_5001.json", before_id="5001")


def _page(name: str) -> str:
    return (FIXTURES / "telegram" / name).read_text(encoding="utf-8")


def test_open_page_with_replies_media_wrappers_and_emoji_names() -> None:
    page = parse_discussion(_page("discussion_120.html"), CH, 120)
    assert page.open and page.count == 7 and page.before == 5003
    assert page.api_path == "/api/method?api_hash=5e6f7a8b9c0d1e2f30"
    assert page.form == {
        "peer": "c1999999999_1234567890123456789",
        "top_msg_id": "3000",
        "discussion_hash": "77aa88bb99cc00dd11",
    }
    c = {int(m.raw["comment_id"]): m for m in page.comments}
    assert sorted(c) == [5003, 5004, 5006, 5007]
    first = c[5003]
    # The full text, not the reply template's cut copy; <br/> and &#33; as a reader sees them.
    assert first.text == "Ромашка, верните старый тариф!!\n\nВторой месяц жду ответа 😡"
    assert first.author == "Иван 🔗" and first.raw["author_username"] == "ivan_test"
    assert first.author_id == "ivan_test"  # what a brand's `telegram:<name>` account is matched against
    assert first.likes == 12 and first.raw["paid_stars"] == 1000  # Stars are not likes
    assert first.external_id == "romashka_news/120?comment=5003"
    assert first.url == "https://t.me/romashka_news/120?comment=5003"
    assert first.parent_external_id == "romashka_news/120"  # a comment's thread is its post
    assert first.published_at == datetime(2024, 9, 3, 10, 5, tzinfo=UTC)
    answer = c[5004]
    assert answer.parent_external_id == "romashka_news/120?comment=5003"  # a reply: the comment answered
    assert answer.raw["from_channel"] is True and answer.raw["edited"] is True
    assert answer.author == "Ромашка Новости" and answer.likes == 3
    wrapped = c[5006]  # custom emoji: the text sits inside .media_supported_cont
    assert wrapped.text == "Кэшбэк у 💳 Ромашки так и не пришёл"
    assert wrapped.author == "Анна 🌸 Тестова" and wrapped.likes is None
    sticker = c[5007]  # no text at all, and a deleted account without a link
    assert sticker.text == "" and sticker.author == "Deleted Account"
    assert sticker.raw["author_username"] is None and sticker.author_id is None


def test_closed_and_empty_discussions() -> None:
    closed = parse_discussion(_page("discussion_121_closed.html"), CH, 121)
    assert not closed.open and closed.comments == [] and closed.before is None
    empty = parse_discussion(_page("discussion_122_empty.html"), CH, 122)
    assert empty.open and empty.comments == [] and empty.count == 0 and empty.before is None


def test_a_page_that_is_not_a_widget_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_discussion("<html><body><h1>502 Bad Gateway</h1></body></html>", CH, 120)
    assert info.value.field == ".js-message_history"


async def test_comments_of_young_posts_across_pages(server, client, retry) -> None:
    _routes(server)
    c = _tg(server, client, retry)
    assert c.queries([]) == [CH, f"comments:{CH}"]
    pages = await fetch_all(c, f"comments:{CH}")
    # Newest post first: 122 (no comments), 121 (closed), 120 (three pages of comments).
    assert [p.done for p in pages] == [False, False, True]
    mentions = [m for p in pages for m in p.mentions]
    ids = sorted(int(m.raw["comment_id"]) for m in mentions)
    assert ids == [4990, 5001, 5002, 5003, 5004, 5006]  # the sticker-only comment is not a mention
    by_id = {int(m.raw["comment_id"]): m for m in mentions}
    assert by_id[5002].parent_external_id == "romashka_news/120?comment=5001"
    assert by_id[5001].likes == 2 and by_id[4990].text == "Первый комментарий про Ромашку"
    # Older pages through the page's own loadComments call, on our base URL, with the form's fields.
    loads = server.hits("/api/method")
    assert [r.params["before_id"] for r in loads] == ["5003", "5001"]
    first = loads[0]
    assert first.method == "POST" and first.params["api_hash"] == "5e6f7a8b9c0d1e2f30"
    assert first.params["method"] == "loadComments" and first.params["top_msg_id"] == "3000"
    assert first.params["peer"] == "c1999999999_1234567890123456789"
    assert first.headers["x-requested-with"] == "XMLHttpRequest"
    widget = server.hits(f"/{CH}/120")[0]
    assert widget.params["comments_limit"] == "50"
    state = CommentsCursor.load(pages[-1].cursor)
    assert state.posts[120].newest == 5007 and state.posts[120].todo == []
    assert state.posts[121].closed and state.posts[122].newest is None


async def test_second_poll_reads_only_new_comments_and_skips_closed_posts(server, client, retry) -> None:
    _routes(server)
    c = _tg(server, client, retry)
    first = await fetch_all(c, f"comments:{CH}")
    before = len(server.requests)
    again = await fetch_all(c, f"comments:{CH}", first[-1].cursor)
    assert [m for p in again for m in p.mentions] == []
    asked = [r.path for r in server.requests[before:]]
    # The preview once, then each open post's widget once: no loadComments, nothing for the closed post.
    assert asked == [f"/s/{CH}", f"/{CH}/122", f"/{CH}/120"]


async def test_backfill_resumes_on_the_next_poll(server, client, retry) -> None:
    _routes(server)
    c = _tg(server, client, retry, comment_pages=1)
    first = await fetch_all(c, f"comments:{CH}")
    assert "older comments left for the next poll" in " ".join(n for p in first for n in p.notes)
    assert CommentsCursor.load(first[-1].cursor).posts[120].todo == [[5001, 0]]
    assert 4990 not in {m.raw["comment_id"] for p in first for m in p.mentions}
    again = await fetch_all(c, f"comments:{CH}", first[-1].cursor)
    assert [m.raw["comment_id"] for p in again for m in p.mentions] == [4990]
    assert CommentsCursor.load(again[-1].cursor).posts[120].todo == []


async def test_a_kill_between_posts_resumes_at_the_next_post(server, client, retry) -> None:
    _routes(server)
    c = _tg(server, client, retry)
    pages = c.fetch(f"comments:{CH}", None, None)
    first = await anext(pages)  # post 122 committed, then the process dies
    await pages.aclose()
    assert sorted(CommentsCursor.load(first.cursor).posts) == [120, 121, 122]
    rest = await fetch_all(c, f"comments:{CH}", first.cursor)
    assert len([m for p in rest for m in p.mentions]) == 6


async def test_old_posts_are_not_polled(server, client, retry) -> None:
    _routes(server)
    now = datetime.now(UTC)
    # Only posts newer than 2024-09-03 10:30 UTC are young: 121 (12:00) and 122 (15:00), not 120 (09:00).
    window = (now - datetime(2024, 9, 3, 10, 30, tzinfo=UTC)).total_seconds() / 3600
    c = _tg(server, client, retry)
    c.settings.comments_window_h = window
    pages = await fetch_all(c, f"comments:{CH}")
    assert [m for p in pages for m in p.mentions] == []
    assert server.hits(f"/{CH}/120") == [] and sorted(CommentsCursor.load(pages[-1].cursor).posts) == [
        121,
        122,
    ]


async def test_comments_off(server, client, retry) -> None:
    c = _tg(server, client, retry, fetch_comments=False)
    assert c.queries([]) == [CH]


async def test_load_comments_flood_is_retried_then_reported(server, client, retry, sleeps) -> None:
    _routes(server)
    server.route("/api/method", Reply(body={"error": "FLOOD_WAIT"}), before_id="5003")
    pages = []
    with pytest.raises(RateLimited, match="loadComments"):
        async for p in _tg(server, client, retry).fetch(f"comments:{CH}", None, None):
            pages.append(p)
    assert len(pages) == 2  # the posts before it were committed
    assert len(sleeps) == 3 and len(server.hits("/api/method")) == 4


async def test_load_comments_refusal_is_not_retried(server, client, retry, sleeps) -> None:
    _routes(server)
    server.route("/api/method", Reply(body={"error": "Access denied"}), before_id="5003")
    pages = []
    with pytest.raises(RequestError, match="Access denied"):
        async for p in _tg(server, client, retry).fetch(f"comments:{CH}", None, None):
            pages.append(p)
    assert sleeps == []
    # Nothing of post 120 counts as read: the next poll starts it again, so no comment is lost.
    state = CommentsCursor.load(pages[-1].cursor).posts[120]
    assert state.newest is None and state.todo == [] and state.polled > 0
    server.route("/api/method", "telegram/load_120_before_5003.json", before_id="5003")
    again = await fetch_all(_tg(server, client, retry), f"comments:{CH}", pages[-1].cursor)
    assert len([m for p in again for m in p.mentions]) == 6


async def test_comment_reactions_are_refreshed_from_the_widget(server, client, retry) -> None:
    _routes(server)
    got = await _tg(server, client, retry).engagement(
        ["romashka_news/120?comment=5003", "romashka_news/120?comment=4990"]
    )
    assert got == {
        "romashka_news/120?comment=5003": {"likes": 12, "reposts": None, "comments": None, "views": None}
    }


def test_unreadable_cursor_starts_afresh() -> None:
    assert CommentsCursor.load("{not json").posts == {}
    assert CommentsCursor.load(json.dumps({"posts": {"x": 1, "5": {"published": 1.0}}})).posts.keys() == {5}


def test_comments_window_defaults_to_the_refresh_window() -> None:
    from loyalty_monitor.config import parse_config

    config = parse_config(
        {"pipeline": {"refresh_window_h": 12}, "sources": {"telegram": {"channels": ["x"]}}}
    )
    assert config.sources["telegram"].comments_window_h == 12  # type: ignore[attr-defined]
    own = parse_config({"sources": {"telegram": {"channels": ["x"], "comments_window_h": 48}}})
    assert own.sources["telegram"].comments_window_h == 48  # type: ignore[attr-defined]


def test_collect_once_stores_comment_mentions_that_count_in_the_index(
    server, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: ``loyalty-monitor collect --once`` against a local Telegram, then the loyalty index."""
    from click.testing import CliRunner
    from sqlalchemy import select

    from loyalty_index.index import index_window
    from loyalty_monitor import service
    from loyalty_monitor.cli import main
    from storage.schema import MentionBrand, MentionRow
    from storage.store import Store
    from tests.fakes import FakeSentimentModel

    _routes(server)
    db = f"sqlite:///{tmp_path / 'tg.db'}"
    config = tmp_path / "loyalty.toml"
    config.write_text(
        f"""
[storage]
url = "{db}"
[[brands]]
name = "Ромашка"
aliases = ["Ромашка"]
own = true
[sources.telegram]
base_url = "{server.url}"
channels = ["@{CH}"]
initial_lookback_h = 1000000
comments_window_h = 1000000
requests_per_s = 50
[alerts]
enabled = false
""",
        encoding="utf-8",
    )
    monkeypatch.setattr(service, "load_sentiment", lambda config: FakeSentimentModel())
    result = CliRunner().invoke(main, ["collect", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    store = Store.open(db)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(MentionRow.external_id, MentionRow.parent_external_id, MentionRow.author)
                .where(MentionRow.external_id.like("%?comment=%"))
                .order_by(MentionRow.external_id)
            ).all()
            labels = dict(
                conn.execute(
                    select(MentionRow.external_id, MentionBrand.label).join(
                        MentionBrand, MentionBrand.mention_id == MentionRow.id
                    )
                ).all()
            )
        assert [r.external_id.rpartition("=")[2] for r in rows] == [
            "4990",
            "5001",
            "5002",
            "5003",
            "5004",
            "5006",
        ]
        assert {r.parent_external_id for r in rows} >= {"romashka_news/120", "romashka_news/120?comment=5001"}
        # Comments that name the brand are mentions of it, on the same channel as the posts.
        assert labels["romashka_news/120?comment=5003"] == "negative"  # "верните"
        assert labels["romashka_news/120?comment=5002"] == "negative"  # "списала"
        assert "romashka_news/120?comment=5004" not in labels  # the brand's own reply names no brand
        points = index_window(
            store,
            datetime(2024, 9, 3, tzinfo=UTC),
            datetime(2024, 9, 4, tzinfo=UTC),
            brands=["Ромашка"],
            channels=["telegram"],
        )
        [point] = points
        negatives = sum(1 for k, v in labels.items() if v == "negative")
        assert point.negative == negatives == 2 and point.index is not None and point.index < 0
    finally:
        store.close()


async def test_posts_take_turns_when_there_are_more_than_comments_posts(server, client, retry) -> None:
    _routes(server)
    c = _tg(server, client, retry, comments_posts=1)
    first = await fetch_all(c, f"comments:{CH}")
    second = await fetch_all(c, f"comments:{CH}", first[-1].cursor)
    third = await fetch_all(c, f"comments:{CH}", second[-1].cursor)
    widgets = [r.path for r in server.requests if r.params.get("discussion") == "1"]
    # Newest first, then the ones not polled yet; the closed post 121 drops out after its one visit.
    assert widgets == [f"/{CH}/122", f"/{CH}/121", f"/{CH}/120"]
    assert len([m for p in third for m in p.mentions]) == 6


async def test_the_pages_api_host_is_never_followed(server, client, retry) -> None:
    """Only the path of the page's ``api_url`` is used, on the configured base URL."""
    _routes(server)
    page = _page("discussion_120.html").replace("https:\\/\\/t.me\\/api", "https:\\/\\/evil.example\\/api")
    assert "evil.example" in page
    server.route(f"/{CH}/120", Reply(body=page, content_type="text/html; charset=utf-8"), **WIDGET)
    pages = await fetch_all(_tg(server, client, retry), f"comments:{CH}")
    assert len(server.hits("/api/method")) == 2 and len([m for p in pages for m in p.mentions]) == 6


async def test_an_unreadable_post_does_not_starve_the_others(server, client, retry) -> None:
    _routes(server)
    garbage = Reply(body="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    server.route(f"/{CH}/122", garbage, **WIDGET)
    pages = []
    with pytest.raises(ParseError, match="122"):
        async for p in _tg(server, client, retry).fetch(f"comments:{CH}", None, None):
            pages.append(p)
    assert len([m for p in pages for m in p.mentions]) == 6  # post 120 was read all the same
    state = CommentsCursor.load(pages[-1].cursor)
    assert state.posts[122].polled > 0 and not state.posts[122].closed  # tried again, after the others


def test_unavailable_discussion_notices_read_as_closed() -> None:
    page = parse_discussion(
        '<html><body><div class="tme_no_messages_found">Please open Telegram to view this discussion from'
        " @romashka_news.</div></body></html>",
        CH,
        120,
    )
    assert not page.open and page.comments == []
