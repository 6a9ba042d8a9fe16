"""Backtest: replay a history of mentions through the real pipeline and alert rules on a virtual clock.

A PR team tunes alert settings blind unless it can ask "what would these settings have said about last
month?". :func:`run_backtest` answers it: the mentions of a file (or of the database) are replayed in order
of publication, one virtual minute at a time, through brand matching and the model (or the file's own
``brand``/``label`` columns), into a throwaway SQLite store (never the live database), and the alert engine
is run as ``run`` runs it: after each batch with the batch's mentions, and the periodic rules every minute
of virtual time. Nothing is delivered; every alert event (opened, updated, resolved) is reported with its
virtual time.

Memory stays bounded on files of millions of rows: the file is streamed, sorted by publication time in
runs of :data:`SORT_RUN` rows spilled to temporary files and merged back (a file already in order is
still read once), and labels are computed a block at a time just ahead of the clock.

Several settings can be replayed at once (``--compare``): the mentions are read, sorted and labelled once
and fed to one store and engine per setting, so the two runs see exactly the same stream.
"""

from __future__ import annotations

import heapq
import logging
import pickle
import tempfile
import tomllib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from alerts.engine import AlertChange, AlertEngine
from alerts.lifecycle import Candidate
from alerts.rules.engagement_growth import EngagementGrowth
from alerts.rules.index_drop import IndexDrop
from alerts.rules.negative_spike import NegativeSpike
from alerts.rules.queries import FirstSeen
from alerts.settings import AlertsSettings
from collectors.importer import ImportRowError, parse_import
from core.clock import floor_hour
from core.mention import Mention
from loyalty_index.index import IndexPoint, index_window_points
from loyalty_monitor.backtest_text import (
    ReplayChannelPosts,
    ReplayComplaints,
    ReplayCopies,
    ReplayRecurring,
    ReplayRepeatComplainer,
)
from loyalty_monitor.config import Config, ConfigError
from loyalty_monitor.labels import hint_for, label_source
from loyalty_monitor.tagging import Hint, Tagger
from sentiment.base import SentimentInput, SentimentModel, SentimentResult
from storage.schema import Alert, IndexHourly, MentionBrand, MentionRow
from storage.store import BrandLabel, PendingMention, Store, TaggedMention
from storage.textnorm import text_hash

__all__ = [
    "COLUMNS",
    "SORT_RUN",
    "AlertEvent",
    "BacktestResult",
    "Lane",
    "ReplayStore",
    "apply_overrides",
    "compare_events",
    "db_rows",
    "file_rows",
    "run_backtest",
    "setting_value",
    "sorted_rows",
    "weekly_summary",
]

log = logging.getLogger(__name__)

COLUMNS = ("time", "event", "alert_id", "rule", "brand", "channel", "severity", "title", "numbers")
"""The output columns, one row per alert event."""

SORT_RUN = 50_000
"""Rows sorted in memory at a time; a longer file is sorted in runs on disk and merged."""

_TAG_BLOCK = 1024
"""Mentions labelled together just ahead of the clock: the model works in batches, not one minute's few."""

_MINUTE = timedelta(minutes=1)

_PERIODIC_RULES = frozenset({"negative_spike", "engagement_growth"})
"""Rules whose open alerts the periodic evaluation re-triggers every minute."""

#: A replayable row: (line number, the mention, what the file says about its brand and label).
Row = tuple[int, Mention, Sequence[Hint]]


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One thing that would have happened to an alert, at virtual ``time``."""

    time: datetime
    event: str
    alert_id: int
    rule: str
    brand: str
    channel: str | None
    severity: str
    title: str
    numbers: Mapping[str, Any]

    def row(self) -> dict[str, Any]:
        """The output row (``numbers`` as JSON text is left to the writer)."""
        return {
            "time": self.time.isoformat(),
            "event": self.event,
            "alert_id": self.alert_id,
            "rule": self.rule,
            "brand": self.brand,
            "channel": self.channel or "",
            "severity": self.severity,
            "title": self.title,
            "numbers": dict(self.numbers),
        }


@dataclass(slots=True)
class BacktestResult:
    """What a replay did: its events per lane (settings), bad rows by line, and counts."""

    events: dict[str, list[AlertEvent]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    mentions: int = 0
    linked: int = 0
    first: datetime | None = None
    last: datetime | None = None


@dataclass(slots=True)
class Lane:
    """One set of alert settings replayed over the shared stream: its own throwaway store and engine."""

    name: str
    settings: AlertsSettings
    store: Store | None = None
    engine: AlertEngine | None = None
    open_alerts: dict[int, datetime] = field(default_factory=dict)
    """Alert id -> last time it was triggered, for alerts still open: candidates for resolving."""
    index_checked: datetime | None = None
    """When the engine last ran the hourly index check (it runs at the first periodic call, then hourly)."""
    periodic_open: dict[int, str] = field(default_factory=dict)
    """Open alerts of the rules the periodic evaluation re-triggers (spikes, spreading): id -> rule."""
    firing: set[str] = field(default_factory=set)
    """Rules whose alert the last periodic evaluation re-triggered: it will be again next minute."""
    last_run: dict[str, datetime] = field(default_factory=dict)
    """When each periodic rule last ran."""
    watched: dict[str, datetime] = field(default_factory=dict)
    """Text hash -> publication of young negative mentions of alerting brands: a copy of one spreads it."""
    unstored: list[tuple[Mention, Sequence[BrandLabel]]] = field(default_factory=list)
    """Mentions of quiet minutes not stored yet: stored together before the next evaluation reads them."""
    complaints: ReplayComplaints | None = None
    """The brands' recent complaints kept as they are stored (not in ``exact``)."""
    authors: ReplayRepeatComplainer | None = None
    """The authors' recent counted links kept as they are stored (not in ``exact``)."""
    skipped: int = 0
    """Virtual minutes in which no rule could change anything, so none ran (see :meth:`_Replay._due`)."""


