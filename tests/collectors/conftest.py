from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from collectors.http import RetryPolicy, make_client
from collectors.settings import SourceSettings
from tests.collectors.server import FixtureServer


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with FixtureServer() as srv:
        yield srv


class Sleeps(list[float]):
    """Records back-off delays instead of sleeping."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(max_retries=3, base_s=0.5, max_s=4, max_retry_after_s=120, sleep=sleeps)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(SourceSettings(base_url="http://127.0.0.1")) as c:
        yield c
