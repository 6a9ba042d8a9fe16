"""Settings shared by every source; each collector subclasses :class:`SourceSettings` with its own keys.

Every source has ``base_url`` so tests and proxies can redirect it, and takes secrets only through the name
of an environment variable (``token_env``), never the secret itself.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SourceSettings"]


class SourceSettings(BaseModel):
    """Keys every ``[sources.<name>]`` table accepts.

    Example::

        [sources.vk]
        base_url = "https://api.vk.com"
        token_env = "VK_TOKEN"
        queries = ["Сбербанк", "Сбер"]
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str
    token_env: str | None = None
    queries: list[str] = Field(default_factory=list)
    poll_interval_s: float = Field(default=300.0, gt=0)
    timeout_s: float = Field(default=20.0, gt=0)
    channel: str | None = None

    def token(self) -> str | None:
        """The secret named by ``token_env``, read from the environment at use time (never stored)."""
        if self.token_env is None:
            return None
        return os.environ.get(self.token_env) or None
