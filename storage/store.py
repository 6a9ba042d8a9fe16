"""The store: idempotent writes of mentions, tags, cursors and source health.

Collectors hand over pages; :meth:`Store.save_page` writes the page's mentions and its cursor in one
transaction, so a process killed between pages resumes after the last committed one with nothing lost and
nothing stored twice. Tagging (brand links and sentiment) is a second step that marks ``tagged_at``; mentions
stored but not yet tagged are picked up again by :meth:`Store.untagged` after a restart.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    bindparam,
    create_engine,
    event,
    false,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.pool import StaticPool

from core.clock import now_utc, utc
from core.mention import Mention
from core.scrub import scrub
from storage import migrate
from storage.schema import Cursor, EngagementSnapshot, MentionBrand, MentionRow, SourceHealth
from storage.textnorm import text_hash

__all__ = [
    "BrandLabel",
    "PendingMention",
    "Store",
    "TaggedMention",
    "cluster_query",
    "create_db_engine",
    "now_utc",  # core.clock's, still importable here for the alert modules that read it from storage
    "text_contains",
    "text_search",
    "write_tags",
]

_COUNTERS = ("likes", "reposts", "comments", "views")


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            # SQLite's own lower() folds ASCII only; Russian text search needs Unicode case folding.
            dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)

        return engine
    return create_engine(url, pool_pre_ping=True)


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def text_contains(column: ColumnElement[str] | QueryableAttribute[str], needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match for Cyrillic and Latin alike; ``%`` and ``_`` are literal.

    This reads every candidate row's text; :func:`text_search` answers rare needles from the full-text index.
    """
    return func.lower(column).contains(needle.lower(), autoescape=True)


#: A needle with fewer full-text hits than this is answered from the index: the query starts from the hits.
#: With more, it is common, and the newest-first scan with :func:`text_contains` finds a page of it after a
#: few thousand rows. The bound is also the price of asking on a common needle: on a million mentions it
#: adds ~2 ms to the 19 ms feed search for 'возврат кредит' (2,000 would add ~5 ms).
FTS_MAX_HITS = 500

#: The trigram tokenizer indexes three characters at a time: shorter needles are not in the index.
_FTS_MIN_NEEDLE = 3


def text_search(conn: Connection | None, needle: str) -> ColumnElement[bool]:
    """``mentions.text`` contains ``needle``: :func:`text_contains`'s match, fast on SQLite when it is rare.

    On SQLite with the trigram index of migration 0006, a needle of three or more characters is looked up
    first (at most :data:`FTS_MAX_HITS` hits, on ``conn``); when it has fewer hits, the condition is "the
    mention is one of those hits", and the planner starts from them instead of reading every mention of the
    window (0.7 s for 30 days of a million mentions when nothing matches). A common needle, a short one, no
    index, no ``conn`` or PostgreSQL keep :func:`text_contains`.

    The index folds case with SQLite's own Unicode 6.1 table: the same as Python's ``lower()`` for Russian
    (``ё`` stays ``ё``) and Latin. It also folds ``ſ`` and final ``ς``, and misses later case pairs
    (Cherokee, Georgian Mtavruli, Cyrillic Ԩ-Ԯ) and ``İ``, which only the ``LIKE`` path finds.
    """
    if conn is None or conn.dialect.name != "sqlite" or len(needle) < _FTS_MIN_NEEDLE or not _has_fts(conn):
        return text_contains(MentionRow.text, needle)
    hits = (
        conn.execute(
            text("SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH :phrase LIMIT :n"),
            {"phrase": _fts_phrase(needle), "n": FTS_MAX_HITS},
        )
        .scalars()
        .all()
    )
    if len(hits) >= FTS_MAX_HITS:
        return text_contains(MentionRow.text, needle)
    return MentionRow.id.in_(hits) if hits else false()


def _fts_phrase(needle: str) -> str:
    """``needle`` as one FTS5 phrase: every character literal, so ``AND``, ``*`` or a quote are just text."""
    return '"' + needle.replace('"', '""') + '"'


def _has_fts(conn: Connection) -> bool:
    """Whether migration 0006 created the index (it does not on SQLite older than 3.34)."""
    found = conn.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mentions_fts'")
    ).first()
    return found is not None


@dataclass(frozen=True, slots=True)
class PendingMention:
    """A stored mention that still needs brand matching and sentiment."""

    id: int
    text: str
    channel: str
    published_at: datetime
    counted: bool
    source: str = ""
    author_id: str | None = None


