"""What a collector is: a class per source that turns pages of an API into pages of mentions.

The pipeline owns persistence: it stores each :class:`Page`'s mentions and its cursor in one transaction,
so a restart resumes after the last committed page and never duplicates or loses a mention.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

import httpx

from collectors.settings import SourceSettings
from loyalty_monitor.mention import Mention

__all__ = ["Collector", "Page"]


@dataclass(slots=True)
class Page:
    """Mentions from one API page and the cursor that resumes right after it (``None``: keep the old one)."""

    mentions: list[Mention]
    cursor: str | None = None
    done: bool = False
    notes: list[str] = field(default_factory=list)


class Collector(Protocol):
    """One source. ``fetch`` yields pages for one query, starting after ``cursor``."""

    name: ClassVar[str]
    settings_model: ClassVar[type[SourceSettings]]

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None: ...

    def queries(self, brand_terms: list[str]) -> list[str]:
        """The queries to poll: configured ones, else the brands' names and aliases."""
        ...

    def fetch(self, query: str, cursor: str | None, since: datetime | None) -> AsyncIterator[Page]:
        """Yield pages newer than ``cursor`` (or back to ``since`` when backfilling)."""
        ...
