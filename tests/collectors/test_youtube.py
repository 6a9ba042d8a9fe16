from __future__ import annotations

import pytest

from collectors.errors import RateLimited
from collectors.youtube import YouTubeCollector, YouTubeSettings
from tests.collectors.server import Reply, fetch_all

KEY = "AIzaTestKey-000111222"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YT_TEST_KEY", KEY)


def _yt(server, client, retry) -> YouTubeCollector:
    settings = YouTubeSettings(
        base_url=server.url, token_env="YT_TEST_KEY", initial_lookback_h=1e6, requests_per_s=50
    )
    return YouTubeCollector(settings, client, retry=retry)


async def test_videos_with_counters_and_comments(server, client, retry) -> None:
    server.route("/search", "youtube/search_p1.json")
    server.route("/search", "youtube/search_p2.json", pageToken="PAGE2")
    server.route("/videos", "youtube/videos.json")
    server.route("/commentThreads", "youtube/comments_vid1.json", videoId="vidAAAA0001")
    server.route(
        "/commentThreads", Reply(403, fixture="youtube/comments_disabled.json"), videoId="vidAAAA0002"
    )
    pages = await fetch_all(_yt(server, client, retry), "Ромашка")
    ids = [m.external_id for p in pages for m in p.mentions]
    assert ids == [
        "vidAAAA0001",
        "comment:UgzTest001",
        "comment:UgzTest001.reply1",
        "vidAAAA0002",
        "vidAAAA0003",
    ]
    video = pages[0].mentions[0]
    assert video.text == "Обзор карты Ромашка\n\nПлюсы и минусы 💳"
    assert (video.views, video.likes, video.comments) == (1500, 40, 2)
    assert video.url == "https://www.youtube.com/watch?v=vidAAAA0001"
    reply = pages[0].mentions[2]
    # A reply answers its thread's top comment; authors are channel ids, as brands' accounts are written.
    assert reply.parent_external_id == "comment:UgzTest001" and reply.text == "Не согласен"
    assert reply.author_id == "UCother000000000000000001"
    assert pages[0].mentions[1].parent_external_id == "vidAAAA0001"
    assert video.author_id == "UCtest0001"
    assert pages[0].mentions[3].likes is None  # hidden like count stays unknown, not zero
    for req in server.requests:
        assert req.headers["x-goog-api-key"] == KEY and KEY not in req.path and "key" not in req.params
    assert server.hits("/search")[0].params["order"] == "date"


async def test_quota_exceeded_ends_the_poll_without_retrying(server, client, retry, sleeps) -> None:
    server.route("/search", Reply(403, fixture="youtube/quota.json"))
    with pytest.raises(RateLimited, match="quota"):
        await fetch_all(_yt(server, client, retry), "Ромашка")
    assert sleeps == [] and len(server.hits("/search")) == 1


async def test_full_description_from_videos_list_and_entities_decoded(server, client, retry) -> None:
    """``search.list`` cuts descriptions with "..." and escapes titles; ``videos.list`` has the full text."""
    server.route("/search", "youtube/search_cut.json")
    server.route("/videos", "youtube/videos_snippet.json")
    [page] = await fetch_all(_yt(server, client, retry), "Ромашка")
    full, gone = page.mentions
    assert full.text == (
        'Ромашка & Ко: "кешбэк" за 5 минут\n\n'
        "Разбираем новую карту Ромашки: проценты, комиссии и где подвох.\n"
        "Подписывайтесь, ставьте лайки и пишите в комментариях, чем вы платите.\n\n"
        "Таймкоды:\n0:00 вступление\n3:10 итог: Ромашка проигрывает конкурентам"
    )
    assert full.author == "Финансы & Жизнь" and (full.views, full.likes) == (5300, 210)
    # A video that vanished between the two calls keeps the search snippet, decoded and marked as cut.
    assert gone.text == "Почему я ушёл из Ромашки 'навсегда'\n\nКороткая история о том, как ..."
    assert gone.raw["truncated"] is True and "truncated" not in full.raw
    # One videos.list call for the whole page (1 quota unit), asking for the snippet too.
    [videos] = server.hits("/videos")
    assert videos.params["id"] == "vidBBBB0001,vidBBBB0002"
    assert set(videos.params["part"].split(",")) == {"snippet", "statistics"}