@dataclass(frozen=True, slots=True)
class BrandLabel:
    """The sentiment toward one brand a mention names."""

    brand: str
    label: str
    score: float
    model_version: str


@dataclass(frozen=True, slots=True)
class TaggedMention:
    """The outcome of tagging one pending mention (no links: it named no configured brand)."""

    mention: PendingMention
    links: Sequence[BrandLabel]
    #: The brand whose own account wrote the mention (a reply of the brand: stored, never linked).
    reply_brand: str | None = None


def _row(m: Mention, collected_at: datetime) -> dict[str, Any]:
    return {
        "source": m.source,
        "external_id": m.external_id,
        "channel": m.channel,
        "place": m.place,
        "url": m.url,
        "author": m.author,
        "author_id": m.author_id,
        "author_reach": m.author_reach,
        "text": m.text,
        "text_hash": text_hash(m.text),
        "parent_external_id": m.parent_external_id,
        "published_at": utc(m.published_at),
        "collected_at": utc(m.collected_at or collected_at),
        "likes": m.likes,
        "reposts": m.reposts,
        "comments": m.comments,
        "views": m.views,
        "raw": m.raw or None,
    }


class Store:
    """All reads and writes the pipeline, CLI and collectors need, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> Store:
        """Connect to ``url`` and bring its schema up to date."""
        store = cls(create_db_engine(url))
        if migrate_schema:
            migrate.upgrade(store.engine)
        return store

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    # -- mentions -------------------------------------------------------------------------------------

    def save_page(
        self,
        source: str,
        query: str | None,
        mentions: Sequence[Mention],
        cursor: str | None = None,
    ) -> list[int]:
        """Store ``mentions`` (idempotent by source and external id) and the cursor, atomically.

        Returns the ids of mentions that were new. Mentions already stored get their engagement counters
        refreshed instead, and a snapshot of the counters when they changed.
        """
        with self.engine.begin() as conn:
            new_ids = self._upsert(conn, mentions)
            if query is not None and cursor is not None:
                self._set_cursor(conn, source, query, cursor)
        return new_ids

    def upsert_mentions(self, mentions: Sequence[Mention]) -> list[int]:
        """Store mentions without a cursor (imports, the demo); returns the ids of new ones."""
        return self.save_page("", None, mentions)

    def _upsert(self, conn: Connection, mentions: Sequence[Mention]) -> list[int]:
        if not mentions:
            return []
        now = now_utc()
        # The last copy of a repeated id in one page wins, as it is the freshest.
        unique: dict[tuple[str, str], Mention] = {(m.source, m.external_id): m for m in mentions}
        rows = [_row(m, now) for m in unique.values()]
        if self.dialect == "postgresql":
            inserted = _pg_copy_insert(conn, rows)
        else:
            inserted = _sqlite_bulk_insert(conn, rows)
        new_keys = {(r.source, r.external_id) for r in inserted}
        new_ids = [r.id for r in inserted]
        existing = [m for k, m in unique.items() if k not in new_keys]
        if existing:
            self._refresh_counters(conn, existing, now)
        if inserted:
            self._mark_duplicates(conn, {r.id: r.text_hash for r in inserted})
            self._link_new_threads(conn, new_ids, [(r.source, r.external_id) for r in inserted], unique)
        return sorted(new_ids)

    def _link_new_threads(
        self,
        conn: Connection,
        new_ids: Sequence[int],
        new_keys: Sequence[tuple[str, str]],
        mentions: Mapping[tuple[str, str], Mention],
    ) -> None:
        """Link the threads of freshly inserted mentions (``mentions``: the page by key, for subclasses).

        A method so that a store that knows more about what it holds (the backtest's throwaway store, which
        knows whether any reply was ever stored) can skip look-ups that provably match nothing.
        """
        _link_threads(conn, new_ids, new_keys)

    def _mark_duplicates(self, conn: Connection, new: dict[int, str]) -> None:
        """Point each new copy of an already-stored text at the first stored copy."""
        firsts: dict[str, int] = {}
        for chunk in _chunks(sorted(set(new.values())), 1000):
            q = (
                select(MentionRow.text_hash, func.min(MentionRow.id))
                .where(MentionRow.text_hash.in_(chunk))
                .group_by(MentionRow.text_hash)
            )
            firsts.update({h: i for h, i in conn.execute(q).all()})
        pairs = [{"mid": mid, "dup": firsts[h]} for mid, h in new.items() if firsts[h] != mid]
        if pairs:
            conn.execute(
                update(MentionRow)
                .where(MentionRow.id == bindparam("mid"))
                .values(duplicate_of=bindparam("dup"))
                .execution_options(synchronize_session=False),
                pairs,
            )

    def _refresh_counters(self, conn: Connection, mentions: Iterable[Mention], now: datetime) -> None:
        keyed = {(m.source, m.external_id): m for m in mentions}
        for chunk in _chunks(list(keyed), 400):
            stored = conn.execute(
                select(MentionRow.id, MentionRow.source, MentionRow.external_id, *_counter_cols()).where(
                    tuple_(MentionRow.source, MentionRow.external_id).in_(chunk)
                )
            ).all()
            for row in stored:
                m = keyed[(row.source, row.external_id)]
                fresh = {c: getattr(m, c) for c in _COUNTERS if getattr(m, c) is not None}
                if not fresh or all(getattr(row, c) == v for c, v in fresh.items()):
                    continue
                conn.execute(
                    update(MentionRow)
                    .where(MentionRow.id == row.id)
                    .values(**fresh, engagement_updated_at=now)
                )
                conn.execute(
                    insert(EngagementSnapshot),
                    {"mention_id": row.id, "observed_at": now, **{c: getattr(m, c) for c in _COUNTERS}},
                )

    def update_engagement(
        self,
        source: str,
        external_id: str,
        counters: Mapping[str, int | None],
        observed_at: datetime | None = None,
    ) -> bool:
        """Record fresh counters for a stored mention; ``False`` when it is not stored."""
        observed = observed_at or now_utc()
        values = {c: counters.get(c) for c in _COUNTERS if counters.get(c) is not None}
        with self.engine.begin() as conn:
            mid = conn.execute(
                select(MentionRow.id).where(
                    and_(MentionRow.source == source, MentionRow.external_id == external_id)
                )
            ).scalar_one_or_none()
            if mid is None:
                return False
            if values:
                conn.execute(
                    update(MentionRow)
                    .where(MentionRow.id == mid)
                    .values(**values, engagement_updated_at=observed)
                )
            conn.execute(
                insert(EngagementSnapshot),
                {"mention_id": mid, "observed_at": observed, **{c: counters.get(c) for c in _COUNTERS}},
            )
        return True

    def recent_mentions(self, source: str, since: datetime) -> list[tuple[str, datetime]]:
        """(external id, published_at) of the source's mentions since ``since``: refresh candidates."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(MentionRow.external_id, MentionRow.published_at)
                .where(and_(MentionRow.source == source, MentionRow.published_at >= since))
                .order_by(MentionRow.published_at.desc())
            ).all()
        return [(r[0], r[1]) for r in rows]

    # -- tagging --------------------------------------------------------------------------------------

    def untagged(self, limit: int = 1000) -> list[PendingMention]:
        """Stored mentions not yet tagged, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(_pending_select().order_by(MentionRow.id).limit(limit)).all()
        return [_pending(r) for r in rows]

    def pending_by_ids(self, ids: Sequence[int]) -> list[PendingMention]:
        """The untagged mentions among ``ids``."""
        out: list[PendingMention] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                rows = conn.execute(_pending_select().where(MentionRow.id.in_(chunk))).all()
                out.extend(_pending(r) for r in rows)
        return out

    def keys_of(self, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(source, external id) of stored mentions by id: lets an importer find the rows it just stored."""
        out: dict[int, tuple[str, str]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                rows = conn.execute(
                    select(MentionRow.id, MentionRow.source, MentionRow.external_id).where(
                        MentionRow.id.in_(chunk)
                    )
                ).all()
                out.update({int(r[0]): (r[1], r[2]) for r in rows})
        return out

    def save_tags(self, tagged: Sequence[TaggedMention]) -> None:
        """Store brand links with sentiment and mark the mentions tagged, in one transaction."""
        if not tagged:
            return
        with self.engine.begin() as conn:
            write_tags(conn, tagged, now_utc())

    def cluster_totals(self, root_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        """For each first-stored copy: (mentions in its repost cluster, their summed author reach).

        The index counts a cluster once; its audience is everyone who saw any copy.
        """
        out: dict[int, tuple[int, int]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(root_ids)), 500):
                rows = conn.execute(cluster_query(chunk)).all()
                out.update({int(r[0]): (int(r[1]), int(r[2] or 0)) for r in rows})
        return out

    def correct_label(self, mention_id: int, brand: str, label: str) -> None:
        """A person's correction: wins in the index and becomes training data."""
        if label not in ("negative", "neutral", "positive"):
            raise ValueError(f"label must be negative, neutral or positive, not {label!r}")
        with self.engine.begin() as conn:
            res = conn.execute(
                update(MentionBrand)
                .where(and_(MentionBrand.mention_id == mention_id, MentionBrand.brand == brand))
                .values(corrected_label=label, corrected_at=now_utc())
            )
            if res.rowcount == 0:
                raise KeyError(f"mention {mention_id} is not linked to brand {brand!r}")

    def corrections(self) -> list[tuple[str, str, str]]:
        """(text, label, target brand) for every corrected label: a team's own training data."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(MentionRow.text, MentionBrand.corrected_label, MentionBrand.brand)
                .join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
                .where(MentionBrand.corrected_label.is_not(None))
                .order_by(MentionBrand.corrected_at)
            ).all()
        return [(r[0], r[1] or "", r[2]) for r in rows]

    def mark_handled(self, mention_id: int, handled: bool = True) -> None:
        """Mark a mention answered or dealt with (or undo it)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(MentionRow)
                .where(MentionRow.id == mention_id)
                .values(handled_at=now_utc() if handled else None)
            )

    # -- cursors --------------------------------------------------------------------------------------

    def get_cursor(self, source: str, query: str) -> str | None:
        """The cursor stored for (source, query), if any."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(Cursor.value).where(and_(Cursor.source == source, Cursor.query == query))
            ).scalar_one_or_none()

    def set_cursor(self, source: str, query: str, value: str) -> None:
        """Store a cursor on its own (a page with no mentions still moves it)."""
        with self.engine.begin() as conn:
            self._set_cursor(conn, source, query, value)

    def _set_cursor(self, conn: Connection, source: str, query: str, value: str) -> None:
        ins: Any = postgresql.insert(Cursor) if self.dialect == "postgresql" else sqlite.insert(Cursor)
        now = now_utc()
        conn.execute(
            ins.values(source=source, query=query, value=value, updated_at=now).on_conflict_do_update(
                index_elements=["source", "query"], set_={"value": value, "updated_at": now}
            )
        )

    # -- source health --------------------------------------------------------------------------------

    def record_success(self, source: str, mentions: int = 0) -> None:
        """A poll of ``source`` worked: clear its failure streak."""
        self._health(source, success=True, mentions=mentions)

    def record_failure(self, source: str, error: str, *, auth: bool = False) -> None:
        """A poll of ``source`` failed with ``error`` (already free of secrets)."""
        self._health(source, success=False, error=error, auth=auth)

    def _health(
        self, source: str, *, success: bool, mentions: int = 0, error: str | None = None, auth: bool = False
    ) -> None:
        now = now_utc()
        with self.engine.begin() as conn:
            row = conn.execute(select(SourceHealth).where(SourceHealth.source == source)).first()
            if row is None:
                conn.execute(
                    insert(SourceHealth),
                    {
                        "source": source,
                        "consecutive_failures": 0,
                        "auth_failed": False,
                        "mentions_total": 0,
                    },
                )
            values: dict[str, Any]
            if success:
                values = {
                    "last_success_at": now,
                    "consecutive_failures": 0,
                    "auth_failed": False,
                    "mentions_total": SourceHealth.mentions_total + mentions,
                }
            else:
                values = {
                    "last_error_at": now,
                    "last_error": scrub(error) if error else error,
                    "consecutive_failures": SourceHealth.consecutive_failures + 1,
                    "auth_failed": auth,
                }
            conn.execute(update(SourceHealth).where(SourceHealth.source == source).values(**values))

    def source_health(self) -> list[SourceHealth]:
        """Every source's health row."""
        from sqlalchemy.orm import Session

        with Session(self.engine) as session:
            rows = list(session.scalars(select(SourceHealth).order_by(SourceHealth.source)))
            session.expunge_all()
        return rows

    def counts(self) -> dict[str, int]:
        """Totals for ``status``: mentions, tagged, untagged, brand links."""
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(MentionRow)).scalar_one()
            untagged = conn.execute(
                select(func.count()).select_from(MentionRow).where(MentionRow.tagged_at.is_(None))
            ).scalar_one()
            links = conn.execute(select(func.count()).select_from(MentionBrand)).scalar_one()
        return {"mentions": total, "untagged": untagged, "brand_links": links}


