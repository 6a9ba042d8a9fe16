"""The vc.ru response shapes we depend on, checked field by field.

**Inferred, not recorded**: no recorded response of the API version this targets exists anywhere public,
so the shape below is an inference. Keep every read of vc.ru data in this module (a test checks that
nothing else imports it), and replace the inference with a recorded fixture as soon as one exists.

vc.ru's API is undocumented and versioned by path; fields move between versions. Everything we read is read
here and nowhere else, and every read is checked: a missing or retyped field raises :class:`ParseError`
naming the field path, so a shape change shows up as one clear failure in source health instead of
mentions with empty texts or wrong dates. The shape we accept::

    {"result": {"items": [{"type": "entry", "data": ENTRY}, ...], "cursor": "..." | null}}
    ENTRY = {"id": int, "date": unix int, "title": str, "url": str,
             "author": {"id": int, "name": str, "subscribers"?: int},
             "subsite"?: {"name": str},
             "blocks"?: [{"type": "text" | ..., "data": {"text": html}}],
             "counters"?: {"comments": int, "reposts": int, "views": int}, "likes"?: {"counter": int}}
"""

from __future__ import annotations

from typing import Any

from collectors.errors import ParseError
from collectors.text import get_path, html_to_text, opt_int, unix_to_utc
from core.mention import Mention

__all__ = ["SOURCE", "parse_entry", "parse_search"]

SOURCE = "vcru"


def parse_search(body: Any, channel: str = "vc.ru") -> tuple[list[Mention], str | None]:
    """Entries of a search/feed response and the cursor of the next page (``None`` at the end)."""
    result = get_path(SOURCE, body, "result", dict)
    items = get_path(SOURCE, result, "items", list)
    out: list[Mention] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ParseError(SOURCE, f"result.items[{n}]", "expected an object")
        kind = item.get("type")
        if kind != "entry":
            continue  # vc.ru mixes in banners and subsites; only entries are texts
        out.append(parse_entry(get_path(SOURCE, item, "data", dict), channel, f"result.items[{n}].data"))
    if "cursor" not in result:
        raise ParseError(SOURCE, "result.cursor", "missing (the API's paging changed)")
    cursor = result["cursor"]
    if cursor is not None and not isinstance(cursor, str | int):
        raise ParseError(SOURCE, "result.cursor", f"expected a string, got {type(cursor).__name__}")
    return out, str(cursor) if cursor not in (None, "") else None


def parse_entry(data: dict[str, Any], channel: str = "vc.ru", where: str = "result") -> Mention:
    """One entry (article or post) as a mention."""
    entry_id = _field(data, "id", int, where)
    title = _field(data, "title", str, where)
    url = _field(data, "url", str, where)
    author = _field(data, "author", dict, where)
    author_name = _field(author, "name", str, f"{where}.author")
    blocks = data.get("blocks", [])
    if not isinstance(blocks, list):
        raise ParseError(SOURCE, f"{where}.blocks", "expected a list")
    parts = [title] if title else []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise ParseError(SOURCE, f"{where}.blocks[{i}]", "expected an object")
        if block.get("type") in ("text", "header", "quote", "incut"):
            text = get_path(SOURCE, block, "data.text", str)
            if text:
                parts.append(html_to_text(text))
    counters = data.get("counters") or {}
    if not isinstance(counters, dict):
        raise ParseError(SOURCE, f"{where}.counters", "expected an object")
    likes = data.get("likes") or {}
    subsite = data.get("subsite") or {}
    return Mention(
        source=SOURCE,
        external_id=str(entry_id),
        channel=channel,
        text="\n\n".join(parts),
        published_at=unix_to_utc(SOURCE, f"{where}.date", data.get("date")),
        url=url,
        author=author_name,
        author_id=str(author["id"]) if isinstance(author.get("id"), int) else None,
        author_reach=opt_int(author.get("subscribers")),
        place=subsite.get("name") if isinstance(subsite, dict) else None,
        likes=opt_int(likes.get("counter")) if isinstance(likes, dict) else None,
        reposts=opt_int(counters.get("reposts")),
        comments=opt_int(counters.get("comments")),
        views=opt_int(counters.get("views")),
        raw={"id": entry_id},
    )


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise ParseError(SOURCE, f"{where}.{key}", "missing")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ParseError(SOURCE, f"{where}.{key}", f"expected {kind.__name__}, got {type(value).__name__}")
    return value