# -- input -------------------------------------------------------------------------------------------------


def file_rows(path: Path, tagger: Tagger, errors: list[str]) -> Iterator[Row]:
    """The good rows of an import file with their hints; bad rows go to ``errors`` as ``line N: ...``."""
    source = label_source(path.name)
    for line_no, item in parse_import(path):
        if isinstance(item, ImportRowError):
            errors.append(str(item))
            continue
        hints, error = hint_for(line_no, item, tagger, source)
        if error is not None:
            errors.append(str(error))
            continue
        yield line_no, item, hints


def db_rows(store: Store, since: datetime | None, until: datetime | None, batch: int = 5000) -> Iterator[Row]:
    """Stored mentions in publication order with their stored links as hints (a correction wins).

    Replaying what is stored re-decides the alerts, not the labels: each mention keeps the brands and
    sentiment it was stored with, so the run needs no model. Mentions stored without a link are replayed
    through brand matching and the model like a new file's rows.
    """
    from storage.schema import effective_label

    cursor: tuple[datetime, int] | None = None
    n = 0
    while True:
        q = select(
            MentionRow.id,
            MentionRow.source,
            MentionRow.external_id,
            MentionRow.channel,
            MentionRow.text,
            MentionRow.published_at,
            MentionRow.url,
            MentionRow.author,
            MentionRow.author_reach,
            MentionRow.place,
            MentionRow.likes,
            MentionRow.reposts,
            MentionRow.comments,
            MentionRow.views,
            MentionRow.parent_external_id,
        )
        if since is not None:
            q = q.where(MentionRow.published_at >= since)
        if until is not None:
            q = q.where(MentionRow.published_at < until)
        if cursor is not None:
            q = q.where(
                (MentionRow.published_at > cursor[0])
                | and_(MentionRow.published_at == cursor[0], MentionRow.id > cursor[1])
            )
        q = q.order_by(MentionRow.published_at, MentionRow.id).limit(batch)
        with store.engine.connect() as conn:
            rows = conn.execute(q).all()
            if not rows:
                return
            links: dict[int, list[Hint]] = {}
            ids = [r.id for r in rows]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for lk in conn.execute(
                    select(
                        MentionBrand.mention_id,
                        MentionBrand.brand,
                        effective_label().label("label"),
                        MentionBrand.model_version,
                    ).where(MentionBrand.mention_id.in_(chunk))
                ):
                    links.setdefault(lk.mention_id, []).append(Hint(lk.brand, lk.label, lk.model_version))
        for r in rows:
            n += 1
            mention = Mention(
                source=r.source,
                external_id=r.external_id,
                channel=r.channel,
                text=r.text,
                published_at=r.published_at,
                url=r.url,
                author=r.author,
                author_reach=r.author_reach,
                place=r.place,
                likes=r.likes,
                reposts=r.reposts,
                comments=r.comments,
                views=r.views,
                parent_external_id=r.parent_external_id,
            )
            yield n, mention, links.get(r.id, ())
        cursor = (rows[-1].published_at, rows[-1].id)


def _window(rows: Iterable[Row], since: datetime | None, until: datetime | None) -> Iterator[Row]:
    for row in rows:
        at = row[1].published_at
        if (since is None or at >= since) and (until is None or at < until):
            yield row


def sorted_rows(rows: Iterable[Row], run: int = SORT_RUN) -> tuple[Iterator[Row], int]:
    """``rows`` in publication order (ties by line) and how many there are; memory holds one run at most.

    Returns once the input is read: the count is known before the replay starts (for the progress bar).
    """
    spills: list[IO[bytes]] = []
    buffer: list[Row] = []
    total = 0
    ordered = True
    last: tuple[datetime, int] | None = None
    for row in rows:
        total += 1
        key = (row[1].published_at, row[0])
        if last is not None and key < last:
            ordered = False
        last = key
        buffer.append(row)
        if len(buffer) >= run:
            spills.append(_spill(buffer, ordered))
            buffer = []
    buffer.sort(key=_key)
    if not spills:
        return iter(buffer), total
    return _merge([*(_unspill(fh) for fh in spills), iter(buffer)]), total


def _key(row: Row) -> tuple[datetime, int]:
    return row[1].published_at, row[0]


def _spill(buffer: list[Row], ordered: bool) -> IO[bytes]:
    if not ordered:
        buffer.sort(key=_key)
    # Closed by _unspill once merged: it outlives this function on purpose.
    fh = tempfile.TemporaryFile(prefix="loyalty-backtest-")  # noqa: SIM115
    pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
    for start in range(0, len(buffer), 1000):
        pickler.dump(buffer[start : start + 1000])
        pickler.clear_memo()
    fh.seek(0)
    return fh


def _unspill(fh: IO[bytes]) -> Iterator[Row]:
    try:
        while True:
            try:
                chunk: list[Row] = pickle.load(fh)
            except EOFError:
                return
            yield from chunk
    finally:
        fh.close()


def _merge(runs: list[Iterator[Row]]) -> Iterator[Row]:
    yield from heapq.merge(*runs, key=_key)


