"""Settings shared by every source; each collector subclasses :class:`SourceSettings` with its own keys.

Every source has ``base_url`` so tests and proxies can redirect it, and takes secrets only through the name
of an environment variable (``token_env``), never the secret itself. Politeness knobs (rate, retries,
back-off) and paging knobs live here too, with defaults at each platform's documented limits set by the
subclass. A subclass changes a default by redeclaring the key with the type it has here
(``requests_per_s: AtLeastOne = 5``), so the bounds stay the ones checked here.
"""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from collectors.errors import register_secret

__all__ = ["AtLeastOne", "NonNegative", "Positive", "SourceSettings", "env_secret"]

#: A count of at least one (requests per period, pages).
AtLeastOne = Annotated[int, Field(ge=1)]
#: Seconds or hours that must be above zero.
Positive = Annotated[float, Field(gt=0)]
#: Seconds that may be zero.
NonNegative = Annotated[float, Field(ge=0)]


class SourceSettings(BaseModel):
    """Keys every ``[sources.<name>]`` table accepts.

    Example::

        [sources.vk]
        base_url = "https://api.vk.com"
        token_env = "VK_TOKEN"
        queries = ["Сбербанк", "Сбер"]
        requests_per_s = 3
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str
    token_env: str | None = None
    queries: list[str] = Field(default_factory=list)
    poll_interval_s: Positive = 300.0
    timeout_s: Positive = 20.0
    channel: str | None = None
    #: Requests per ``rate_period_s`` per source and token (the platform's documented limit).
    requests_per_s: AtLeastOne = 1
    rate_period_s: Positive = 1.0
    #: Attempts after the first one on 429, 5xx, network errors and the API's "slow down" codes.
    max_retries: int = Field(default=4, ge=0, le=20)
    backoff_base_s: NonNegative = 1.0
    backoff_max_s: NonNegative = 60.0
    #: A Retry-After longer than this ends the poll (the source is retried next poll) instead of sleeping.
    max_retry_after_s: NonNegative = 300.0
    #: Pages per query per poll at most: a safety net against a cursor that never ends.
    max_pages: AtLeastOne = 50
    #: How far back the first poll of a query reaches when no ``since`` is given.
    initial_lookback_h: Positive = 24.0
    #: Seconds below the last high-water mark a new sweep re-reads, for posts that search indexes late;
    #: the store keeps one copy of what is read twice.
    overlap_s: NonNegative = 0.0

    def token(self) -> str | None:
        """The secret named by ``token_env``, read from the environment at use time (never stored)."""
        return env_secret(self.token_env)


def env_secret(name: str | None) -> str | None:
    """Read a secret from the environment and register it for scrubbing from error text."""
    if name is None:
        return None
    value = os.environ.get(name) or None
    register_secret(value)
    return value
