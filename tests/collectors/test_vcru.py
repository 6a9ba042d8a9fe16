from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.errors import ParseError
from collectors.vcru import VcRuCollector, VcRuSettings
from tests.collectors.server import fetch_all


def _vc(server, client, retry) -> VcRuCollector:
    settings = VcRuSettings(base_url=server.url, initial_lookback_h=1e6, requests_per_s=50)
    return VcRuCollector(settings, client, retry=retry)


async def test_search_pages(server, client, retry) -> None:
    server.route("/v2.10/search", "vcru/search_p1.json")
    server.route("/v2.10/search", "vcru/search_p2.json", cursor="vc-page-2")
    pages = await fetch_all(_vc(server, client, retry), "Ромашка")
    ms = [m for p in pages for m in p.mentions]
    assert [m.external_id for m in ms] == ["900003", "900002", "900001"]
    first = ms[0]
    assert first.channel == "vc.ru" and first.place == "Финансы" and first.author_reach == 2500
    assert first.text == "Как «Ромашка» строит маркетплейс\n\nБанк Ромашка запускает…"
    assert (first.likes, first.reposts, first.comments, first.views) == (40, 3, 12, 15000)
    assert first.published_at == datetime(2024, 9, 3, 8, tzinfo=UTC)
    assert ms[1].text == "Ромашка заблокировала карту без причины"


async def test_shape_change_fails_loudly(server, client, retry) -> None:
    server.route("/v2.10/search", "vcru/changed.json")
    with pytest.raises(ParseError) as info:
        await fetch_all(_vc(server, client, retry), "Ромашка")
    assert info.value.field == "result.items[0].data.date" and info.value.source == "vcru"


async def test_engagement(server, client, retry) -> None:
    server.route("/v2.10/content", "vcru/content.json", id="900003")
    got = await _vc(server, client, retry).engagement(["900003"])
    assert got == {"900003": {"likes": 55, "reposts": 4, "comments": 20, "views": 30000}}


def test_the_inferred_parser_stays_isolated() -> None:
    """vc.ru's shape is inferred (no recording exists): only the vc.ru package may read it."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for package in ("collectors", "loyalty_monitor", "storage", "alerts", "dashboard", "loyalty_index")
        for path in (root / package).rglob("*.py")
        if "vcru.parsing" in path.read_text(encoding="utf-8") and path.parent.name != "vcru"
    ]
    assert offenders == []