# -- settings -----------------------------------------------------------------------------------------------


def apply_overrides(settings: AlertsSettings, overrides: Sequence[str]) -> AlertsSettings:
    """``settings`` with ``alerts.KEY.PATH=VALUE`` overrides applied, typed and validated like the config.

    A value is read as TOML (``1e-6``, ``true``, ``"text"``, ``["a", "b"]``) and, when it is not valid TOML,
    as plain text. A key path that names no alert setting, or a value the setting refuses, is a
    :class:`~loyalty_monitor.config.ConfigError` naming the key path.
    """
    data = settings.model_dump()
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. alerts.negative_spike.min_count=8")
        path = key.split(".")
        if path[0] != "alerts" or len(path) < 2:
            raise ConfigError(f"--set {key}: only alert settings can be set (alerts.RULE.SETTING)")
        model: type[BaseModel] = AlertsSettings
        node = data
        for depth, part in enumerate(path[1:], start=1):
            fields = model.model_fields
            if part not in fields:
                where = ".".join(path[:depth])
                raise ConfigError(
                    f"--set {key}: {where} has no setting {part!r} (it has: {', '.join(sorted(fields))})"
                )
            last = depth == len(path) - 1
            if last:
                node[part] = setting_value(raw.strip())
                break
            sub = fields[part].annotation
            if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
                raise ConfigError(f"--set {key}: {'.'.join(path[: depth + 1])} is a value, not a table")
            model = sub
            node = node[part]
        try:
            data = AlertsSettings.model_validate(data).model_dump()
        except ValidationError as exc:
            problems = "; ".join(_format(exc))
            raise ConfigError(f"--set {key}: {problems}") from None
    return AlertsSettings.model_validate(data)


