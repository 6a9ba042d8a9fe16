"""Small text and time helpers shared by the parsers: HTML to plain text, timestamps to aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bs4 import BeautifulSoup

from collectors.errors import ParseError

__all__ = ["get_path", "html_to_text", "opt_int", "parse_count", "parse_iso", "unix_to_utc"]


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment; ``<br>`` and block ends become newlines."""
    if "<" not in html and "&" not in html:
        return html.strip()
    soup = BeautifulSoup(html, "lxml")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "li"]):
        block.append("\n")
    text = soup.get_text()
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def unix_to_utc(source: str, field: str, value: Any) -> datetime:
    """A unix timestamp (seconds) as aware UTC; anything else is a :class:`ParseError` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(source, field, f"expected a unix timestamp, got {type(value).__name__}")
    return datetime.fromtimestamp(value, UTC)


def parse_iso(source: str, field: str, value: Any) -> datetime:
    """An ISO-8601 timestamp with a zone (``Z`` allowed) as aware UTC."""
    if not isinstance(value, str):
        raise ParseError(source, field, f"expected an ISO timestamp, got {type(value).__name__}")
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(source, field, f"not an ISO timestamp: {value[:40]!r}") from None
    if when.tzinfo is None:
        # Platforms documented as UTC sometimes drop the zone; UTC is the documented meaning there.
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


_SUFFIX = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_count(text: str | None) -> int | None:
    """Abbreviated counters as shown on web pages: ``"3.46M"`` -> 3460000, ``"12,5K"``, ``"1 024"``."""
    if text is None:
        return None
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".").upper()
    if not cleaned:
        return None
    mult = 1
    if cleaned[-1] in _SUFFIX:
        mult = _SUFFIX[cleaned[-1]]
        cleaned = cleaned[:-1]
    try:
        return round(float(cleaned) * mult)
    except ValueError:
        return None


def get_path(source: str, data: Any, path: str, kind: type | tuple[type, ...] | None = None) -> Any:
    """``data`` followed along dotted ``path``; a missing key or wrong type is a :class:`ParseError`."""
    cur = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise ParseError(source, path, "missing")
        cur = cur[part]
    if kind is not None and (not isinstance(cur, kind) or (kind is int and isinstance(cur, bool))):
        raise ParseError(source, path, f"expected {kind}, got {type(cur).__name__}")
    return cur


def opt_int(value: Any) -> int | None:
    """An int counter or ``None`` (absent, null, or not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, dict) and "count" in value:
        return opt_int(value["count"])
    return None
