"""Settings shared by every source; each collector subclasses :class:`SourceSettings` with its own keys.

Every source has ``base_url`` so tests and proxies can redirect it, and takes secrets only through the name
of an environment variable (``token_env``), never the secret itself. Politeness knobs (rate, retries,
back-off) live here too, with defaults at each platform's documented limits set by the subclass.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from collectors.errors import register_secret

__all__ = ["SourceSettings", "env_secret"]


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
    poll_interval_s: float = Field(default=300.0, gt=0)
    timeout_s: float = Field(default=20.0, gt=0)
    channel: str | None = None
    #: Requests per ``rate_period_s`` per source and token (the platform's documented limit).
    requests_per_s: int = Field(default=1, ge=1)
    rate_period_s: float = Field(default=1.0, gt=0)
    #: Attempts after the first one on 429, 5xx, network errors and the API's "slow down" codes.
    max_retries: int = Field(default=4, ge=0, le=20)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    #: A Retry-After longer than this ends the poll (the source is retried next poll) instead of sleeping.
    max_retry_after_s: float = Field(default=300.0, ge=0)
    #: Pages per query per poll at most: a safety net against a cursor that never ends.
    max_pages: int = Field(default=50, ge=1)
    #: How far back the first poll of a query reaches when no ``since`` is given.
    initial_lookback_h: float = Field(default=24.0, gt=0)
    #: Seconds below the last high-water mark a new sweep re-reads, for posts that search indexes late;
    #: the store keeps one copy of what is read twice.
    overlap_s: float = Field(default=0.0, ge=0)

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
