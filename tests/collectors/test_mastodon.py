from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.errors import ParseError
from collectors.mastodon import MastodonCollector, MastodonSettings
from tests.collectors.server import Reply, fetch_all


def _masto(server, client, retry, **kw) -> MastodonCollector:
    settings = MastodonSettings(base_url=server.url, initial_lookback_h=1e6, requests_per_s=50, **kw)
    return MastodonCollector(settings, client, retry=retry)


async def test_tag_timeline_follows_link_header(server, client, retry) -> None:
    link = (
        f'<{server.url}/api/v1/timelines/tag/romashka?max_id=113000000000000200>; rel="next", '
        f'<{server.url}/api/v1/timelines/tag/romashka?min_id=113000000000000300>; rel="prev"'
    )
    server.route(
        "/api/v1/timelines/tag/romashka", Reply(fixture="mastodon/tag_p1.json", headers={"Link": link})
    )
    server.route("/api/v1/timelines/tag/romashka", "mastodon/tag_p2.json", max_id="113000000000000200")
    c = _masto(server, client, retry, tags=["#romashka"])
    assert c.queries(["Ромашка"]) == ["#romashka"]  # no token: no search
    pages = await fetch_all(c, "#romashka")
    ms = [m for p in pages for m in p.mentions]
    assert [m.external_id for m in ms] == ["113000000000000300", "113000000000000200", "113000000000000100"]
    assert ms[0].text == "Открыл вклад в #romashka 🌼"
    assert ms[0].author == "alice_test" and ms[0].author_reach == 321 and ms[0].likes == 5
    assert ms[1].text == "жалоба\n\nРомашка\nснова лагает"
    assert ms[1].published_at == datetime(2024, 9, 3, 7, tzinfo=UTC) and ms[1].place == "#romashka"
    assert pages[-1].done


async def test_search_with_token(server, client, retry, monkeypatch) -> None:
    monkeypatch.setenv("MASTO_TEST", "masto-token-abc")
    server.route("/api/v2/search", "mastodon/search.json")
    server.route("/api/v2/search", Reply(body={"statuses": []}), max_id="113000000000000250")
    c = _masto(server, client, retry, token_env="MASTO_TEST")
    assert c.queries(["Ромашка"]) == ["Ромашка"]
    pages = await fetch_all(c, "Ромашка")
    [m] = [m for p in pages for m in p.mentions]
    assert m.parent_external_id == "113000000000000200"
    assert server.hits("/api/v2/search")[0].headers["authorization"] == "Bearer masto-token-abc"


async def test_malformed_json(server, client, retry) -> None:
    server.route("/api/v1/timelines/tag/x", Reply(body='[{"id": "1",', content_type="application/json"))
    with pytest.raises(ParseError):
        await fetch_all(_masto(server, client, retry), "#x")


async def test_engagement(server, client, retry) -> None:
    import json

    from tests.collectors.server import FIXTURES

    status = json.loads((FIXTURES / "mastodon/tag_p1.json").read_text())[0]
    status["favourites_count"] = 50
    server.route("/api/v1/statuses/113000000000000300", Reply(body=status))
    got = await _masto(server, client, retry).engagement(["113000000000000300", "404"])
    assert got == {"113000000000000300": {"likes": 50, "reposts": 1, "comments": 0, "views": None}}
