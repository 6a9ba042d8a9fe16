"""What a collector is: a class per source that turns pages of an API into pages of mentions.

The pipeline owns persistence: it stores each :class:`Page`'s mentions and its cursor in one transaction,
so a restart resumes after the last committed page and never duplicates or loses a mention.

:class:`HttpCollector` is the convenient base the built-in sources share (typed settings, the polite
:class:`collectors.http.Http` helper, default queries); an outside collector only has to satisfy
:class:`Collector`. Sources whose counters can be re-read by id also implement :class:`Refreshable`.

Every page an :class:`HttpCollector` yields passes :meth:`HttpCollector.admit`: each text is brought to
the one normal form of :func:`collectors.text.clean_text` and the source's "this item is not a mention"
rule (:meth:`HttpCollector.not_a_mention`: deleted, a service message, nothing left after cleaning) drops
what is not a mention. Parsers record facts (``raw["deleted"]``); the rule decides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar, cast, runtime_checkable

import httpx

from collectors.errors import NotFoundError
from collectors.settings import SourceSettings
from collectors.text import clean_line, clean_text
from core.mention import Mention

if TYPE_CHECKING:
    from collectors.cursor import FetchPage
    from collectors.http import RetryPolicy

__all__ = ["Collector", "Counters", "HttpCollector", "Page", "Refreshable", "counters", "not_a_mention"]

#: likes / reposts / comments / views of one mention, ``None`` where the platform has no such counter.
Counters = dict[str, int | None]


def counters(m: Mention) -> Counters:
    """The counters a mention carries (``None`` where its source does not read one)."""
    return {"likes": m.likes, "reposts": m.reposts, "comments": m.comments, "views": m.views}


def not_a_mention(m: Mention) -> str | None:
    """The rule every source shares: why ``m`` is not a mention, or ``None`` when it is one.

    A text that is empty after cleaning (a photo or sticker without a caption, a placeholder) names no
    brand and carries no opinion. Sources add their own reasons on top (:meth:`HttpCollector.not_a_mention`).
    """
    if not m.text.strip():
        return "empty after cleaning"
    return None


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


@runtime_checkable
class Refreshable(Protocol):
    """A collector that can re-read engagement counters of mentions it produced, by external id."""

    async def engagement(self, external_ids: Sequence[str]) -> dict[str, Counters]:
        """Fresh counters for those of ``external_ids`` still visible (missing ids are simply absent)."""
        ...


S = TypeVar("S", bound=SourceSettings)


class HttpCollector(Generic[S]):
    """Shared plumbing: typed settings, a throttled and retried :class:`~collectors.http.Http`, queries.

    A source whose API lists items newest first only says how to read one page (:meth:`page_reader`); the
    inherited :meth:`fetch` sweeps those pages with the source's ``max_pages``, ``initial_lookback_h`` and
    ``overlap_s``. A source that re-reads counters one id at a time builds ``engagement`` on
    :meth:`engagement_each`.
    """

    name: ClassVar[str]
    settings_model: ClassVar[type[SourceSettings]]
    #: How failed responses name their errors (see :data:`collectors.http.ErrorDialect`).
    error_dialect: ClassVar[str] = "http"

    def __init__(
        self, settings: SourceSettings, client: httpx.AsyncClient, *, retry: RetryPolicy | None = None
    ) -> None:
        from collectors.http import Http

        model = self.settings_model
        if not isinstance(settings, model):
            settings = model.model_validate(settings.model_dump(exclude_unset=True))
        self.settings: S = cast(S, settings)
        self.client = client
        self.http = Http(
            self.name,
            client,
            self.settings,
            retry=retry,
            token=self.settings.token(),
            error_dialect=self.error_dialect,
        )

    @property
    def base(self) -> str:
        """``base_url`` without a trailing slash."""
        return self.settings.base_url.rstrip("/")

    @property
    def channel(self) -> str:
        """The channel mentions are reported under: the configured one or the source's name."""
        return self.settings.channel or self.name

    def queries(self, brand_terms: list[str]) -> list[str]:
        """Configured queries, else every brand name and alias (without repeats)."""
        return list(dict.fromkeys(self.settings.queries or brand_terms))

    async def fetch(self, query: str, cursor: str | None, since: datetime | None) -> AsyncIterator[Page]:
        """The pages of :meth:`pages`, each passed through :meth:`admit`."""
        async for page in self.pages(query, cursor, since):
            page.mentions = self.admit(page.mentions)
            yield page

    def admit(self, items: list[Mention]) -> list[Mention]:
        """``items`` in normal form (text and author cleaned), without those that are not mentions.

        Paging has already seen every item (a page of deleted posts still moves the cursor); only what is
        stored is filtered here.
        """
        out: list[Mention] = []
        for m in items:
            m.text = clean_text(m.text, "plain")
            if m.author is not None:
                m.author = clean_line(m.author) or None
            if self.not_a_mention(m) is None:
                out.append(m)
        return out

    def not_a_mention(self, m: Mention) -> str | None:
        """Why ``m`` is not a mention (``None``: it is one). Sources extend the shared rule
        (:func:`not_a_mention`) with their own: deleted items, service messages."""
        return not_a_mention(m)

    async def pages(self, query: str, cursor: str | None, since: datetime | None) -> AsyncIterator[Page]:
        """Sweep ``query`` from its newest page down to the last item seen (:func:`collectors.cursor.sweep`).

        A source that does not page newest first (RSS) overrides this instead of :meth:`page_reader`.
        """
        from collectors.cursor import sweep

        async for page in sweep(
            cursor,
            since,
            self.page_reader(query),
            max_pages=self.settings.max_pages,
            lookback_h=self.settings.initial_lookback_h,
            overlap_s=self.settings.overlap_s,
        ):
            yield page

    def page_reader(self, query: str) -> FetchPage:
        """How :meth:`fetch` reads one page of ``query``.

        The reader takes a page token (``None``: the newest page) and the sweep's floor and returns the
        page's mentions and the next token. Sources that use the inherited :meth:`fetch` implement it.
        """
        raise NotImplementedError

    async def engagement_each(
        self, external_ids: Sequence[str], read: Callable[[str], Awaitable[Mention]]
    ) -> dict[str, Counters]:
        """Counters of each id, one ``read`` (a request and its parsing) per id; an id the platform no longer
        has (:class:`~collectors.errors.NotFoundError`) is left out."""
        out: dict[str, Counters] = {}
        for ext in external_ids:
            try:
                m = await read(ext)
            except NotFoundError:
                continue
            out[ext] = counters(m)
        return out
