"""Run one ``collect_once`` against the test server; used by the SIGKILL test as a separate process."""

from __future__ import annotations

import asyncio
import sys

from collectors.http import RetryPolicy
from collectors.runner import collect_once
from collectors.vk import VKSettings
from storage.store import Store


async def main(base_url: str, db_url: str) -> None:
    store = Store.open(db_url)

    async def no_sleep(_: float) -> None:
        return None

    results = await collect_once(
        {
            "vk": VKSettings(
                base_url=base_url, token_env="VK_KILL_TOKEN", initial_lookback_h=1e6, requests_per_s=50
            )
        },
        store,
        ["Ромашка"],
        None,
        retry=RetryPolicy(max_retries=1, sleep=no_sleep),
    )
    store.close()
    if not results["vk"].ok:
        raise SystemExit(f"poll failed: {results['vk'].errors}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
