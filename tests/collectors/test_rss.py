from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from collectors.errors import NotFoundError, ParseError
from collectors.rss import RSSCollector, RSSSettings
from tests.collectors.server import FixtureServer, Reply, fetch_all


def _collector(server, client, retry, **kw) -> RSSCollector:
    settings = RSSSettings(
        base_url=server.url,
        feeds=[{"url": "/feed.rss", "channel": "news"}, {"url": "/blog.atom", "channel": "dzen"}],
        initial_lookback_h=1e6,
        requests_per_s=50,
        **kw,
    )
    return RSSCollector(settings, client, retry=retry)


async def test_rss_entries_become_mentions_and_conditional_get(server: FixtureServer, client, retry) -> None:
    server.route(
        "/feed.rss",
        Reply(
            fixture="rss/news.rss", headers={"ETag": '"v1"', "Last-Modified": "Tue, 03 Sep 2024 07:00:00 GMT"}
        ),
    )
    c = _collector(server, client, retry)
    assert c.queries([]) == [server.url + "/feed.rss", server.url + "/blog.atom"]
    [page] = await fetch_all(c, server.url + "/feed.rss")
    assert page.done
    ms = {m.external_id: m for m in page.mentions}
    assert len(ms) == 3
    first = (
        ms["https://news.example.org/a/3"]
        if "https://news.example.org/a/3" in ms
        else ms[f"{server.url[7:]}:nx-3"]
    )
    assert first.text.startswith("Банк «Ромашка» открыл отделение 🌼")
    assert "довольны" in first.text and "<b>" not in first.text
    assert first.published_at == datetime(2024, 9, 3, 6, 30, tzinfo=UTC)
    assert first.channel == "news" and first.place == "Вестник Примерска"
    assert first.url == "https://news.example.org/a/3"
    cursor = json.loads(page.cursor)
    assert cursor["extra"] == {"etag": '"v1"', "modified": "Tue, 03 Sep 2024 07:00:00 GMT"}

    server.route("/feed.rss", Reply(304), **{})
    [again] = await fetch_all(c, server.url + "/feed.rss", page.cursor)
    assert again.mentions == [] and again.notes == ["not modified"]
    last = server.hits("/feed.rss")[-1]
    assert last.headers["if-none-match"] == '"v1"'
    assert last.headers["if-modified-since"] == "Tue, 03 Sep 2024 07:00:00 GMT"


async def test_rss_stops_at_seen_ground(server, client, retry) -> None:
    server.route("/feed.rss", "rss/news.rss")
    c = _collector(server, client, retry)
    [page] = await fetch_all(c, server.url + "/feed.rss")
    [again] = await fetch_all(c, server.url + "/feed.rss", page.cursor)
    # Only the newest entry shares the high-water second; older ones are not handed over again.
    assert [m.published_at for m in again.mentions] == [datetime(2024, 9, 3, 6, 30, tzinfo=UTC)]
    [back] = await fetch_all(c, server.url + "/feed.rss", page.cursor, since=datetime(2024, 9, 1, tzinfo=UTC))
    assert len(back.mentions) == 3


async def test_atom_with_rtl_zero_width_and_emoji(server, client, retry) -> None:
    server.route("/blog.atom", "rss/blog.atom")
    c = _collector(server, client, retry)
    [page] = await fetch_all(c, server.url + "/blog.atom")
    [m] = page.mentions
    assert m.channel == "dzen" and m.author == "Мария Тест"
    # The cleaning step drops the zero width space and keeps the right-to-left marks and the emoji.
    assert "\u200f" in m.text and "עברית" in m.text and "\u200b" not in m.text and "👍" in m.text
    assert m.published_at == datetime(2024, 9, 4, 7, 0, tzinfo=UTC)


async def test_html_instead_of_feed_is_parse_error(server, client, retry) -> None:
    server.route(
        "/feed.rss", Reply(body="<html><body><p>Maintenance</p></body></html>", content_type="text/html")
    )
    with pytest.raises(ParseError, match="feed"):
        await fetch_all(_collector(server, client, retry), server.url + "/feed.rss")


async def test_gone_feed(server, client, retry) -> None:
    server.route("/feed.rss", Reply(410, body="gone"))
    with pytest.raises(NotFoundError):
        await fetch_all(_collector(server, client, retry), server.url + "/feed.rss")


async def test_one_megabyte_entry(server, client, retry) -> None:
    big = "Ромашка " * (1024 * 1024 // 15)
    body = f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
    <item><title>big</title><guid>https://x.example/1</guid><pubDate>Tue, 03 Sep 2024 09:30:00 GMT</pubDate>
    <description>{big}</description></item></channel></rss>"""
    server.route("/feed.rss", Reply(body=body.encode(), content_type="application/rss+xml"))
    [page] = await fetch_all(_collector(server, client, retry), server.url + "/feed.rss")
    assert len(page.mentions[0].text) > 1_000_000 // 2
