from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.errors import ParseError
from collectors.reddit import RedditCollector, RedditSettings
from tests.collectors.server import Reply, fetch_all


def _reddit(server, client, retry, **kw) -> RedditCollector:
    settings = RedditSettings(base_url=server.url, initial_lookback_h=1e6, requests_per_s=50, **kw)
    return RedditCollector(settings, client, retry=retry)


async def test_search_pages_and_maps_posts(server, client, retry, monkeypatch) -> None:
    monkeypatch.setenv("REDDIT_TEST_TOKEN", "reddit-bearer-xyz")
    server.route("/r/testbanks/search.json", "reddit/search_p1.json")
    server.route("/r/testbanks/search.json", "reddit/search_p2.json", after="t3_bbb2")
    c = _reddit(server, client, retry, subreddits=["testbanks"], token_env="REDDIT_TEST_TOKEN")
    pages = await fetch_all(c, "Romashka")
    ms = [m for p in pages for m in p.mentions]
    assert [m.external_id for m in ms] == ["t3_bbb3", "t3_bbb2", "t3_bbb1"]
    first = ms[0]
    assert first.text == "Romashka bank app is down again?\n\nAnyone else? 😤"
    assert first.url == "https://www.reddit.com/r/testbanks/comments/bbb3/romashka_bank_app_is_down_again/"
    assert first.place == "r/testbanks" and first.likes == 15 and first.comments == 4
    assert first.published_at == datetime(2024, 9, 3, 8, 0, tzinfo=UTC)
    req = server.hits("/r/testbanks/search.json")[0]
    assert req.params["sort"] == "new" and req.params["restrict_sr"] == "on"
    assert req.headers["authorization"] == "Bearer reddit-bearer-xyz"
    assert req.headers["user-agent"].startswith("loyalty-monitor/")


async def test_since_stops_the_sweep(server, client, retry) -> None:
    server.route("/search.json", "reddit/search_p1.json")
    server.route("/search.json", "reddit/search_p2.json", after="t3_bbb2")
    pages = await fetch_all(
        _reddit(server, client, retry), "Romashka", since=datetime(2024, 9, 3, 7, 30, tzinfo=UTC)
    )
    assert [m.external_id for p in pages for m in p.mentions] == ["t3_bbb3"]
    assert len(server.hits("/search.json")) == 1  # an older post on page 1 means page 2 is not needed


async def test_not_a_listing(server, client, retry) -> None:
    server.route("/search.json", Reply(body={"kind": "t3", "data": {}}))
    with pytest.raises(ParseError, match="kind"):
        await fetch_all(_reddit(server, client, retry), "x")


def test_entities_decoded_and_removed_comments_dropped() -> None:
    from collectors.reddit import RedditCollector, RedditSettings, parse_listing

    listing = {
        "kind": "Listing",
        "data": {
            "after": None,
            "children": [
                {
                    "kind": "t3",
                    "data": {
                        "name": "t3_x1",
                        "title": "Ромашка &amp; Co &gt; конкуренты?",
                        "selftext": "[removed]",
                        "created_utc": 1725350400,
                    },
                },
                {"kind": "t1", "data": {"name": "t1_x2", "body": "[deleted]", "created_utc": 1725350400}},
            ],
        },
    }
    mentions, _ = parse_listing(listing)
    assert [m.text for m in mentions] == ["Ромашка & Co > конкуренты?", ""]
    collector = RedditCollector(RedditSettings(base_url="http://127.0.0.1"), None)  # type: ignore[arg-type]
    assert [m.external_id for m in collector.admit(mentions)] == ["t3_x1"]
