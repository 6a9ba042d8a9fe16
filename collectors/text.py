"""The one text-cleaning step every source's text passes, and small time and count helpers for the parsers.

Platforms hand us text in three shapes: HTML (Telegram pages, Mastodon, RSS, vc.ru blocks, VK texts with a
literal ``<br>`` and ``&#10071;``), plain text with HTML entities (YouTube titles and descriptions, Reddit
markdown), and raw plain text (Bluesky, YouTube ``textOriginal``). :func:`clean_text` takes the shape and
returns what a reader sees: entities decoded, markup gone (``<br>`` and block ends as newlines), whitespace
collapsed, invisible zero-width characters removed, Unicode composed (NFC). Brand matching, duplicate
hashing and the sentiment model then see one form of the same words whatever the source: "Сбер\u200bбанк"
and "Сбер&shy;банк" are "Сбербанк" there.

What stays on purpose: emoji (with the zero-width joiners inside emoji sequences), right-to-left and
bidirectional marks (they carry meaning in RTL text; the dashboard and messengers escape text for display),
and line breaks (paragraphs matter to readers and to the model).
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, Literal

from collectors.errors import ParseError

__all__ = [
    "Markup",
    "clean_line",
    "clean_text",
    "get_path",
    "html_to_text",
    "opt_int",
    "parse_count",
    "parse_iso",
    "unix_to_utc",
]

#: The shape of a text as the platform sends it: ``"html"`` markup, ``"escaped"`` plain text with HTML
#: entities, ``"plain"`` raw text (a literal ``<b>`` or ``&amp;`` in it is what the author typed).
Markup = Literal["html", "escaped", "plain"]

# Invisible characters that only split words: zero width space, word joiner and invisible operators, BOM,
# soft hyphen, Mongolian vowel separator.
_INVISIBLE = re.compile("[\u200b\u2060-\u2064\ufeff\u00ad\u180e]")
# Zero-width (non-)joiners between two Latin or Cyrillic letters split a brand name; between emoji (family,
# flags) or in scripts that need them they are kept.
_LETTER = "A-Za-z\u00c0-\u024f\u0400-\u04ff"
_JOINERS_IN_WORD = re.compile(f"(?<=[{_LETTER}])[\u200c\u200d]+(?=[{_LETTER}])")
# C0 and C1 controls other than tab and newlines: never text, and PostgreSQL rejects NUL outright.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_LINE_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")
_SPACES = re.compile("[ \t\x0b\x0c\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_SPACE_AROUND_NEWLINE = re.compile(" ?\n ?")
_MANY_NEWLINES = re.compile("\n{3,}")

# A complete tag or comment; a "<" that starts neither ("<3", "a < b") is text and is escaped first.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--.*?-->|<!\w[^<>]*>", re.S)
_BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure"),
        *("footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p"),
        *("pre", "section", "table", "tbody", "thead", "tfoot", "tr", "td", "th", "ul"),
    }
)
_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title"})


def clean_text(text: str | None, markup: Markup = "html") -> str:
    """``text`` as a reader sees it, in one normal form (see the module docstring).

    >>> clean_text("Ромашка&#10071;<br>Сбер\u200bбанк  &amp; ко ")
    'Ромашка❗\\nСбербанк & ко'
    >>> clean_text("a <3 b", "plain")
    'a <3 b'
    """
    if not text:
        return ""
    text = _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text))
    if markup == "html" and ("<" in text or "&" in text):
        text = _html_text(text) if _TAG.search(text) else html.unescape(text)
    elif markup == "escaped" and "&" in text:
        text = html.unescape(text)
    return _normalise(text)


def clean_line(text: str | None, markup: Markup = "plain") -> str:
    """:func:`clean_text` on one line: for names and titles, where a line break is just a space."""
    return " ".join(clean_text(text, markup).split())


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment (:func:`clean_text` with ``markup="html"``)."""
    return clean_text(fragment, "html")


def _normalise(text: str) -> str:
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text))  # entities can decode to either
    text = _INVISIBLE.sub("", text)
    if "\u200c" in text or "\u200d" in text:
        text = _JOINERS_IN_WORD.sub("", text)
    text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
        text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip(" \n")


def _html_text(markup: str) -> str:
    parts: list[str] = []
    last = 0
    for m in _TAG.finditer(markup):
        parts.append(markup[last : m.start()].replace("<", "&lt;"))
        parts.append(m.group(0))
        last = m.end()
    parts.append(markup[last:].replace("<", "&lt;"))
    parser = _TextParser()
    parser.feed("".join(parts))
    parser.close()
    return "".join(parser.out)


class _TextParser(HTMLParser):
    """Collects visible text: ``<br>`` and block boundaries become newlines, scripts and styles vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br" or tag in _BLOCKS:
            self.out.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.out.append(data)


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
