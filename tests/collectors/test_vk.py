from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from collectors.errors import AuthError, ParseError, RateLimited
from collectors.vk import VKCollector, VKSettings
from tests.collectors.server import FixtureServer, Reply, fetch_all

TOKEN = "vk1.a.test-token-0123456789"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VK_TEST_TOKEN", TOKEN)


def _vk(server: FixtureServer, client, retry, **kw) -> VKCollector:
    settings = VKSettings(
        base_url=server.url, token_env="VK_TEST_TOKEN", initial_lookback_h=1e6, requests_per_s=50, **kw
    )
    return VKCollector(settings, client, retry=retry)


async def test_search_pages_to_the_end(server, client, retry) -> None:
    server.route("/method/newsfeed.search", "vk/search_p1.json")
    server.route("/method/newsfeed.search", "vk/search_p2.json", start_from="page2token")
    c = _vk(server, client, retry)
    assert c.queries(["Ромашка", "Ромашка", "Romashka"]) == ["Ромашка", "Romashka"]
    pages = await fetch_all(c, "Ромашка")
    assert [len(p.mentions) for p in pages] == [2, 1]
    assert [p.done for p in pages] == [False, True]
    first = pages[0].mentions[0]
    assert first.external_id == "-1001_501"
    assert first.url == "https://vk.com/wall-1001_501"
    assert first.author == "Клуб любителей ромашек" and first.author_reach == 54000
    assert (first.likes, first.reposts, first.comments, first.views) == (12, 3, 4, 900)
    assert first.published_at == datetime(2024, 9, 3, 8, 0, tzinfo=UTC)
    assert first.text.endswith("😍")
    repost = pages[0].mentions[1]
    assert repost.author == "Пётр Пробов" and repost.author_reach == 150
    assert "Ромашка меняет тарифы" in repost.text
    # the token travels in the form body, never in the URL
    req = server.hits("/method/newsfeed.search")[0]
    assert req.method == "POST" and req.params["access_token"] == TOKEN and req.params["v"] == "5.199"
    assert req.params["q"] == "Ромашка"
    # the finished sweep leaves a high-water mark at the newest post
    assert json.loads(pages[-1].cursor) == {
        "high_water": 1725350400.0,
        "next": None,
        "top": None,
        "floor": None,
        "extra": {},
    }


async def test_resume_from_mid_sweep_cursor(server, client, retry) -> None:
    server.route("/method/newsfeed.search", "vk/search_p1.json")
    server.route("/method/newsfeed.search", "vk/search_p2.json", start_from="page2token")
    c = _vk(server, client, retry)
    first = (await fetch_all(c, "Ромашка"))[0]
    resumed = await fetch_all(c, "Ромашка", first.cursor)
    assert [m.external_id for p in resumed for m in p.mentions] == ["3003_15"]
    assert server.hits("/method/newsfeed.search")[-1].params["start_from"] == "page2token"


async def test_second_poll_stops_at_seen_ground(server, client, retry) -> None:
    server.route("/method/newsfeed.search", "vk/search_p1.json")
    server.route("/method/newsfeed.search", "vk/search_p2.json", start_from="page2token")
    c = _vk(server, client, retry)
    done = (await fetch_all(c, "Ромашка"))[-1]
    again = await fetch_all(c, "Ромашка", done.cursor)
    assert len(again) == 1 and again[0].done
    assert [m.external_id for m in again[0].mentions] == ["-1001_501"]  # the boundary second only
    # VK indexes search late: a new sweep re-reads overlap_s (600 s) below the high-water mark
    assert server.hits("/method/newsfeed.search")[-1].params["start_time"] == str(1725350400 - 600)


async def test_wall_with_pinned_post_and_comments(server, client, retry) -> None:
    server.route("/method/wall.get", "vk/wall_get.json")
    server.route("/method/wall.getComments", "vk/comments.json")
    c = _vk(server, client, retry, communities=["romashka_club"], queries=["x"])
    assert c.queries([]) == ["x", "wall:romashka_club"]
    pages = await fetch_all(c, "wall:romashka_club", since=datetime(2024, 9, 1, tzinfo=UTC))
    ids = [m.external_id for p in pages for m in p.mentions]
    assert ids == ["-1001_601", "-1001_601?reply=7001", "-1001_601?reply=7002", "-1001_600"]
    comment = pages[0].mentions[1]
    assert comment.parent_external_id == "-1001_601" and comment.author == "Олег Примеров"
    assert comment.url == "https://vk.com/wall-1001_601?reply=7001"
    assert comment.author_id == "4004"
    # The community's answer in the comment's thread answers that comment, not the post.
    answer = pages[0].mentions[2]
    assert answer.parent_external_id == "-1001_601?reply=7001" and answer.author_id == "-1001"
    assert pages[0].mentions[0].author_id is not None
    assert server.hits("/method/wall.get")[0].params["domain"] == "romashka_club"
    assert server.hits("/method/wall.getComments")[0].params["post_id"] == "601"


