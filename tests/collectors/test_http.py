from __future__ import annotations

import asyncio

import httpx
import pytest

from collectors.errors import (
    AccessDenied,
    AuthError,
    NetworkError,
    NotFoundError,
    ParseError,
    RateLimited,
    RequestError,
    ServerError,
    error_for,
    parse_retry_after,
    register_secret,
    scrub,
)
from collectors.http import USER_AGENT, Http, RetryPolicy
from collectors.settings import SourceSettings
from tests.collectors.server import FixtureServer, Reply


@pytest.mark.parametrize(
    ("kwargs", "cls"),
    [
        ({"status": 429}, RateLimited),
        ({"status": 500}, ServerError),
        ({"status": 503}, ServerError),
        ({"status": 401}, AuthError),
        ({"status": 403}, AuthError),
        ({"status": 404}, NotFoundError),
        ({"status": 410}, NotFoundError),
        ({"status": 400}, RequestError),
        ({"api": "vk", "api_code": 5}, AuthError),
        ({"api": "vk", "api_code": 6}, RateLimited),
        ({"api": "vk", "api_code": 9}, RateLimited),
        ({"api": "vk", "api_code": 29}, RateLimited),
        ({"api": "vk", "api_code": 10}, ServerError),
        ({"api": "vk", "api_code": 15}, AccessDenied),
        ({"api": "vk", "api_code": 100}, RequestError),
        ({"api_code": "ExpiredToken"}, AuthError),
    ],
)
def test_error_for_maps_statuses_and_codes(kwargs: dict[str, object], cls: type) -> None:
    err = error_for("x", **kwargs)  # type: ignore[arg-type]
    assert type(err) is cls
    assert err.source == "x"


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0


def test_scrub_removes_tokens() -> None:
    register_secret("s3cr3t-value-xyz")
    text = (
        "GET https://api.vk.com/method/x?access_token=abc123&v=5 /bot123456:AAH-xyz_1/sendMessage "
        "Authorization: Bearer eyJhbGc.xyz s3cr3t-value-xyz key=AIzaSy"
    )
    out = scrub(text)
    for secret in ("abc123", "123456:AAH", "eyJhbGc", "s3cr3t-value-xyz", "AIzaSy"):
        assert secret not in out
    assert "access_token=***" in out


def _http(server: FixtureServer, client: httpx.AsyncClient, retry: RetryPolicy, **kw: object) -> Http:
    kw.setdefault("requests_per_s", 100)
    return Http("t", client, SourceSettings(base_url=server.url, **kw), retry=retry)  # type: ignore[arg-type]


async def test_429_honours_retry_after_then_succeeds(server, client, retry, sleeps) -> None:
    server.route("/x", Reply(429, body="slow down", headers={"Retry-After": "7"}), Reply(body={"ok": 1}))
    body = await _http(server, client, retry).get_json(server.url + "/x")
    assert body == {"ok": 1}
    assert sleeps == [7.0]
    assert server.hits("/x")[0].headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("loyalty-monitor/")


async def test_500s_back_off_exponentially_then_give_up(server, client, retry, sleeps) -> None:
    server.route("/x", Reply(500, body="boom"))
    with pytest.raises(ServerError, match="HTTP 500"):
        await _http(server, client, retry).get_json(server.url + "/x")
    assert len(server.hits("/x")) == 4  # first try + 3 retries
    assert len(sleeps) == 3
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1 and 1 <= sleeps[2] <= 2


async def test_retry_after_longer_than_allowed_is_raised(server, client, retry, sleeps) -> None:
    server.route("/x", Reply(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as info:
        await _http(server, client, retry).get_json(server.url + "/x")
    assert info.value.retry_after == 3600
    assert sleeps == []


async def test_auth_error_is_not_retried(server, client, retry, sleeps) -> None:
    server.route("/x", Reply(401, body="bad token"))
    with pytest.raises(AuthError):
        await _http(server, client, retry).get_json(server.url + "/x")
    assert len(server.hits("/x")) == 1 and sleeps == []


async def test_malformed_json_is_parse_error(server, client, retry) -> None:
    server.route("/x", Reply(body='{"items": [1, 2', content_type="application/json"))
    with pytest.raises(ParseError) as info:
        await _http(server, client, retry).get_json(server.url + "/x")
    assert info.value.field == "<body>"


async def test_connection_refused_is_network_error(client, retry, sleeps) -> None:
    http = Http("t", client, SourceSettings(base_url="http://127.0.0.1:9", requests_per_s=100), retry=retry)
    with pytest.raises(NetworkError):
        await http.get_json("http://127.0.0.1:9/x")
    assert len(sleeps) == 3


async def test_timeout_is_network_error(server, client, retry) -> None:
    server.route("/slow", Reply(body={"a": 1}, delay=1.0))
    http = _http(server, client, RetryPolicy(max_retries=0, sleep=retry.sleep), timeout_s=0.2)
    with pytest.raises(NetworkError, match="timeout"):
        await http.get_json(server.url + "/slow")


async def test_ratelimit_headers_pause_next_request(server, client, retry, sleeps) -> None:
    server.route("/x", Reply(body={}, headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "30"}))
    http = _http(server, client, retry)
    await http.get_json(server.url + "/x")
    await http.get_json(server.url + "/x")
    assert sleeps and 29 <= sleeps[0] <= 30


async def test_throttle_spaces_requests_per_source_and_token(server, client, retry) -> None:
    server.route("/x", Reply(body={}))
    settings = SourceSettings(base_url=server.url, requests_per_s=2, rate_period_s=0.5)
    a = Http("thr", client, settings, retry=retry, token="one")
    b = Http("thr", client, settings, retry=retry, token="one")
    other = Http("thr", client, settings, retry=retry, token="two")
    assert a.throttler is b.throttler and a.throttler is not other.throttler
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(h.get_json(server.url + "/x") for h in (a, b, a, b, a)))
    assert loop.time() - start >= 0.9  # 5 requests at 2 per 0.5 s need two full windows


async def test_httpx_request_log_is_scrubbed(server, retry, caplog) -> None:
    import logging

    from collectors.http import make_client

    server.route("/feed", Reply(body={}))
    caplog.set_level(logging.INFO, logger="httpx")
    async with make_client() as c:
        http = Http("t", c, SourceSettings(base_url=server.url, requests_per_s=100), retry=retry)
        await http.get_json(server.url + "/feed", params={"access_token": "leaky-token-123", "q": "x"})
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "/feed" in logged and "leaky-token-123" not in logged and "access_token=***" in logged