def write_tags(
    conn: Connection, tagged: Sequence[TaggedMention], now: datetime, *, only_untagged: bool = False
) -> int:
    """Store brand links with sentiment and mark the mentions tagged, in the caller's transaction.

    Returns how many mentions were marked. With ``only_untagged`` only mentions not tagged yet are marked,
    so a worker holding its claimed batch's row locks can check that it labelled each of them first.
    :meth:`Store.save_tags` and the workers share this one write.
    """
    if not tagged:
        return 0
    links = [
        {
            "mention_id": t.mention.id,
            "brand": link.brand,
            "channel": t.mention.channel,
            "published_at": t.mention.published_at,
            "label": link.label,
            "score": link.score,
            "model_version": link.model_version,
            "counted": t.mention.counted,
        }
        for t in tagged
        for link in t.links
    ]
    ins: Any = (
        postgresql.insert(MentionBrand) if conn.dialect.name == "postgresql" else sqlite.insert(MentionBrand)
    )
    if links:
        conn.execute(ins.on_conflict_do_nothing(index_elements=["mention_id", "brand"]), links)
    marked = 0
    for chunk in _chunks([t.mention.id for t in tagged], 500):
        res = conn.execute(
            update(MentionRow)
            .where(
                and_(MentionRow.id.in_(chunk), MentionRow.tagged_at.is_(None))
                if only_untagged
                else MentionRow.id.in_(chunk)
            )
            .values(tagged_at=now)
        )
        marked += int(res.rowcount or 0)
    replies = [{"mid": t.mention.id, "brand": t.reply_brand} for t in tagged if t.reply_brand]
    if replies:
        conn.execute(
            update(MentionRow)
            .where(MentionRow.id == bindparam("mid"))
            .values(reply_brand=bindparam("brand"))
            .execution_options(synchronize_session=False),
            replies,
        )
    return marked