async def test_flood_error_is_retried(server, client, retry, sleeps) -> None:
    server.route("/method/newsfeed.search", "vk/error_flood.json", "vk/search_p2.json")
    pages = await fetch_all(_vk(server, client, retry), "Ромашка")
    assert len(pages[0].mentions) == 1 and len(sleeps) == 1


async def test_flood_forever_raises_rate_limited(server, client, retry) -> None:
    server.route("/method/newsfeed.search", "vk/error_flood.json")
    with pytest.raises(RateLimited, match="VK error 6"):
        await fetch_all(_vk(server, client, retry), "Ромашка")
    assert len(server.hits("/method/newsfeed.search")) == 4


async def test_auth_error_not_retried_and_token_not_in_message(server, client, retry, sleeps) -> None:
    server.route("/method/newsfeed.search", "vk/error_auth.json")
    with pytest.raises(AuthError) as info:
        await fetch_all(_vk(server, client, retry), "Ромашка")
    assert sleeps == [] and TOKEN not in str(info.value)


async def test_missing_token_is_auth_error(server, client, retry, monkeypatch) -> None:
    monkeypatch.delenv("VK_TEST_TOKEN")
    with pytest.raises(AuthError, match="VK_TEST_TOKEN"):
        await fetch_all(_vk(server, client, retry), "Ромашка")
    assert server.requests == []


async def test_shape_change_names_the_field(server, client, retry) -> None:
    server.route("/method/newsfeed.search", "vk/shape_changed.json")
    with pytest.raises(ParseError) as info:
        await fetch_all(_vk(server, client, retry), "Ромашка")
    assert info.value.field == "items" and info.value.source == "vk"


async def test_empty_page(server, client, retry) -> None:
    server.route("/method/newsfeed.search", Reply(body={"response": {"items": [], "count": 0}}))
    pages = await fetch_all(_vk(server, client, retry), "Ромашка")
    assert len(pages) == 1 and pages[0].mentions == [] and pages[0].done


async def test_engagement_by_id(server, client, retry) -> None:
    server.route("/method/wall.getById", "vk/get_by_id.json")
    got = await _vk(server, client, retry).engagement(["-1001_501", "-1001_601?reply=7001"])
    assert got == {"-1001_501": {"likes": 40, "reposts": 5, "comments": 9, "views": 5000}}
    assert server.hits("/method/wall.getById")[0].params["posts"] == "-1001_501"


async def test_one_megabyte_post_survives_the_store(server, client, retry, tmp_path) -> None:
    from storage.store import Store

    big = "Ромашка 🌼\u200b\u202e " * 60_000
    item = {"id": 1, "owner_id": 5, "from_id": 5, "date": 1725350400, "text": big}
    server.route("/method/newsfeed.search", Reply(body={"response": {"items": [item]}}))
    [page] = await fetch_all(_vk(server, client, retry), "Ромашка")
    assert len(page.mentions[0].text.encode()) > 1_000_000
    store = Store.open(f"sqlite:///{tmp_path / 'big.db'}")
    try:
        assert len(store.save_page("vk", "Ромашка", page.mentions, page.cursor)) == 1
        assert store.save_page("vk", "Ромашка", page.mentions, page.cursor) == []
    finally:
        store.close()


async def test_texts_are_cleaned_of_entities_and_markup(server, client, retry) -> None:
    """VK sends HTML entities (``&#10071;``) and a literal ``<br>`` in plain-text fields."""
    server.route("/method/wall.get", "vk/wall_markup.json")
    server.route("/method/wall.getComments", "vk/comments_deleted.json")
    [page] = await fetch_all(_vk(server, client, retry, communities=["romashka_club"]), "wall:romashka_club")
    ms = {m.external_id: m for m in page.mentions}
    post = ms["-1001_610"]
    assert post.text == 'Ромашка❗ Новый тариф\nдля "своих" & друзей\n\nПишите Олегу или в наш клуб'
    assert ms["-1001_610?reply=7101"].text == "Ромашка, верните старый тариф!\nОчень жаль"


async def test_deleted_and_empty_comments_are_not_mentions(server, client, retry) -> None:
    """A deleted comment (``"deleted": true``, author 0, no text) is not a mention; its replies still are."""
    server.route("/method/wall.get", "vk/wall_markup.json")
    server.route("/method/wall.getComments", "vk/comments_deleted.json")
    [page] = await fetch_all(_vk(server, client, retry, communities=["romashka_club"]), "wall:romashka_club")
    ids = sorted(m.external_id for m in page.mentions)
    assert ids == ["-1001_610", "-1001_610?reply=7101", "-1001_610?reply=7103"]
    assert all(m.author not in (None, "", "0") for m in page.mentions)
    reply = next(m for m in page.mentions if m.external_id.endswith("7103"))
    assert reply.author == "Клуб любителей ромашек"