def setting_value(raw: str) -> Any:
    """A ``--set KEY=VALUE`` value: TOML when it parses (``1e-6``, ``true``, ``[1, 6]``), else the text.

    One reading for every command that takes ``--set``, so a value means the same in each.
    """
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _format(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        path = ".".join(["alerts", *(str(p) for p in err["loc"])])
        out.append(f"{path}: {err['msg']}")
    return out


# -- the replay ---------------------------------------------------------------------------------------------


class _LabelModel:
    """A model for files whose every row is labelled: the real one is loaded only if a row needs it."""

    def __init__(self, load: Callable[[], SentimentModel]) -> None:
        self._load = load
        self._model: SentimentModel | None = None

    @property
    def model_id(self) -> str:
        return self._model.model_id if self._model is not None else "not loaded"

    @property
    def version(self) -> str:
        return self._model.version if self._model is not None else ""

    def predict(self, inputs: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        if self._model is None:
            self._model = self._load()
        return self._model.predict(inputs, batch_size=batch_size)


def run_backtest(
    config: Config,
    rows: Callable[[Tagger, list[str]], Iterable[Row]],
    lanes: Sequence[Lane],
    *,
    model: Callable[[], SentimentModel],
    since: datetime | None = None,
    until: datetime | None = None,
    on_event: Callable[[str, AlertEvent], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    workdir: Path | None = None,
    exact: bool = False,
    step: timedelta = _MINUTE,
    origin: datetime | None = None,
) -> BacktestResult:
    """Replay ``rows`` (built with the run's tagger and error list) through every lane's settings.

    ``model`` loads the sentiment model, called only when a row has no label of its own. ``on_event`` gets
    each event as it happens (lane name, event); ``progress`` gets (mentions replayed, total). The stores
    are temporary SQLite files under ``workdir`` (a temporary directory by default), removed at the end.
    ``exact`` stores each minute's mentions and runs every rule at every virtual minute, as ``run`` would,
    with the rules' own queries (slower; the default skips minutes in which nothing can change and keeps
    ended hours of the spike rule's rollup, see :class:`_Replay`). ``step`` is the clock's step: a minute,
    as ``run`` evaluates; a replay that evaluated hourly (the demo's history) is reproduced with an hour.
    The first step ends at ``origin + step``; by default ``origin`` is the first mention's minute, or for
    a coarser step the first mention itself (as a replay that fed its history a step at a time from its
    first event: the demo's).
    """
    result = BacktestResult(events={lane.name: [] for lane in lanes})
    tagger = Tagger(config.brands, _LabelModel(model), batch_size=config.sentiment.batch_size)
    with tempfile.TemporaryDirectory(prefix="loyalty-backtest-", dir=workdir) as tmp:
        for i, lane in enumerate(lanes):
            lane.store = _throwaway_store(Path(tmp) / f"lane{i}.db")
            lane.engine = AlertEngine(lane.store, lane.settings, config.alert_brands())
            _fit_for_replay(lane, exact=exact)
        try:
            stream, total = sorted_rows(_window(rows(tagger, result.errors), since, until))
            replay = _Replay(tagger, lanes, result, on_event, exact=exact, step=step, origin=origin)
            done = 0
            for block in _blocks(stream, _TAG_BLOCK):
                replay.feed(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)
            replay.finish(until)
        finally:
            for lane in lanes:
                if lane.store is not None:
                    lane.store.close()
    result.errors.sort(key=_line_of)
    return result


def _fit_for_replay(lane: Lane, *, exact: bool) -> None:
    """Give the lane's engine the replay's twins of the rules' parts (see :class:`_Replay`).

    ``exact`` keeps the rules' own queries for all but the spreading rule's baseline grid.
    """
    engine = lane.engine
    assert engine is not None
    growth = engine.growth = _ReplayGrowth(lane.settings, engine.brands)
    if exact:
        return
    growth.posts = ReplayChannelPosts(lane.settings.engagement_growth)
    engine.spike = _ReplaySpike(lane.settings, engine.brands)
    engine.index_drop = _ReplayIndexDrop(lane.settings, engine.brands, engine.index_drop.first_seen)
    settings = lane.settings
    lane.complaints = ReplayComplaints(
        engine.brands, engine.recurring.history_days, engine.words, settings.recurring_problem.max_candidates
    )
    engine.complaints = lane.complaints
    engine.recent_words = lane.complaints.recent_words
    engine.copies = ReplayCopies(settings)
    engine.recurring = ReplayRecurring(settings, engine.recurring.first_seen, engine.copies.copies)
    lane.authors = ReplayRepeatComplainer(settings, engine.brands)
    engine.repeat_complainer = lane.authors


def _throwaway_store(path: Path) -> Store:
    """A SQLite store tuned as the throwaway it is: deleted at the end of the run, read by the rules only.

    No durability (``synchronous=OFF``, the rollback journal in memory), a bigger page cache, and no
    full-text index over the texts: the alert rules never search text (the store's text search falls back
    to a scan where the index is missing), and keeping a trigram index of every stored text was the
    largest single cost of storing a mention. The file keeps memory bounded on long histories.
    """
    from sqlalchemy import event, text

    from storage import migrate
    from storage.store import create_db_engine

    engine = create_db_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=MEMORY")
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        cur.close()

    migrate.upgrade(engine)
    with engine.begin() as conn:
        for name in _FTS_TRIGGERS:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        conn.execute(text("DROP TABLE IF EXISTS mentions_fts"))
    return ReplayStore(engine)


class ReplayStore(Store):
    """The throwaway store, which skips reply-thread linking for as long as it holds no reply.

    Linking a new mention's thread is two look-ups: a new reply finds its stored parent, and stored replies
    waiting for a parent find the new mention. Both read ``parent_external_id`` of stored rows, and while
    no stored mention has one (the store starts empty, every mention arrives through :meth:`_upsert`, and
    nothing else writes that column) neither can match a row. Most histories carry no reply ids at all, so
    the replay skips what would have been two statements per stored minute; from the first batch with a
    reply on, it links exactly as :class:`Store` does (that batch included).
    """

    threaded: bool = False
    """Whether a mention with a parent id has been stored: from then on threads are linked."""

    def _link_new_threads(
        self,
        conn: Connection,
        new_ids: Sequence[int],
        new_keys: Sequence[tuple[str, str]],
        mentions: Mapping[tuple[str, str], Mention],
    ) -> None:
        if not self.threaded:
            self.threaded = any(mentions[k].parent_external_id is not None for k in new_keys)
        if self.threaded:
            super()._link_new_threads(conn, new_ids, new_keys, mentions)


_CACHE_KIB = 64 * 1024
"""The throwaway store's page cache: the recent weeks the rules read stay in memory, the rest on disk."""

_FTS_TRIGGERS = ("trg_mentions_fts_ins", "trg_mentions_fts_del", "trg_mentions_fts_upd")
"""What keeps the full-text index (migration 0006) in step with ``mentions``: dropped in a throwaway."""


def _blocks(stream: Iterator[Row], size: int) -> Iterator[list[Row]]:
    block: list[Row] = []
    for row in stream:
        block.append(row)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


def _line_of(error: str) -> int:
    head = error.split(":", 1)[0]
    return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


def _floor_step(at: datetime, step: timedelta) -> datetime:
    """``at`` down to the grid of ``step`` (whole minutes, hours, six hours... of UTC)."""
    return _EPOCH + (at - _EPOCH) // step * step


_BASELINE_EVERY = timedelta(hours=6)
"""How long the spreading rule keeps a channel's usual (:class:`alerts.rules.engagement_growth`)."""


class _ReplayGrowth(EngagementGrowth):
    """Spreading with each channel's usual taken at the turns of a fixed six-hour grid of the clock.

    The rule keeps a channel's usual for six hours from whenever it was first asked for it; in a replay
    that skips quiet minutes, "first asked" would depend on which minutes ran. Taking it at the grid's
    turns makes it the same whichever minutes run, as ``exact`` checks (``run`` keeps it six hours from
    its own start, an equally arbitrary phase). Outside ``exact`` the posts it is a quantile of are
    kept as they are stored (:class:`~loyalty_monitor.backtest_text.ReplayChannelPosts`).
    """

    posts: ReplayChannelPosts | None = None

    def usual(self, conn: Connection, channel: str, now: datetime) -> float:
        at = _floor_step(now, _BASELINE_EVERY)
        cached = self._usual.get(channel)
        if self.posts is None or (cached is not None and timedelta(0) <= at - cached[0] < _BASELINE_EVERY):
            return super().usual(conn, channel, at)
        usual = self.posts.usual(channel, at)
        if usual is None:
            return super().usual(conn, channel, at)
        self._usual[channel] = (at, usual)
        return usual


class _ReplaySpike(NegativeSpike):
    """The spike rule reading each ended hour of the hourly rollup once, not on every minute.

    In a replay, mentions arrive in order of publication, so an hour that has ended never changes again:
    its counts are kept here, and each evaluation reads only the hours not yet ended (in ``run`` a late
    mention may still land in a past hour, so the rule there reads them all every time). The series
    handed to the rule are the very ones its own query would return.
    """

    def __init__(self, settings: AlertsSettings, brands: Sequence[str]) -> None:
        super().__init__(settings, brands)
        self._now: datetime | None = None
        self._kept: dict[tuple[str, str], dict[datetime, int]] = {}
        self._first: dict[tuple[str, str], datetime] = {}
        self._start: datetime | None = None
        self._ended: datetime | None = None
        """Hours before this one are final and kept."""
        self._open: list[tuple[tuple[str, str], datetime]] = []
        """(series, hour) entries of hours not ended yet, read again on the next evaluation."""

    def find(self, conn: Connection, now: datetime) -> list[Candidate]:
        self._now = now
        return super().find(conn, now)

    def _series(
        self, conn: Connection, start: datetime, last: datetime
    ) -> tuple[dict[tuple[str, str], dict[datetime, int]], dict[tuple[str, str], datetime]]:
        assert self._now is not None
        kept, first = self._kept, self._first
        for key, hour in self._open:
            kept[key].pop(hour, None)
        self._open = []
        if start != self._start:  # the window moved on: hours before its start are not read
            for key in list(kept):
                kept[key] = {h: n for h, n in kept[key].items() if h >= start}
            self._start = start
        read_from = start if self._ended is None else max(start, self._ended)
        ended = floor_hour(self._now)
        rows = conn.execute(
            select(IndexHourly.brand, IndexHourly.channel, IndexHourly.hour, IndexHourly.negative).where(
                and_(
                    IndexHourly.brand.in_(self.brands),
                    IndexHourly.hour >= read_from,
                    IndexHourly.hour <= last,
                )
            )
        ).all()
        for r in rows:
            for key in ((r.brand, r.channel), (r.brand, "*")):
                counts = kept.setdefault(key, {})
                counts[r.hour] = counts.get(r.hour, 0) + int(r.negative)
                if r.hour >= ended:
                    self._open.append((key, r.hour))
        self._ended = ended
        for key in [k for k, counts in kept.items() if not counts]:
            del kept[key]
        first.clear()
        for key, counts in kept.items():
            first[key] = min(counts)
        return kept, first


_DAWN = datetime.min.replace(tzinfo=UTC)

_LABEL_SLOT = {"positive": 0, "negative": 1, "neutral": 2}
"""Where a label counts in :func:`loyalty_index.index.index_window`'s [positive, negative, neutral]."""


class _ReplayIndexDrop(IndexDrop):
    """The index-drop rule reading its windows from running sums the replay keeps, not from the store.

    The rule asks hourly for the index of the last ``period_days`` and of the period before, per brand and
    per channel: twelve grouped queries an hour that read the same weeks again and again. In a replay,
    links are stored in order of publication and every one published before ``now`` is stored when the
    rule runs, so the counts of ``[since, until)`` are ``A(until) - A(since)``, where ``A(t)`` sums the
    links of the minutes before ``t``: a few running sums advanced minute by minute as the clock moves.
    The points are shaped by :func:`~loyalty_index.index.index_window_points`, as the query's are. A
    window that does not start and end on a whole minute, or a sum that cannot be advanced to where it is
    asked for, is read by the query itself.
    """

    def __init__(self, settings: AlertsSettings, brands: Sequence[str], first_seen: FirstSeen) -> None:
        super().__init__(settings, brands, first_seen)
        self._wanted = frozenset(self.brands)
        self._minutes: deque[tuple[datetime, dict[tuple[str, str], list[int]]]] = deque()
        """Counted links per minute (oldest first), each minute's [positive, negative, neutral] per key."""
        self._dropped = 0
        """Minutes removed from the front of ``_minutes`` (every running sum has passed them)."""
        self._sums: list[tuple[datetime, int, dict[tuple[str, str], list[int]]]] = []
        """Running sums ``A(t)``: (t, minutes taken, counts per (brand, channel))."""
        self._out_of_order = False

    def add(self, published_at: datetime, brand: str, channel: str, label: str | None) -> None:
        """Count one stored, counted link (the replay calls it for each as it stores them)."""
        slot = _LABEL_SLOT.get(label or "")
        if slot is None or brand not in self._wanted:
            return
        minute = published_at.replace(second=0, microsecond=0)
        if not self._minutes or self._minutes[-1][0] != minute:
            if self._minutes and minute < self._minutes[-1][0]:
                self._out_of_order = True  # never in a replay; the query answers from then on
            self._minutes.append((minute, {}))
        counts = self._minutes[-1][1].setdefault((brand, channel), [0, 0, 0])
        counts[slot] += 1

    def window(self, store: Store, since: datetime, until: datetime, by_channel: bool) -> list[IndexPoint]:
        whole = since.second == since.microsecond == until.second == until.microsecond == 0
        hi = self._upto(until) if whole and not self._out_of_order else None
        lo = self._upto(since) if hi is not None else None
        if hi is None or lo is None:
            return super().window(store, since, until, by_channel)
        acc: dict[tuple[str, str | None], list[int]] = {}
        for (brand, channel), v in hi.items():
            w = lo.get((brand, channel), (0, 0, 0))
            d = [v[0] - w[0], v[1] - w[1], v[2] - w[2]]
            if not any(d):
                continue
            key = (brand, channel if by_channel else None)
            have = acc.get(key)
            acc[key] = d if have is None else [have[0] + d[0], have[1] + d[1], have[2] + d[2]]
        self._prune()
        return index_window_points(acc, since, self.brands, by_channel=by_channel)

    def _upto(self, t: datetime) -> dict[tuple[str, str], list[int]] | None:
        """``A(t)``: the counts of every minute before ``t``; ``None`` when no running sum can reach it.

        The sum with the highest bound not above ``t`` is advanced to ``t``: the rule's three bounds
        (``now - 2 * period``, ``now - period``, ``now``) each move forward hour by hour, so each keeps
        its own sum, and none is ever asked for below where it stands.
        """
        best = None
        for i, (at, _, _) in enumerate(self._sums):
            if at <= t and (best is None or at > self._sums[best][0]):
                best = i
        if best is None:
            if self._dropped:
                return None  # the minutes before every sum are gone
            self._sums.append((_DAWN, 0, {}))  # advanced to ``t`` below
            best = len(self._sums) - 1
        at, taken, counts = self._sums[best]
        if at == t:
            return counts
        i = taken - self._dropped
        while i < len(self._minutes) and self._minutes[i][0] < t:
            for key, v in self._minutes[i][1].items():
                have = counts.get(key)
                if have is None:
                    counts[key] = list(v)
                else:
                    have[0] += v[0]
                    have[1] += v[1]
                    have[2] += v[2]
            i += 1
        self._sums[best] = (t, i + self._dropped, counts)
        return counts

    def _prune(self) -> None:
        """Forget the minutes every running sum has passed."""
        floor = min((taken for _, taken, _ in self._sums), default=self._dropped)
        while self._dropped < floor and self._minutes:
            self._minutes.popleft()
            self._dropped += 1


class _Replay:
    """The virtual clock: mentions published in a step (a minute) are stored and evaluated at its end.

    Two things keep a long replay fast without changing what fires (``exact`` turns both off):

    * a minute in which no rule can change anything (:meth:`_due`) runs no rule at all, and its mentions
      wait in memory: they are stored together with the next minute that does run, which then sees exactly
      the store the every-minute replay would have (the per-batch rules act on negative links only, so a
      batch without one changes nothing);
    * the spike rule reads each ended hour of the hourly rollup once (:class:`_ReplaySpike`).
    """

    def __init__(
        self,
        tagger: Tagger,
        lanes: Sequence[Lane],
        result: BacktestResult,
        on_event: Callable[[str, AlertEvent], None] | None,
        *,
        exact: bool = False,
        step: timedelta = _MINUTE,
        origin: datetime | None = None,
    ) -> None:
        self.exact = exact
        self.step = step
        self.origin = origin
        self.tagger = tagger
        self.lanes = lanes
        self.result = result
        self.on_event = on_event
        self.clock: datetime | None = None
        self.batch: list[tuple[Mention, Sequence[BrandLabel]]] = []

    def feed(self, block: list[Row]) -> None:
        """Label a block of time-ordered rows, then advance the clock through them."""
        fake = [
            PendingMention(i, m.text, m.channel, m.published_at, True) for i, (_, m, _h) in enumerate(block)
        ]
        hints = {i: h for i, (_, _m, h) in enumerate(block) if h}
        tagged = self.tagger.tag(fake, hints)
        for (_, mention, _h), t in zip(block, tagged, strict=True):
            at = mention.published_at
            if self.clock is None:
                start = self.origin
                if start is None:
                    start = _floor_step(at, _MINUTE) if self.step <= _MINUTE else at
                self.clock = start + self.step
                self.result.first = at
            while at >= self.clock:
                self._tick()
            self.result.last = at
            self.result.mentions += 1
            # Stored as collected when published: nothing in the throwaway store carries the wall clock.
            mention.collected_at = at
            self.batch.append((mention, t.links))

    def finish(self, until: datetime | None) -> None:
        """Evaluate the last step, then keep the periodic rules running up to ``until`` (if given)."""
        if self.clock is None:
            return
        self._tick()
        if until is not None:
            while self.clock <= until:
                self._tick()

    def _tick(self) -> None:
        assert self.clock is not None
        now = self.clock
        batch, self.batch = self.batch, []
        for lane in self.lanes:
            assert lane.store is not None and lane.engine is not None
            lane.unstored.extend(batch)
            negative = bool(batch) and self._negative(lane, batch)
            due = self._due(lane, now, batch, negative)
            if not (negative or due is None or due):
                lane.skipped += 1
                continue
            ids: list[int] = []
            if lane.unstored:
                ids = self._store(lane, lane.unstored)
                lane.unstored = []
            changes = lane.engine.evaluate(ids, now) if ids else []
            if due is None or due:
                if (due is None or "index_drop" in due) and (
                    lane.index_checked is None or now - lane.index_checked >= timedelta(hours=1)
                ):
                    lane.index_checked = now  # as the engine's own hourly index check
                changes += lane.engine.evaluate_periodic(now, due)
                for rule in _PERIODIC_RULES if due is None else due & _PERIODIC_RULES:
                    lane.last_run[rule] = now
                if due is None or "volume_spike" in due:
                    lane.last_run["volume_spike"] = now
            self._report(lane, changes, now, due is None or bool(due))
        self.clock = now + self.step

    def _due(
        self, lane: Lane, now: datetime, batch: list[tuple[Mention, Sequence[BrandLabel]]], negative: bool
    ) -> set[str] | None:
        """The periodic rules that can change their answer at ``now`` (``None``: all, as ``run`` runs them).

        Spikes read negative counts, spreading young negative stories and their copies, the index check
        the hourly index, resolving the open alerts. A rule is skipped when nothing it reads can have
        changed since it last ran:

        * ``negative_spike``: no new negative link of an alerting brand, the window not moved on (it moves
          when an hour turns), its alert not re-triggered the last time (it would be again, which moves
          when it resolves). Within an hour the test's expectation moves with the minutes (the current hour
          is weighted by how much of it has passed); a minute without new complaints is taken to leave the
          answer as it was, which ``exact`` (every minute evaluated) checks.
        * ``engagement_growth``: no copy of a young negative story (a new negative story is the batch's,
          evaluated with it), its alert not re-triggered the last time, the channel baselines not renewed
          (:class:`_ReplayGrowth`). A file adds no engagement snapshots, so while nothing new arrives a
          story's growth per hour can only fall.
        * ``sla_breach``: a replay opens no response cases, so it has none to be late with.
        * ``index_drop``: hourly, as the engine runs it; ``resolve``: when an open alert is due to resolve.
        * ``volume_spike``: when an hour has ended since it last ran (it decides on ended hours only).
        """
        if self.exact:
            return None
        due: set[str] = set()
        copied = self._copies(lane, now, batch)  # watches the batch's own negative stories too
        spike, growth = lane.last_run.get("negative_spike"), lane.last_run.get("engagement_growth")
        if (
            spike is None
            or negative
            or "negative_spike" in lane.firing
            or now.minute == 0
            or floor_hour(now - _TICK) != floor_hour(spike - _TICK)
        ):
            due.add("negative_spike")
        if (
            growth is None
            or "engagement_growth" in lane.firing
            or _floor_step(now, _BASELINE_EVERY) != _floor_step(growth, _BASELINE_EVERY)
            or copied
        ):
            due.add("engagement_growth")
        volume = lane.last_run.get("volume_spike")
        if volume is None or floor_hour(volume) != floor_hour(now):
            due.add("volume_spike")
        cutoff = now - timedelta(hours=lane.settings.resolve_after_hours)
        if lane.open_alerts and min(lane.open_alerts.values()) < cutoff:
            due.add("resolve")
        if lane.index_checked is None or now - lane.index_checked >= timedelta(hours=1):
            due.add("index_drop")
        return due

    def _copies(self, lane: Lane, now: datetime, batch: list[tuple[Mention, Sequence[BrandLabel]]]) -> bool:
        """Whether ``batch`` copies a young negative story of an alerting brand (and watch its own)."""
        assert lane.engine is not None
        young = now - timedelta(hours=lane.settings.engagement_growth.max_age_hours)
        watched = lane.watched  # in order of publication: the oldest first
        while watched and next(iter(watched.values())) < young:
            del watched[next(iter(watched))]
        brands = lane.engine.brands
        copied = False
        for mention, links in batch:
            h = text_hash(mention.text)
            copied = copied or h in watched
            if h not in watched and any(lk.label == "negative" and lk.brand in brands for lk in links):
                watched[h] = mention.published_at
        return copied

    @staticmethod
    def _negative(lane: Lane, batch: list[tuple[Mention, Sequence[BrandLabel]]]) -> bool:
        assert lane.engine is not None
        brands = lane.engine.brands
        return any(lk.label == "negative" and lk.brand in brands for _, links in batch for lk in links)

    def _store(self, lane: Lane, batch: list[tuple[Mention, Sequence[BrandLabel]]]) -> list[int]:
        """Store mentions and their links; returns the ids of those the per-batch rules look at.

        Those rules read a batch's negative links of the alerting brands only (escalation terms, repeat
        complainers, recurring problems, copies, spreading of new negative stories), so only mentions with
        such a link are handed to :meth:`AlertEngine.evaluate`: the others it would load and drop.
        """
        assert lane.store is not None and lane.engine is not None
        store = lane.store
        links = {(m.source, m.external_id): ls for m, ls in batch}
        new = store.upsert_mentions([m for m, _ in batch])
        growth = lane.engine.growth
        posts = growth.posts if isinstance(growth, _ReplayGrowth) else None
        if posts is not None and len(new) < len(links):
            posts.valid = False  # a mention stored again: the store refreshed its counters
        if not new:
            return []
        rows: list[Any] = []
        with store.engine.connect() as conn:
            for start in range(0, len(new), 500):
                rows += conn.execute(
                    select(
                        MentionRow.id,
                        MentionRow.source,
                        MentionRow.external_id,
                        MentionRow.channel,
                        MentionRow.published_at,
                        MentionRow.duplicate_of,
                    ).where(MentionRow.id.in_(new[start : start + 500]))
                ).all()
        tagged = [
            TaggedMention(
                PendingMention(r.id, "", r.channel, r.published_at, r.duplicate_of is None),
                links.get((r.source, r.external_id), ()),
            )
            for r in rows
        ]
        store.save_tags(tagged)
        if posts is not None:
            mentions = {(m.source, m.external_id): m for m, _ in batch}
            for r in sorted(rows, key=lambda r: (r.published_at, r.id)):
                if r.duplicate_of is None:
                    posts.add(r.channel, r.published_at, mentions[(r.source, r.external_id)])
        self.result.linked += sum(len(t.links) for t in tagged)
        if lane.complaints is not None and lane.authors is not None:
            mentions = {(m.source, m.external_id): m for m, _ in batch}
            for t, r in sorted(zip(tagged, rows, strict=True), key=lambda tr: (tr[1].published_at, tr[1].id)):
                if t.mention.counted:
                    mention = mentions[(r.source, r.external_id)]
                    for lk in t.links:
                        lane.complaints.add(lk.brand, lk.label, r.id, r.published_at, mention)
                        lane.authors.add(lk.brand, lk.label, r.id, r.published_at, mention)
        if isinstance(lane.engine.index_drop, _ReplayIndexDrop):
            add = lane.engine.index_drop.add
            for t in tagged:
                if t.mention.counted:
                    for lk in t.links:
                        add(t.mention.published_at, lk.brand, t.mention.channel, lk.label)
        brands = set(lane.engine.brands)
        return sorted(
            t.mention.id
            for t in tagged
            if any(lk.label == "negative" and lk.brand in brands for lk in t.links)
        )

    def _report(self, lane: Lane, changes: Sequence[AlertChange], now: datetime, periodic: bool) -> None:
        assert lane.store is not None
        events: list[AlertEvent] = []
        for ch in changes:
            lane.open_alerts[ch.alert_id] = now
            if ch.rule in _PERIODIC_RULES:
                lane.periodic_open[ch.alert_id] = ch.rule
            if ch.kind == "merged":
                continue  # a silent merge: nothing would have been sent
            events.append(
                AlertEvent(
                    now,
                    ch.kind,
                    ch.alert_id,
                    ch.rule,
                    ch.brand,
                    ch.channel,
                    ch.severity,
                    ch.title,
                    self._numbers(lane.store, ch.alert_id),
                )
            )
        if periodic and lane.open_alerts:
            self._triggered(lane, now)
        cutoff = now - timedelta(hours=lane.settings.resolve_after_hours)
        if lane.open_alerts and min(lane.open_alerts.values()) < cutoff:
            events += self._resolved(lane, now)
        for event in events:
            self.result.events[lane.name].append(event)
            if self.on_event is not None:
                self.on_event(lane.name, event)

    @staticmethod
    def _triggered(lane: Lane, now: datetime) -> None:
        """When each open alert was last triggered (a rule firing again without news touches it silently),
        and whether a spike or spreading alert was triggered just now: then it will be next minute too."""
        assert lane.store is not None
        with lane.store.engine.connect() as conn:
            rows = conn.execute(
                select(Alert.id, Alert.triggered_at).where(
                    and_(Alert.id.in_(list(lane.open_alerts)), Alert.state.in_(("open", "acknowledged")))
                )
            ).all()
        for r in rows:
            lane.open_alerts[r.id] = r.triggered_at
        lane.firing = {
            lane.periodic_open[r.id] for r in rows if r.id in lane.periodic_open and r.triggered_at >= now
        }

    @staticmethod
    def _numbers(store: Store, alert_id: int) -> dict[str, Any]:
        with store.engine.connect() as conn:
            details = conn.execute(select(Alert.details).where(Alert.id == alert_id)).scalar_one_or_none()
        return dict((details or {}).get("numbers") or {})

    @staticmethod
    def _resolved(lane: Lane, now: datetime) -> list[AlertEvent]:
        assert lane.store is not None
        with lane.store.engine.connect() as conn:
            rows = conn.execute(
                select(
                    Alert.id,
                    Alert.rule,
                    Alert.brand,
                    Alert.channel,
                    Alert.severity,
                    Alert.title,
                    Alert.details,
                ).where(and_(Alert.id.in_(list(lane.open_alerts)), Alert.state == "resolved"))
            ).all()
        out = []
        for r in rows:
            del lane.open_alerts[r.id]
            lane.periodic_open.pop(r.id, None)
            numbers = dict((r.details or {}).get("numbers") or {})
            out.append(
                AlertEvent(now, "resolved", r.id, r.rule, r.brand, r.channel, r.severity, r.title, numbers)
            )
        return out


# -- reading the results ------------------------------------------------------------------------------------


def weekly_summary(events: Sequence[AlertEvent]) -> list[str]:
    """Opened alerts per rule and ISO week (Monday's date), one line each, for stderr."""
    counts: Counter[tuple[str, str]] = Counter()
    for e in events:
        if e.event == "opened":
            monday = (e.time - timedelta(days=e.time.weekday())).date().isoformat()
            counts[(e.rule, monday)] += 1
    if not counts:
        return ["no alerts opened"]
    width = max(len(rule) for rule, _ in counts)
    lines = [f"{'rule':<{width}}  week of     opened"]
    for (rule, week), n in sorted(counts.items()):
        lines.append(f"{rule:<{width}}  {week}  {n:>6}")
    totals = Counter(e.rule for e in events if e.event == "opened")
    lines.append("total: " + ", ".join(f"{rule} {n}" for rule, n in sorted(totals.items())))
    return lines


def compare_events(
    a: Sequence[AlertEvent], b: Sequence[AlertEvent], tolerance: timedelta = timedelta(hours=1)
) -> tuple[list[AlertEvent], list[AlertEvent]]:
    """Opened alerts only one side raised: (only in ``a``, only in ``b``).

    Two openings are the same alert when rule, brand and channel agree and they are within ``tolerance``
    of each other (a looser threshold opens the same story a little earlier).
    """
    left = [e for e in a if e.event == "opened"]
    right = [e for e in b if e.event == "opened"]
    used: set[int] = set()
    only_a: list[AlertEvent] = []
    for e in left:
        match = None
        for j, f in enumerate(right):
            if j in used or (f.rule, f.brand, f.channel) != (e.rule, e.brand, e.channel):
                continue
            if abs(f.time - e.time) <= tolerance:
                match = j
                break
        if match is None:
            only_a.append(e)
        else:
            used.add(match)
    only_b = [f for j, f in enumerate(right) if j not in used]
    return only_a, only_b
