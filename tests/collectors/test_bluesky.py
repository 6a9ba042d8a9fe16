from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.bluesky import BlueskyCollector, BlueskySettings, expand_links
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


PROFILES = "/xrpc/app.bsky.actor.getProfiles"


async def test_reach_from_a_batched_profile_lookup_and_full_links_from_facets(server, client, retry) -> None:
    """Search results carry no follower counts, and the text holds the link shortened ("tar...")."""
    server.route(LOGIN, "bluesky/session.json")
    server.route(SEARCH, "bluesky/search_facets.json")
    server.route(PROFILES, "bluesky/profiles.json")
    [page] = await fetch_all(_bsky(server, client, retry), "Ромашка")
    first, second, third = page.mentions
    assert first.author_reach == 1234 and third.author_reach == 1234
    assert second.author_reach == 0  # known to be zero, not unknown
    assert first.text == (
        "Ромашка снова меняет тарифы 😡 подробности: "
        "https://romashka.example/news/2024/09/tarify-osen?utm_source=bsky #ромашка @olga.test"
    )
    assert second.text == "Ромашка, ответьте в поддержке &amp; побыстрее"  # plain text: typed as is
    [lookup] = server.hits(PROFILES)  # one call for both authors, each named once
    assert parse_qsl(lookup.query) == [("actors", "did:plc:ccc333"), ("actors", "did:plc:ddd444")]
    assert lookup.headers["authorization"] == "Bearer eyJ.test-access.jwt"


async def test_profile_lookup_asks_for_25_actors_at_most(server, client, retry) -> None:
    posts = [
        {
            "uri": f"at://did:plc:u{n:03d}/app.bsky.feed.post/3k{n:03d}",
            "cid": f"c{n}",
            "author": {"did": f"did:plc:u{n:03d}", "handle": f"u{n}.test"},
            "record": {"text": f"Ромашка {n}", "createdAt": "2024-09-05T08:00:00Z"},
        }
        for n in range(30)
    ]
    server.route(LOGIN, "bluesky/session.json")
    server.route(SEARCH, Reply(body={"posts": posts}))
    server.route(PROFILES, Reply(body={"profiles": [{"did": "did:plc:u007", "followersCount": 7}]}))
    [page] = await fetch_all(_bsky(server, client, retry), "Ромашка")
    sizes = [len(parse_qsl(r.query)) for r in server.hits(PROFILES)]
    assert sizes == [25, 5]
    reach = {m.author: m.author_reach for m in page.mentions}
    assert reach["u7.test"] == 7 and reach["u8.test"] is None


async def test_failed_profile_lookup_keeps_the_posts(server, client, retry) -> None:
    server.route(LOGIN, "bluesky/session.json")
    server.route(SEARCH, "bluesky/search_facets.json")
    server.route(PROFILES, Reply(400, body={"error": "InvalidRequest", "message": "bad actor"}))
    [page] = await fetch_all(_bsky(server, client, retry), "Ромашка")
    assert len(page.mentions) == 3 and all(m.author_reach is None for m in page.mentions)


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=40),
    st.lists(
        st.fixed_dictionaries(
            {
                "index": st.fixed_dictionaries(
                    {"byteStart": st.integers(-5, 200), "byteEnd": st.integers(-5, 200)}
                ),
                "features": st.lists(
                    st.fixed_dictionaries(
                        {
                            "$type": st.sampled_from(
                                ["app.bsky.richtext.facet#link", "app.bsky.richtext.facet#tag"]
                            ),
                            "uri": st.sampled_from(["https://a.example/x", "https://б.example/ж"]),
                        }
                    ),
                    max_size=2,
                ),
            }
        ),
        max_size=4,
    ),
)
def test_any_facets_leave_a_valid_text(text: str, facets: list[dict]) -> None:
    """Facets come from other clients: bad ranges (out of bounds, overlapping, mid-character) are skipped."""
    out = expand_links(text, facets)
    assert isinstance(out, str)
    links = [f for f in facets if any(x["$type"].endswith("#link") for x in f["features"])]
    if not links:
        assert out == text
