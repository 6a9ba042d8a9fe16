from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.errors import NotFoundError, ParseError, RateLimited
from collectors.telegram import TelegramCollector, TelegramSettings, channel_name
from tests.collectors.server import FixtureServer, Reply, fetch_all


def _tg(server: FixtureServer, client, retry, **kw) -> TelegramCollector:
    settings = TelegramSettings(
        base_url=server.url, channels=["@romashka_news"], initial_lookback_h=1e6, requests_per_s=50, **kw
    )
    return TelegramCollector(settings, client, retry=retry)


def test_channel_names() -> None:
    assert channel_name("https://t.me/s/abc/") == "abc"
    assert channel_name("@abc") == "abc"
    assert channel_name("t.me/abc") == "abc"


async def test_channel_pages_to_the_beginning(server, client, retry) -> None:
    server.route("/s/romashka_news", "telegram/channel.html")
    server.route("/s/romashka_news", "telegram/channel_before_99.html", before="99")
    c = _tg(server, client, retry)
    assert c.queries(["brand"]) == ["romashka_news", "comments:romashka_news"]
    pages = await fetch_all(c, "romashka_news")
    assert [p.done for p in pages] == [False, True]
    ms = {m.external_id: m for p in pages for m in p.mentions}
    assert sorted(ms) == ["romashka_news/100", "romashka_news/101", "romashka_news/98", "romashka_news/99"]
    p99 = ms["romashka_news/99"]
    assert p99.text == "Ромашка запускает кешбэк\nдо 5%"
    assert p99.views == 3_460_000 and p99.author_reach == 12_500 and p99.author == "Ромашка Новости"
    assert p99.url == "https://t.me/romashka_news/99" and p99.place == "romashka_news"
    album = ms["romashka_news/100"]
    assert album.text == "Альбом: офис Ромашки"  # once, although the page repeats it
    assert album.likes == 1234 and album.published_at == datetime(2024, 9, 3, 9, 30, tzinfo=UTC)
    reply = ms["romashka_news/101"]
    assert reply.text.startswith("Уточнение 🌼")  # not the quoted message
    # Cleaning drops the zero width space and keeps the right-to-left marks (display escapes them).
    assert "\u200b" not in reply.text and "\u200f" in reply.text and "\u202e" in reply.text
    assert ms["romashka_news/98"].views == 2500
    assert ms["romashka_news/98"].raw["forwarded_from"] == "Другой канал"


async def test_missing_channel(server, client, retry) -> None:
    server.route("/s/nosuch_channel", "telegram/missing.html")
    with pytest.raises(NotFoundError, match="nosuch_channel"):
        await fetch_all(_tg(server, client, retry), "nosuch_channel")


async def test_changed_markup_is_parse_error(server, client, retry) -> None:
    server.route("/s/romashka_news", "telegram/changed.html")
    with pytest.raises(ParseError) as info:
        await fetch_all(_tg(server, client, retry), "romashka_news")
    assert info.value.field == "time[datetime]"


async def test_garbage_html_is_parse_error(server, client, retry) -> None:
    server.route(
        "/s/romashka_news", Reply(body="<html><body><h1>502 Bad Gateway</h1>", content_type="text/html")
    )
    with pytest.raises(ParseError):
        await fetch_all(_tg(server, client, retry), "romashka_news")


async def test_429_with_retry_after(server, client, retry, sleeps) -> None:
    server.route(
        "/s/romashka_news", Reply(429, headers={"Retry-After": "5"}), "telegram/channel_before_99.html"
    )
    pages = await fetch_all(_tg(server, client, retry), "romashka_news")
    assert sleeps == [5.0] and len(pages[0].mentions) == 1


async def test_429_for_too_long_gives_up(server, client, retry) -> None:
    server.route("/s/romashka_news", Reply(429, headers={"Retry-After": "86400"}))
    with pytest.raises(RateLimited):
        await fetch_all(_tg(server, client, retry), "romashka_news")


async def test_engagement_reads_views(server, client, retry) -> None:
    server.route("/s/romashka_news", "telegram/channel.html", before="102")
    server.route("/s/romashka_news", "telegram/channel_before_99.html", before="99")
    empty = '<html><body><div class="tgme_channel_info"></div></body></html>'
    server.route("/s/romashka_news", Reply(body=empty, content_type="text/html"), before="6")
    got = await _tg(server, client, retry).engagement(
        ["romashka_news/101", "romashka_news/98", "romashka_news/5"]
    )
    assert got["romashka_news/101"]["views"] == 905
    assert got["romashka_news/98"]["views"] == 2500
    assert "romashka_news/5" not in got


async def test_channel_without_posts_is_an_empty_page(server, client, retry) -> None:
    empty = (
        '<html><body><div class="tgme_channel_info"><div class="tgme_channel_info_counter">'
        '<span class="counter_value">0</span> <span class="counter_type">subscribers</span></div></div>'
        "</body></html>"
    )
    server.route("/s/romashka_news", Reply(body=empty, content_type="text/html"))
    [page] = await fetch_all(_tg(server, client, retry), "romashka_news")
    assert page.mentions == [] and page.done


async def test_paid_star_reactions_are_not_likes_and_service_messages_not_mentions(
    server, client, retry
) -> None:
    """Paid Stars (``tgme_reaction_paid``) are money, not likes; "name changed" is not a post."""
    server.route("/s/romashka_news", "telegram/channel_stars.html")
    [page] = await fetch_all(_tg(server, client, retry), "romashka_news")
    [post] = page.mentions
    assert post.external_id == "romashka_news/111"
    assert post.likes == 42 and post.raw["paid_stars"] == 1500
    assert post.text == "Ромашка дарит звёзды!\nСпасибо за поддержку ⭐"
