"""The built-in collectors, registered the way an outside plugin would be: one explicit mapping."""

from __future__ import annotations

from collectors.base import Collector
from collectors.bluesky import BlueskyCollector
from collectors.mastodon import MastodonCollector
from collectors.reddit import RedditCollector
from collectors.rss import RSSCollector
from collectors.settings import SourceSettings
from collectors.telegram import TelegramCollector
from collectors.vcru import VcRuCollector
from collectors.vk import VKCollector
from collectors.youtube import YouTubeCollector

__all__ = ["COLLECTORS", "collector_class", "settings_model"]

#: name -> collector class. A new source adds one line here, one module, fixtures and a docs section.
COLLECTORS: dict[str, type[Collector]] = {
    "vk": VKCollector,
    "telegram": TelegramCollector,
    "rss": RSSCollector,
    "reddit": RedditCollector,
    "mastodon": MastodonCollector,
    "bluesky": BlueskyCollector,
    "youtube": YouTubeCollector,
    "vcru": VcRuCollector,
}


def collector_class(name: str) -> type[Collector]:
    """The collector registered as ``name``; ``KeyError`` listing the known ones otherwise."""
    try:
        return COLLECTORS[name]
    except KeyError:
        known = ", ".join(sorted(COLLECTORS)) or "none"
        raise KeyError(f"unknown source {name!r} (known: {known})") from None


def settings_model(name: str) -> type[SourceSettings]:
    """The settings model for ``[sources.<name>]``."""
    return collector_class(name).settings_model
