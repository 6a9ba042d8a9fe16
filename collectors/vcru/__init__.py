"""vc.ru: search of articles and posts through its unstable, undocumented API.

The transport lives here; every assumption about response shapes lives in :mod:`collectors.vcru.parsing`
and fails loudly when vc.ru changes. For a steadier (if thinner) feed, point the ``rss`` source at
``https://vc.ru/rss`` with ``channel = "vc.ru"`` as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from collectors.base import Counters, HttpCollector
from collectors.cursor import FetchPage
from collectors.settings import SourceSettings
from collectors.text import get_path
from collectors.vcru.parsing import parse_entry, parse_search
from collectors.vcru.settings import VcRuSettings
from core.mention import Mention

__all__ = ["VcRuCollector", "VcRuSettings"]


class VcRuCollector(HttpCollector[VcRuSettings]):
    """Entries matching the brand queries, newest first, paged by ``cursor``."""

    name: ClassVar[str] = "vcru"
    settings_model: ClassVar[type[SourceSettings]] = VcRuSettings

    def page_reader(self, query: str) -> FetchPage:
        """Pages of search results, newest first."""

        async def fetch_page(token: str | None, floor: float) -> tuple[list[Mention], str | None]:
            params = {"q": query, "sort": "date"} | ({"cursor": token} if token else {})
            body = await self.http.get_json(self.base + self.settings.search_path, params=params)
            return parse_search(body, self.channel)

        return fetch_page

    async def engagement(self, external_ids: Sequence[str]) -> dict[str, Counters]:
        """Counters of entries, one ``content`` call each."""

        async def read(ext: str) -> Mention:
            body = await self.http.get_json(self.base + self.settings.content_path, params={"id": ext})
            return parse_entry(get_path("vcru", body, "result", dict), self.channel)

        return await self.engagement_each(external_ids, read)
