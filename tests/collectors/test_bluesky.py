from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.bluesky import BlueskyCollector, BlueskySettings
from collectors.errors import AuthError
from tests.collectors.server import Reply, fetch_all

PASSWORD = "abcd-efgh-ijkl-mnop"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
LOGIN = "/xrpc/com.atproto.server.createSession"


@pytest.fixture(autouse=True)
def _creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BSKY_TEST_ID", "monitor.test")
    monkeypatch.setenv("BSKY_TEST_PW", PASSWORD)


def _bsky(server, client, retry) -> BlueskyCollector:
    settings = BlueskySettings(
        base_url=server.url,
        identifier_env="BSKY_TEST_ID",
        password_env="BSKY_TEST_PW",
        initial_lookback_h=1e6,
        requests_per_s=50,
    )
    return BlueskyCollector(settings, client, retry=retry)


async def test_login_then_search_all_pages(server, client, retry) -> None:
    server.route(LOGIN, "bluesky/session.json")
    server.route(SEARCH, "bluesky/search_p1.json")
    server.route(SEARCH, "bluesky/search_p2.json", cursor="c2")
    pages = await fetch_all(_bsky(server, client, retry), "Ромашка")
    ms = [m for p in pages for m in p.mentions]
    assert len(ms) == 3
    first = ms[0]
    assert first.external_id == "at://did:plc:aaa111/app.bsky.feed.post/3kabc111"
    assert first.url == "https://bsky.app/profile/olga.test/post/3kabc111"
    assert first.author == "Ольга Тест" and first.likes == 10 and first.reposts == 3 and first.comments == 1
    assert ms[1].parent_external_id == "at://did:plc:aaa111/app.bsky.feed.post/3kabc000"
    assert ms[2].published_at == datetime(2024, 9, 2, 4, tzinfo=UTC) and ms[2].author == "test.example.org"
    login = server.hits(LOGIN)
    assert len(login) == 1 and b"monitor.test" in login[0].body
    assert server.hits(SEARCH)[0].headers["authorization"] == "Bearer eyJ.test-access.jwt"
    assert server.hits(SEARCH)[0].params["sort"] == "latest"


async def test_expired_session_logs_in_again_once(server, client, retry) -> None:
    server.route(LOGIN, "bluesky/session.json")
    server.route(SEARCH, Reply(400, fixture="bluesky/expired.json"), "bluesky/search_p2.json")
    pages = await fetch_all(_bsky(server, client, retry), "Ромашка")
    assert len(pages[0].mentions) == 1 and len(server.hits(LOGIN)) == 2


async def test_rejected_login_is_auth_error_without_password(server, client, retry, sleeps) -> None:
    server.route(LOGIN, Reply(401, fixture="bluesky/bad_login.json"))
    with pytest.raises(AuthError) as info:
        await fetch_all(_bsky(server, client, retry), "Ромашка")
    assert PASSWORD not in str(info.value) and sleeps == []
    assert server.hits(SEARCH) == []


async def test_missing_credentials(server, client, retry, monkeypatch) -> None:
    monkeypatch.delenv("BSKY_TEST_PW")
    with pytest.raises(AuthError, match="BSKY_TEST_PW"):
        await fetch_all(_bsky(server, client, retry), "Ромашка")


async def test_engagement_get_posts(server, client, retry) -> None:
    server.route(LOGIN, "bluesky/session.json")
    server.route("/xrpc/app.bsky.feed.getPosts", "bluesky/search_p2.json")
    got = await _bsky(server, client, retry).engagement(["at://did:plc:ccc333/app.bsky.feed.post/3kabc333"])
    assert got["at://did:plc:ccc333/app.bsky.feed.post/3kabc333"]["likes"] == 3
