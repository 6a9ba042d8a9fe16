"""Settings of the vc.ru source: the API version and paths are settings because vc.ru changes them."""

from __future__ import annotations

from collectors.settings import SourceSettings

__all__ = ["VcRuSettings"]


class VcRuSettings(SourceSettings):
    """``[sources.vcru]``.

    Example::

        [sources.vcru]
        base_url = "https://api.vc.ru"
        search_path = "/v2.10/search"     # change when vc.ru moves its API
        content_path = "/v2.10/content"
    """

    base_url: str = "https://api.vc.ru"
    search_path: str = "/v2.10/search"
    content_path: str = "/v2.10/content"
    channel: str | None = "vc.ru"
