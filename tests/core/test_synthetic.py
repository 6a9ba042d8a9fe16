"""The one synthetic stream generator: its parameters do what they say, and it stays deterministic."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.mention import Mention
from core.synthetic import (
    BRANDS,
    CHANNELS,
    EngagementUpdate,
    Spike,
    StreamEvent,
    event_time,
    generate,
    plain_brand,
    stream,
)

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
ALFA = plain_brand("Альфа", own=True, mix=(0.1, 0.1, 0.8))
BETA = plain_brand("Бета", mix=(0.8, 0.1, 0.1))
THREE = tuple(c for c in CHANNELS if c.name in ("vk", "telegram", "news"))


def mentions(events: Sequence[StreamEvent]) -> list[Mention]:
    return [e for e in events if isinstance(e, Mention)]


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    one = generate(start=START, end=START + timedelta(days=2), seed="a")
    assert one == generate(start=START, end=START + timedelta(days=2), seed="a")
    other = generate(start=START, end=START + timedelta(days=2), seed="b")
    assert [m.text for m in mentions(other)][:20] != [m.text for m in mentions(one)][:20]


def test_sorted_inside_the_span_aware_and_counted_from_the_prefix() -> None:
    end = START + timedelta(days=3)
    events = generate(start=START, end=end, id_prefix="x", source="synthetic")
    times = [event_time(e) for e in events]
    assert times == sorted(times)
    assert all(START <= t < end and t.tzinfo is not None for t in times)
    assert all(e.source == "synthetic" and e.external_id.startswith("x") for e in events)
    assert any(isinstance(e, EngagementUpdate) for e in events)


def test_volume_scales_with_daily_volume() -> None:
    small = len(mentions(generate(start=START, end=START + timedelta(days=7), daily_volume=100)))
    large = len(mentions(generate(start=START, end=START + timedelta(days=7), daily_volume=400)))
    # Copies come on top of the originals; the week holds about 100 (400) a weekday, fewer at weekends.
    assert 500 < small < 900
    assert 3.2 < large / small < 4.8


def test_brands_channels_and_label_mix_are_the_callers() -> None:
    events = mentions(
        generate(start=START, end=START + timedelta(days=14), brands=(ALFA, BETA), channels=THREE, seed=1)
    )
    assert {m.channel for m in events} == {"vk", "telegram", "news"}
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for m in events:
        for brand, label in m.raw["demo_labels"].items():
            labels[brand][label] += 1
        assert m.raw["demo_brands"] == list(m.raw["demo_labels"])
    assert set(labels) == {"Альфа", "Бета"}
    # Two-brand texts carry their own labels, so the mix shows in most of them, not all.
    assert labels["Альфа"]["negative"] > 0.6 * sum(labels["Альфа"].values())
    assert labels["Бета"]["positive"] > 0.6 * sum(labels["Бета"].values())
    # Informal texts may begin in lower case.
    named = [m.text.lower() for m in events if m.raw["demo_labels"]]
    assert all("альфа" in t or "бета" in t for t in named)


def test_one_brand_and_a_channel_without_copies_to_other_places() -> None:
    only = tuple(c for c in CHANNELS if c.name == "reviews")
    events = mentions(generate(start=START, end=START + timedelta(days=7), brands=(ALFA,), channels=only))
    assert events and {m.channel for m in events} == {"reviews"}
    assert {b for m in events for b in m.raw["demo_labels"]} == {"Альфа"}


def test_an_author_writes_about_a_brand_at_most_per_week_times_in_seven_days() -> None:
    events = mentions(generate(start=START, end=START + timedelta(days=21), per_week=2))
    seen: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for m in events:
        if m.channel == "news":
            continue
        for brand in m.raw["demo_labels"]:
            seen[(m.author or "", brand)].append(m.published_at)
    for times in seen.values():
        for t in times:
            assert sum(1 for u in times if t <= u < t + timedelta(days=7)) <= 2


def test_a_spike_adds_the_brands_complaints_inside_its_window_only() -> None:
    end = START + timedelta(days=14)
    window = (START + timedelta(days=10), START + timedelta(days=11))
    calm = mentions(generate(start=START, end=end, brands=(ALFA, BETA), seed=5))
    spiked = mentions(
        generate(start=START, end=end, brands=(ALFA, BETA), seed=5, spikes=(Spike("Альфа", *window),))
    )
    # The same draws until the spike starts.
    before = [m for m in spiked if m.published_at < window[0]]
    assert before == [m for m in calm if m.published_at < window[0]]
    extra = [m for m in spiked if m.raw["demo_kind"] == "incident"]
    assert len(extra) > 50
    assert all(window[0] <= m.published_at < window[1] + timedelta(hours=1) for m in extra)
    assert all(m.raw["demo_labels"] == {"Альфа": "negative"} and m.channel != "news" for m in extra)
    with pytest.raises(ValueError, match="Гамма"):
        list(stream(start=START, end=end, brands=(ALFA,), spikes=(Spike("Гамма", *window),)))


def test_injectors_see_the_ordinary_stream_and_their_events_are_merged_in_order() -> None:
    seen: list[tuple[str, int]] = []

    def reply_to_first(
        seed: str, start: datetime, end: datetime, ordinary: Sequence[StreamEvent]
    ) -> list[Mention]:
        seen.append((seed, len(ordinary)))
        first = mentions(ordinary)[0]
        return [replace(first, external_id="reply", author="Альфа", published_at=end - timedelta(minutes=1))]

    end = START + timedelta(days=1)
    plain = generate(start=START, end=end, brands=(ALFA,), seed="s")
    events = generate(start=START, end=end, brands=(ALFA,), seed="s", injectors=(reply_to_first,))
    assert seen == [("s", len(plain))]
    assert [e for e in events if e.external_id != "reply"] == plain
    assert events[-1].external_id == "reply"


def test_stream_is_lazy_and_holds_what_generate_sorts() -> None:
    end = START + timedelta(days=2)
    lazy = stream(start=START, end=end, seed=9)
    first = next(lazy)
    assert isinstance(first, Mention)
    everything = [first, *lazy]
    assert sorted(everything, key=lambda e: (event_time(e), e.external_id)) == generate(
        start=START, end=end, seed=9
    )


def test_default_world_is_the_invented_banks() -> None:
    names = {
        m.raw["demo_brands"][0]
        for m in mentions(generate(start=START, end=START + timedelta(days=2)))
        if m.raw["demo_brands"]
    }
    assert names == {b.name for b in BRANDS}
    with pytest.raises(ValueError, match="at least one brand"):
        generate(start=START, end=START + timedelta(days=1), brands=())
