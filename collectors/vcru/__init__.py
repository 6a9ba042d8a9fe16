"""vc.ru: search of articles and posts through its unstable, undocumented API.

The transport lives here; every assumption about response shapes lives in :mod:`collectors.vcru.parsing`
and fails loudly when vc.ru changes. For a steadier (if thinner) feed, point the ``rss`` source at
``https://vc.ru/rss`` with ``channel = "vc.ru"`` as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import ClassVar

from collectors.base import Counters, HttpCollector, Page
from collectors.cursor import sweep
from collectors.errors import NotFoundError
from collectors.settings import SourceSettings
from collectors.text import get_path
from collectors.vcru.parsing import parse_entry, parse_search
from collectors.vcru.settings import VcRuSettings
from loyalty_monitor.mention import Mention

__all__ = ["VcRuCollector", "VcRuSettings"]


class VcRuCollector(HttpCollector[VcRuSettings]):
    """Entries matching the brand queries, newest first, paged by ``cursor``."""

    name: ClassVar[str] = "vcru"
    settings_model: ClassVar[type[SourceSettings]] = VcRuSettings

    async def fetch(self, query: str, cursor: str | None, since: datetime | None) -> AsyncIterator[Page]:
        """Sweep search results down to the last entry seen."""

        async def fetch_page(token: str | None, floor: float) -> tuple[list[Mention], str | None]:
            params = {"q": query, "sort": "date"} | ({"cursor": token} if token else {})
            body = await self.http.get_json(self.base + self.settings.search_path, params=params)
            return parse_search(body, self.channel)

        async for page in sweep(
            cursor,
            since,
            fetch_page,
            max_pages=self.settings.max_pages,
            lookback_h=self.settings.initial_lookback_h,
            overlap_s=self.settings.overlap_s,
        ):
            yield page

    async def engagement(self, external_ids: Sequence[str]) -> dict[str, Counters]:
        """Counters of entries, one ``content`` call each."""
        out: dict[str, Counters] = {}
        for ext in external_ids:
            try:
                body = await self.http.get_json(self.base + self.settings.content_path, params={"id": ext})
            except NotFoundError:
                continue
            m = parse_entry(get_path("vcru", body, "result", dict), self.channel)
            out[ext] = {"likes": m.likes, "reposts": m.reposts, "comments": m.comments, "views": m.views}
        return out
