"""The one synthetic stream generator: the demo, the tests and the benchmarks all write their mentions here.

A stream is Russian-language mentions of banks in social channels, deterministic for a seed, with a daily
and weekly rhythm, authors who write a lot or a little, copies, two-brand texts, look-alike names, and
engagement that grows after publication. Everything is a parameter: the brands and their sentiment mix per
channel, the channels, the volume, the time span, the seed, the audience's time zone, and loud events
(:class:`Spike`, or any :class:`Injector` of scripted events, such as the demo's escalating complaint)::

    from core.synthetic import generate, plain_brand

    events = generate(start=t0, end=t0 + timedelta(days=30), seed=7)          # the invented banks
    events = generate(
        start=t0, end=t1, seed=3, daily_volume=200,
        brands=(plain_brand("Альфа", own=True), plain_brand("Бета")),
        spikes=(Spike("Альфа", t0 + timedelta(days=5), t0 + timedelta(days=6)),),
    )
    for event in stream(start=t0, end=t1, daily_volume=3000):                  # millions, unsorted, lazily
        ...

Every mention carries what it was written to say in ``raw``: ``demo_label`` (toward its first brand),
``demo_labels`` per brand, ``demo_brands`` and ``demo_kind`` (post, multi, copy, false_friend, incident...),
so a test can label it without a model and measure how often a model or the brand matcher agrees.

It lives in the core because it needs nothing but the :class:`~core.mention.Mention` and the clock, and so
that any layer's tests and benchmarks can use it; no product package but the demo (in the app shell) does.
"""

from __future__ import annotations

from core.synthetic.events import EngagementUpdate, Injector, StreamEvent, event_time
from core.synthetic.stream import DAILY_VOLUME, MENTIONS_PER_WEEK, Spike, generate, stream
from core.synthetic.world import BRANDS, CEO, CHANNELS, OWN_BRAND, StreamBrand, StreamChannel, plain_brand

__all__ = [
    "BRANDS",
    "CEO",
    "CHANNELS",
    "DAILY_VOLUME",
    "MENTIONS_PER_WEEK",
    "OWN_BRAND",
    "EngagementUpdate",
    "Injector",
    "Spike",
    "StreamBrand",
    "StreamChannel",
    "StreamEvent",
    "event_time",
    "generate",
    "plain_brand",
    "stream",
]