_SET_AFTER_INSERT = frozenset(
    {"id", "duplicate_of", "tagged_at", "engagement_updated_at", "handled_at", "parent_id", "reply_brand"}
)
#: The ``mentions`` columns a new row is inserted with (what :func:`_row` fills), in table order: read from
#: the schema, so a column added to :class:`~storage.schema.MentionRow` cannot be forgotten here.
_COPY_COLUMNS = tuple(c.name for c in MentionRow.__table__.columns if c.name not in _SET_AFTER_INSERT)


def _pg_copy_insert(conn: Connection, rows: list[dict[str, Any]]) -> list[Any]:
    """Bulk insert on PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING.

    Many times faster than multi-row VALUES for large pages, and still idempotent and in the caller's
    transaction (the raw driver connection is the one SQLAlchemy holds).
    """

    cols = ", ".join(_COPY_COLUMNS)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS _mentions_in ON COMMIT DELETE ROWS AS "
            f"SELECT {cols} FROM mentions WITH NO DATA"
        )
        cur.execute("TRUNCATE _mentions_in")
        with cur.copy(f"COPY _mentions_in ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_pg_copy_value(c, row[c]) for c in _COPY_COLUMNS])
        cur.execute(
            f"INSERT INTO mentions ({cols}) SELECT {cols} FROM _mentions_in "
            "ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id, text_hash"
        )
        return [_Inserted(*r) for r in cur.fetchall()]


def _pg_copy_value(column: str, value: Any) -> Any:
    """A value as COPY takes it: ``raw`` as JSON text, everything else as it is."""
    if column == "raw" and value is not None:
        return json.dumps(value, ensure_ascii=False)
    return value


def _sqlite_bulk_insert(conn: Connection, rows: list[dict[str, Any]]) -> list[_Inserted]:
    """Bulk insert on SQLite: multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` through the driver.

    SQLAlchemy's per-row parameter handling took a fifth of the store-only time, as much as keeping the
    full-text index (migration 0006) adds; here the values go to the driver as SQLAlchemy stores them
    (times naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``, ``raw`` as JSON text, ``null`` for none), in the
    caller's transaction, as many rows per statement as SQLite takes parameters.
    """
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    per_statement = max(1, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(_COPY_COLUMNS))
    marks = "(" + ", ".join("?" * len(_COPY_COLUMNS)) + ")"
    convert = [(c, _SQLITE_CONVERT.get(c)) for c in _COPY_COLUMNS]
    out: list[_Inserted] = []
    for chunk in _chunks(rows, per_statement):
        params = [f(row[c]) if f else row[c] for row in chunk for c, f in convert]
        cur = raw.execute(
            f"INSERT INTO mentions ({', '.join(_COPY_COLUMNS)}) VALUES {', '.join([marks] * len(chunk))} "
            "ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id, text_hash",
            params,
        )
        out.extend(_Inserted(*r) for r in cur.fetchall())
    return out


def _sqlite_time(value: datetime) -> str:
    """An aware time as :class:`~storage.schema.UTCDateTime` stores it on SQLite: UTC, no offset written."""
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _sqlite_json(value: Any) -> str:
    """``raw`` as SQLAlchemy's JSON type writes it; most mentions have none."""
    return "null" if value is None else json.dumps(value)


_SQLITE_CONVERT: dict[str, Any] = {
    "published_at": _sqlite_time,
    "collected_at": _sqlite_time,
    "raw": _sqlite_json,
}


@dataclass(frozen=True, slots=True)
class _Inserted:
    id: int
    source: str
    external_id: str
    text_hash: str


def _pending_select() -> Any:
    """What tagging needs of each stored-but-untagged mention."""
    return select(
        MentionRow.id,
        MentionRow.text,
        MentionRow.channel,
        MentionRow.published_at,
        MentionRow.duplicate_of,
        MentionRow.source,
        MentionRow.author_id,
    ).where(MentionRow.tagged_at.is_(None))


def _pending(row: Any) -> PendingMention:
    return PendingMention(
        row.id, row.text, row.channel, row.published_at, row.duplicate_of is None, row.source, row.author_id
    )


def _link_threads(conn: Connection, new_ids: Sequence[int], new_keys: Sequence[tuple[str, str]]) -> None:
    """Resolve ``parent_id`` both ways for freshly inserted mentions, whichever half of a thread came first.

    A new reply points at its stored parent; stored replies that waited for this parent (collected before
    it: a comment page read before the post, an import in any order) now point at it. Both are index
    look-ups (``ix_mentions_parent_external``, the unique key), one statement per chunk.
    """
    up = _PARENT
    parent = (
        select(up.c.id)
        .where(up.c.source == MentionRow.source, up.c.external_id == MentionRow.parent_external_id)
        .scalar_subquery()
    )
    for ids in _chunks(list(new_ids), 500):
        conn.execute(
            update(MentionRow)
            .where(
                MentionRow.id.in_(ids),
                MentionRow.parent_external_id.is_not(None),
                MentionRow.parent_id.is_(None),
            )
            .values(parent_id=parent)
            .execution_options(synchronize_session=False)
        )
    by_source: dict[str, list[str]] = {}
    for source, external_id in new_keys:
        by_source.setdefault(source, []).append(external_id)
    for source, external_ids in by_source.items():
        for chunk in _chunks(external_ids, 500):
            conn.execute(
                update(MentionRow)
                .where(
                    MentionRow.source == source,
                    MentionRow.parent_external_id.in_(chunk),
                    MentionRow.parent_id.is_(None),
                )
                .values(parent_id=parent)
                .execution_options(synchronize_session=False)
            )


def _counter_cols() -> list[Any]:
    return [getattr(MentionRow, c) for c in _COUNTERS]


def cluster_query(roots: Sequence[int]) -> Select[int, int, int | None]:
    """(root, copies, summed reach) of the repost clusters of ``roots``: the roots and their copies.

    Both halves of the ``OR`` are index look-ups (the primary key, and the partial index over copies from
    migration 0007), never a scan of the mentions.
    """
    root = func.coalesce(MentionRow.duplicate_of, MentionRow.id)
    return (
        select(root, func.count(), func.coalesce(func.sum(MentionRow.author_reach), 0))
        .where(MentionRow.id.in_(roots) | MentionRow.duplicate_of.in_(roots))
        .group_by(root)
    )


#: ``mentions`` under another name, so the thread update can look up the parent in the same table.
_PARENT = MentionRow.__table__.alias("parent")


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
