"""Hostile input for brand matching: one text naming a brand hundreds of thousands of times.

Such a text (a 5 MB row of one import) used to take over ten minutes to tag, because every accepted match
was compared with every match accepted before it. Matching must grow linearly with the text, and a text
beyond the per-text cap is read up to the cap with one warning line.

The growth is measured as work, not time: the number of lines the matcher's module executes for a text
naming a brand n times and 4n times. Linear work gives a ratio near 4, the old quadratic one near 16; a
count of executed lines does not depend on how busy the machine is.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

import core.text
from core.text import MATCH_MAX_CHARS, BrandMatcher
from loyalty_monitor.config import BrandSettings

BRANDS = [
    BrandSettings(name="Сбербанк", aliases=["Сбер", "SberBank"], own=True),
    BrandSettings(name="Альфа-Банк", aliases=["Альфа"], exclusions=["альфа-версия"]),
    BrandSettings(name="Почта Банк"),
    BrandSettings(name="Почта России", aliases=["Почта"]),
]


def _lines_executed(call: Callable[[], Any]) -> int:
    """How many lines of :mod:`core.text` run during ``call()``."""
    module_file = core.text.__file__
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == module_file else None

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


def _text(n: int) -> str:
    # Several brands, an exclusion and an overlap ("Почта Банк" over "Почта") in each repeat, so every
    # branch of the overlap resolution runs n times.
    return "Сбербанк и Почта Банк, альфа-версия Альфы; сберу хуже. " * n


def test_matching_work_grows_linearly_with_the_number_of_brand_names() -> None:
    matcher = BrandMatcher(BRANDS)
    matcher.match(_text(3))  # analyser and caches warm
    small = _lines_executed(lambda: matcher.match(_text(300)))
    large = _lines_executed(lambda: matcher.match(_text(1200)))
    assert large / small < 6, f"4x the text cost {large / small:.1f}x the work ({small} -> {large} lines)"


def test_many_names_in_one_text_are_all_found() -> None:
    text = _text(1500)
    assert len(text) < MATCH_MAX_CHARS
    hits = {hit.brand: hit for hit in BrandMatcher(BRANDS).match(text)}
    assert set(hits) == {"Сбербанк", "Почта Банк", "Альфа-Банк"}
    assert len(hits["Сбербанк"].spans) == 3000  # "Сбербанк" and "сберу" in each repeat
    assert len(hits["Почта Банк"].spans) == 1500  # the longer alias wins over "Почта"
    assert len(hits["Альфа-Банк"].spans) == 1500  # "Альфы"; "альфа-версия" is vetoed


def test_a_text_beyond_the_cap_is_read_up_to_it_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    # A 5 MB text naming a brand 250,000 times, as seen in the wild.
    text = "Сбербанк опять. " * 250_000 + "Альфа в конце."
    assert len(text) > 4_000_000
    with caplog.at_level(logging.WARNING, logger="core.text"):
        hits = BrandMatcher(BRANDS).match(text, where="mention 42")
    assert [hit.brand for hit in hits] == ["Сбербанк"]  # "Альфа" lies beyond the cap
    assert len(hits[0].spans) == MATCH_MAX_CHARS // len("Сбербанк опять. ")
    assert all(end <= MATCH_MAX_CHARS for _, end in hits[0].spans)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert "\n" not in line
    assert "mention 42" in line and f"{len(text)}" in line and f"{MATCH_MAX_CHARS}" in line


def test_a_word_cut_by_the_cap_is_not_read_as_a_brand() -> None:
    matcher = BrandMatcher(BRANDS, max_chars=len("ничего про Сбер"))
    assert matcher.match("ничего про Сбережения") == []
    assert matcher.match_names("ничего про Сбер банк") == ["Сбербанк"]


def test_a_text_within_the_cap_warns_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="core.text"):
        assert BrandMatcher(BRANDS).match_names("Сбер") == ["Сбербанк"]
    assert caplog.records == []
