"""The alert engine: runs the resonance rules over stored mentions and writes alerts with their outbox rows.

The pipeline calls :meth:`AlertEngine.evaluate` with the ids of each tagged batch (text rules: escalation,
repeat complainers, recurring problems, and spreading of the batch's stories) and
:meth:`AlertEngine.evaluate_periodic` every minute or so (time rules: negative spikes, spreading by
engagement growth, index drops, resolving stale alerts). Both take ``now``, so a replayed stream drives the
engine on its own clock::

    engine = AlertEngine(store, config)
    for batch_ids, stream_now in replay:
        engine.evaluate(batch_ids, stream_now)
        engine.evaluate_periodic(stream_now)

Only our own brands alert unless ``alerts.competitor_alerts`` is set. Repost copies (``duplicate_of``) are
collapsed onto their first copy everywhere: they count as spreading, never as more complaints.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, true, tuple_
from sqlalchemy.engine import Connection

from alerts.lifecycle import AlertChange, Candidate, raise_alert, resolve_stale
from alerts.rules import jaccard, quantile, reach_factor, spike_test, weighted_engagement
from alerts.settings import AlertsSettings, Severity
from core.text import TermMatcher, normal_forms, tokens
from loyalty_index.index import index_window
from loyalty_monitor.config import Config
from storage.schema import Alert, EngagementSnapshot, IndexHourly, MentionBrand, MentionRow
from storage.store import Store, now_utc

__all__ = ["AlertChange", "AlertEngine"]

log = logging.getLogger(__name__)

_KIND_RU = {"regulator": "регулятор", "media": "СМИ", "ceo": "руководство", "demand": "требование"}


@dataclass(frozen=True, slots=True)
class _Link:
    id: int
    brand: str
    channel: str
    label: str
    counted: bool
    text: str
    author: str | None
    reach: int | None
    url: str | None
    published_at: datetime
    duplicate_of: int | None
    source: str
    parent_external_id: str | None

    @property
    def root(self) -> int:
        return self.duplicate_of or self.id


@dataclass(frozen=True, slots=True)
class _Recent:
    id: int
    author: str | None
    thread: str
    channel: str
    published_at: datetime
    tokens: frozenset[str]


def _chunks(items: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class AlertEngine:
    """Evaluates the rules configured in ``config.alerts`` against ``store``.

    ``clock`` supplies ``now`` when a caller passes none. The engine keeps small caches (normal-form
    token sets, channel baselines) but no state that matters across restarts: everything it decided is
    in the ``alerts`` and ``alert_deliveries`` tables.
    """

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime] = now_utc) -> None:
        self.store = store
        self.config = config
        self.settings: AlertsSettings = config.alerts
        self.clock = clock
        self.brands = [b.name for b in config.brands if b.own or self.settings.competitor_alerts]
        esc = self.settings.escalation_terms
        self._matchers: dict[str, TermMatcher] = {}
        for brand in config.brands:
            people = list(brand.people)
            people += [p.split()[-1] for p in brand.people if len(p.split()) > 1]  # the surname alone
            self._matchers[brand.name] = TermMatcher(
                {
                    "regulator": esc.regulators,
                    "media": esc.media,
                    "ceo": people,
                    "demand": [*esc.demands, *esc.extra_terms],
                }
            )
        self._brand_words = {
            w for b in config.brands for name in b.all_names() for t in tokens(name) for w in normal_forms(t)
        }
        self._token_sets: dict[int, frozenset[str]] = {}
        self._usual: dict[str, tuple[datetime, float]] = {}
        self._last_index_check: datetime | None = None
        self._first: dict[str, datetime | None] = {}
        # The pipeline calls evaluate() and the scheduler evaluate_periodic() from different threads; one
        # story must not be opened twice by both at once.
        self._lock = threading.Lock()

    # -- entry points -----------------------------------------------------------------------------------

    def evaluate(self, new_mention_ids: Sequence[int], now: datetime | None = None) -> list[AlertChange]:
        """Run the per-mention rules on a freshly tagged batch; returns what changed."""
        if not self.settings.enabled or not self.brands or not new_mention_ids:
            return []
        now = now or self.clock()
        links = self._links(new_mention_ids)
        negative = [lk for lk in links if lk.label == "negative"]
        cands: list[Candidate] = []
        with self.store.engine.connect() as conn:
            if self.settings.escalation_terms.enabled:
                cands += self._escalation(conn, negative)
            if self.settings.repeat_complainer.enabled:
                cands += self._repeat_complainers(conn, [lk for lk in negative if lk.counted], now)
            cands += self._text_rules(conn, [lk for lk in negative if lk.counted], now)
            if self.settings.engagement_growth.enabled:
                roots = sorted({lk.root for lk in negative})
                cands += self._spread(conn, now, roots)
        return self._apply(cands, now)

    def evaluate_periodic(self, now: datetime | None = None) -> list[AlertChange]:
        """Run the time-based rules (spikes, spreading, index drop) and resolve stale alerts."""
        if not self.settings.enabled or not self.brands:
            return []
        now = now or self.clock()
        resolve_stale(self.store, self.settings, now)
        cands: list[Candidate] = []
        with self.store.engine.connect() as conn:
            if self.settings.negative_spike.enabled:
                cands += self._spikes(conn, now)
            if self.settings.engagement_growth.enabled:
                cands += self._spread(conn, now, None)
        if self.settings.index_drop.enabled and (
            self._last_index_check is None or now - self._last_index_check >= timedelta(hours=1)
        ):
            self._last_index_check = now
            cands += self._index_drops(now)
        return self._apply(cands, now)

    def _apply(self, cands: Sequence[Candidate], now: datetime) -> list[AlertChange]:
        changes: list[AlertChange] = []
        if not cands:
            return changes
        with self._lock, self.store.engine.begin() as conn:
            for cand in cands:
                change = raise_alert(conn, cand, self.settings, now)
                if change is not None:
                    changes.append(change)
        for ch in changes:
            log.info("alert %s #%s v%s %s: %s", ch.kind, ch.alert_id, ch.version, ch.severity, ch.title)
        return changes

    # -- loading ----------------------------------------------------------------------------------------

    def _link_query(self) -> Any:
        label = func.coalesce(MentionBrand.corrected_label, MentionBrand.label)
        return (
            select(
                MentionBrand.mention_id,
                MentionBrand.brand,
                MentionBrand.channel,
                label,
                MentionBrand.counted,
                MentionRow.text,
                MentionRow.author,
                MentionRow.author_reach,
                MentionRow.url,
                MentionRow.published_at,
                MentionRow.duplicate_of,
                MentionRow.source,
                MentionRow.parent_external_id,
            )
            .join(MentionRow, MentionRow.id == MentionBrand.mention_id)
            .where(MentionBrand.brand.in_(self.brands))
        )

    def _links(self, ids: Sequence[int]) -> list[_Link]:
        out: list[_Link] = []
        with self.store.engine.connect() as conn:
            for chunk in _chunks(sorted(set(ids))):
                rows = conn.execute(self._link_query().where(MentionBrand.mention_id.in_(chunk))).all()
                out.extend(_Link(*r) for r in rows)
        return out

    def _stories(self, conn: Connection, links: Sequence[_Link]) -> dict[int, tuple[int, str | None, str]]:
        """Mention id -> (story root id, root author, root channel).

        Repost copies go onto their original, replies and comments onto the post they answer
        (``parent_external_id``, up to three levels).

        A story is what PR handles as one case: the loud post, its reposts and the pile-on under it.
        """
        roots = {lk.id: lk.root for lk in links}
        pending: dict[int, tuple[str, str]] = {
            lk.id: (lk.source, lk.parent_external_id) for lk in links if lk.parent_external_id
        }
        for _ in range(3):
            if not pending:
                break
            keys = sorted(set(pending.values()))
            found: dict[tuple[str, str], Any] = {}
            for start in range(0, len(keys), 400):
                for r in conn.execute(
                    select(
                        MentionRow.id,
                        MentionRow.source,
                        MentionRow.external_id,
                        MentionRow.duplicate_of,
                        MentionRow.parent_external_id,
                        MentionRow.author,
                    ).where(tuple_(MentionRow.source, MentionRow.external_id).in_(keys[start : start + 400]))
                ).all():
                    found[(r.source, r.external_id)] = r
            nxt: dict[int, tuple[str, str]] = {}
            for mid, key in pending.items():
                parent = found.get(key)
                if parent is None:
                    continue
                roots[mid] = parent.duplicate_of or parent.id
                if parent.parent_external_id:
                    nxt[mid] = (parent.source, parent.parent_external_id)
            pending = nxt
        info: dict[int, tuple[str | None, str]] = {}
        for chunk in _chunks(sorted(set(roots.values()))):
            for rid, author, channel in conn.execute(
                select(MentionRow.id, MentionRow.author, MentionRow.channel).where(MentionRow.id.in_(chunk))
            ).all():
                info[rid] = (author, channel)
        return {mid: (root, *info.get(root, (None, ""))) for mid, root in roots.items()}

    def _top(self, conn: Connection, ids: Iterable[int]) -> list[dict[str, Any]]:
        """The alert's mentions to show: roots only, with their copies counted, biggest reach first."""
        wanted = sorted(set(ids))[-500:]
        if not wanted:
            return []
        rows = conn.execute(
            select(
                MentionRow.id,
                MentionRow.text,
                MentionRow.url,
                MentionRow.author,
                MentionRow.author_reach,
                MentionRow.channel,
                MentionRow.published_at,
            ).where(MentionRow.id.in_(wanted))
        ).all()
        copies = dict(
            conn.execute(
                select(MentionRow.duplicate_of, func.count())
                .where(MentionRow.duplicate_of.in_(wanted))
                .group_by(MentionRow.duplicate_of)
            ).all()
        )
        top = [
            {
                "id": r.id,
                "text": r.text[:1000],
                "url": r.url,
                "author": r.author,
                "reach": r.author_reach,
                "channel": r.channel,
                "published_at": r.published_at.isoformat(),
                "copies": int(copies.get(r.id, 0)),
            }
            for r in rows
        ]
        top.sort(key=lambda m: (-(m["reach"] or 0) * (1 + m["copies"]), -m["id"]))
        return top[: self.settings.top_mentions]

    # -- escalation -------------------------------------------------------------------------------------

    def _escalation(self, conn: Connection, negative: Sequence[_Link]) -> list[Candidate]:
        rule = self.settings.escalation_terms
        out: list[Candidate] = []
        stories = self._stories(conn, negative)
        seen: set[tuple[str, int]] = set()
        for lk in negative:
            if (lk.brand, lk.root) in seen:
                continue
            seen.add((lk.brand, lk.root))
            root, root_author, root_channel = stories[lk.id]
            found = self._matchers[lk.brand].find(lk.text)
            kinds = [k for k in ("regulator", "media", "ceo", "demand") if k in found]
            serious = [k for k in kinds if k != "demand"]
            if not serious and "demand" not in kinds:
                continue
            if lk.channel in rule.news_channels and len(kinds) < rule.news_min_kinds:
                continue  # an article naming the regulator is news, not a complaint escalating
            severity: Severity = "info"
            if serious:
                severity = "critical" if len(kinds) >= rule.critical_kinds else "warning"
            # One case per complainer: her later posts, their reposts and the comments under them update it.
            story = f"author:{root_author}" if root_author else f"mention:{root}"
            named = ", ".join(_KIND_RU[k] for k in kinds)
            out.append(
                Candidate(
                    rule="escalation_terms",
                    brand=lk.brand,
                    channel=root_channel or lk.channel,
                    key=story,
                    severity=severity,
                    title=f"{lk.brand}: жалоба с эскалацией ({named})",
                    summary=f"Негативное упоминание называет: {named}.",
                    numbers={
                        "kinds": len(kinds),
                        **{f"{k}_terms": ", ".join(found[k]) for k in kinds},
                        "author_reach": lk.reach or 0,
                    },
                    mention_ids=sorted({root, lk.root}),
                    magnitude=float(len(kinds)),
                    top=self._top(conn, sorted({root, lk.root})),
                )
            )
        return out

    # -- repeat complainers ---------------------------------------------------------------------------

    def _repeat_complainers(
        self, conn: Connection, negative: Sequence[_Link], now: datetime
    ) -> list[Candidate]:
        rule = self.settings.repeat_complainer
        label = func.coalesce(MentionBrand.corrected_label, MentionBrand.label)
        out: list[Candidate] = []
        ambiguous = re.compile(rule.ambiguous_author_pattern) if rule.ambiguous_author_pattern else None
        for brand, author in sorted({(lk.brand, lk.author) for lk in negative if lk.author}):
            if ambiguous is not None and ambiguous.fullmatch(author):
                continue  # "Светлана К." on a review site is many people, not one complainer
            rows = conn.execute(
                select(MentionRow.id, MentionRow.parent_external_id, MentionRow.channel)
                .join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
                .where(
                    and_(
                        MentionRow.author == author,
                        MentionBrand.brand == brand,
                        MentionBrand.counted.is_(True),
                        label == "negative",
                        MentionBrand.published_at >= now - timedelta(days=rule.days),
                        MentionBrand.published_at <= now,
                    )
                )
            ).all()
            # Comments in one thread are one complaint: count threads (own posts, or the post answered).
            threads = {r.parent_external_id or f"#{r.id}" for r in rows}
            if len(threads) < rule.complaints:
                continue
            everything = conn.execute(
                select(func.count())
                .select_from(MentionRow)
                .join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
                .where(
                    and_(
                        MentionRow.author == author,
                        MentionBrand.brand == brand,
                        MentionBrand.counted.is_(True),
                        MentionBrand.published_at >= now - timedelta(days=rule.days),
                        MentionBrand.published_at <= now,
                    )
                )
            ).scalar_one()
            if len(rows) < rule.min_negative_share * everything:
                continue  # a prolific author with mixed feelings, not an unhappy customer
            ids = sorted(r.id for r in rows)
            channels = sorted({r.channel for r in rows})
            out.append(
                Candidate(
                    rule="repeat_complainer",
                    brand=brand,
                    channel=channels[0] if len(channels) == 1 else None,
                    key=f"author:{author}",
                    quiet_hours=rule.days * 24,
                    severity="critical" if len(threads) >= 2 * rule.complaints else "warning",
                    title=f"{brand}: {author} жалуется снова ({len(threads)} раз за {rule.days:g} дн.)",
                    summary="Повторные жалобы одного автора: закройте вопрос, пока он не ушёл выше.",
                    numbers={"complaints": len(threads), "days": rule.days, "channels": ", ".join(channels)},
                    mention_ids=ids,
                    magnitude=float(len(threads)),
                    top=self._top(conn, ids),
                )
            )
        return out

    # -- recurring problems ---------------------------------------------------------------------------

    def _tokens_of(self, mention_id: int, text: str) -> frozenset[str]:
        cached = self._token_sets.get(mention_id)
        if cached is None:
            words = set()
            for t in tokens(text):
                if len(t) < 3 or t.isdigit():
                    continue
                forms = normal_forms(t)
                if forms & self._brand_words:
                    continue
                words.add(min(forms))
            cached = frozenset(words)
            if len(self._token_sets) > 50_000:
                self._token_sets.clear()
            self._token_sets[mention_id] = cached
        return cached

    def _recent_negative(self, conn: Connection, brand: str, now: datetime, days: float) -> list[_Recent]:
        """The brand's counted negative mentions of the last ``days``, newest first, with token sets."""
        label = func.coalesce(MentionBrand.corrected_label, MentionBrand.label)
        rows = conn.execute(
            select(
                MentionRow.id,
                MentionRow.text,
                MentionRow.author,
                MentionRow.channel,
                MentionRow.published_at,
                MentionRow.parent_external_id,
            )
            .join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
            .where(
                and_(
                    MentionBrand.brand == brand,
                    MentionBrand.counted.is_(True),
                    label == "negative",
                    MentionBrand.published_at >= now - timedelta(days=days),
                    MentionBrand.published_at <= now,
                )
            )
            .order_by(MentionBrand.published_at.desc())
            .limit(self.settings.recurring_problem.max_candidates)
        ).all()
        return [
            _Recent(
                r.id,
                r.author,
                r.parent_external_id or f"#{r.id}",
                r.channel,
                r.published_at,
                self._tokens_of(r.id, r.text),
            )
            for r in rows
        ]

    def _first_seen(self, conn: Connection, brand: str) -> datetime | None:
        """When the brand's first link was published (cached: history only grows backwards by imports)."""
        if self._first.get(brand) is None:  # not cached, or no links yet: ask again
            self._first[brand] = conn.execute(
                select(func.min(MentionBrand.published_at)).where(MentionBrand.brand == brand)
            ).scalar_one_or_none()
        return self._first[brand]

    def _contains(self, text: frozenset[str], original: frozenset[str]) -> bool:
        """``text`` carries (nearly) every word of a long ``original``: a repost with a comment, a forward,
        a syndicated copy. Short originals never qualify: one common sentence is not a copy."""
        rule = self.settings.copies_across_channels
        return len(original) >= rule.min_words and len(text & original) >= rule.containment * len(original)

    def _text_rules(self, conn: Connection, negative: Sequence[_Link], now: datetime) -> list[Candidate]:
        """Recurring problems and copies across channels: both compare a new complaint with recent ones."""
        rec = self.settings.recurring_problem
        cop = self.settings.copies_across_channels
        if not (rec.enabled or cop.enabled):
            return []
        out: list[Candidate] = []
        by_brand: dict[str, list[_Link]] = defaultdict(list)
        for lk in negative:
            by_brand[lk.brand].append(lk)
        for brand, fresh in by_brand.items():
            first = self._first_seen(conn, brand)
            # Without a full baseline every common complaint looks new: wait until there is one.
            rec_ready = first is not None and now - first >= timedelta(days=rec.days + rec.baseline_days)
            recent = self._recent_negative(conn, brand, now, rec.days + rec.baseline_days)
            rec_cut = now - timedelta(days=rec.days)
            cop_cut = now - timedelta(hours=cop.hours)
            window = [r for r in recent if r.published_at >= rec_cut]
            before = [r for r in recent if r.published_at < rec_cut]
            done_rec: set[int] = set()
            done_cop: set[int] = set()
            for lk in fresh:
                mine = self._tokens_of(lk.id, lk.text)
                if cop.enabled and lk.id not in done_cop:
                    near = [r for r in recent if r.published_at >= cop_cut]
                    originals = [r for r in near if r.id == lk.id or self._contains(mine, r.tokens)]
                    if originals:
                        root = min(originals, key=lambda r: (r.published_at, r.id))
                        cluster = [
                            root,
                            *(r for r in near if r.id != root.id and self._contains(r.tokens, root.tokens)),
                        ]
                        done_cop.update(r.id for r in cluster)
                        cand = self._copies_candidate(conn, brand, cluster)
                        if cand is not None:
                            out.append(cand)
                if rec.enabled and rec_ready and lk.id not in done_rec and len(mine) >= 3:

                    def alike(r: _Recent, mine: frozenset[str] = mine, me: int = lk.id) -> bool:
                        if r.id == me:
                            return True
                        copy = self._contains(mine, r.tokens) or self._contains(r.tokens, mine)
                        return not copy and jaccard(mine, r.tokens) >= rec.similarity

                    similar = [r for r in window if alike(r)]
                    done_rec.update(r.id for r in similar)
                    earlier = {r.thread for r in before if alike(r)}
                    cand = self._recurring_candidate(conn, brand, similar, len(earlier), now)
                    if cand is not None:
                        out.append(cand)
        return out

    def _recurring_candidate(
        self,
        conn: Connection,
        brand: str,
        similar: Sequence[_Recent],
        earlier_authors: int,
        now: datetime,
    ) -> Candidate | None:
        """An alert when a problem is new or rising: complaints people always make are the baseline."""
        rule = self.settings.recurring_problem
        # Distinct threads by distinct people: a pile-on under one post is one story, not a pattern.
        threads: dict[str, str] = {}
        for r in similar:
            threads.setdefault(r.thread, r.author or f"#{r.id}")
        authors = set(threads.values())
        expected = earlier_authors * rule.days / rule.baseline_days
        if len(authors) < rule.min_authors or len(authors) < rule.rise * max(expected, 1.0):
            return None
        ids = sorted(r.id for r in similar)
        # A stable name for the problem: its most shared words. Next week's complaints about the same
        # thing update this alert instead of opening another.
        counts: dict[str, int] = defaultdict(int)
        for r in similar:
            for w in r.tokens:
                counts[w] += 1
        signature = sorted(sorted(counts, key=lambda w: (-counts[w], w))[:4])
        key = self._known_problem(conn, brand, ids, now) or "words:" + "+".join(signature)
        return Candidate(
            rule="recurring_problem",
            brand=brand,
            channel=None,
            key=key,
            quiet_hours=rule.baseline_days * 24,
            severity="warning",
            title=f"{brand}: повторяющаяся проблема ({len(authors)} авт. за {rule.days:g} дн.)",
            summary="Похожие жалобы разных людей: это проблема, а не один клиент.",
            numbers={
                "authors": len(authors),
                "mentions": len(ids),
                "words": ", ".join(signature),
                "expected_authors": round(expected, 1),
                "similarity": rule.similarity,
            },
            mention_ids=ids,
            magnitude=float(len(authors)),
            top=self._top(conn, ids),
        )

    def _known_problem(self, conn: Connection, brand: str, ids: Sequence[int], now: datetime) -> str | None:
        """The key of a recurring problem already reported that shares a quarter of ``ids``, if any.

        The most shared words of a cluster depend on which complaint seeded it, so one app failure told
        in a hundred ways would otherwise open a dozen alerts with different names. Complaints already in
        an alert of the last ``baseline_days`` mean the same problem: update that alert.
        """
        rule = self.settings.recurring_problem
        mine = set(ids)
        prefix = f"recurring_problem:{brand}:*:"
        rows = conn.execute(
            select(Alert.dedup_key, Alert.mention_ids)
            .where(
                and_(
                    Alert.rule == "recurring_problem",
                    Alert.brand == brand,
                    Alert.triggered_at >= now - timedelta(days=rule.baseline_days),
                )
            )
            .order_by(Alert.id)
        ).all()
        for dedup_key, stored in rows:
            known = set((stored or {}).get("ids") or [])
            if dedup_key.startswith(prefix) and len(mine & known) * 4 >= len(mine):
                return str(dedup_key[len(prefix) :])
        return None

    def _copies_candidate(self, conn: Connection, brand: str, cluster: Sequence[_Recent]) -> Candidate | None:
        rule = self.settings.copies_across_channels
        if len(cluster) < 2:
            return None
        ordered = sorted(cluster, key=lambda r: (r.published_at, r.id))
        root = ordered[0]
        copies = [r for r in ordered[1:] if r.author is None or r.author != root.author]
        exact = conn.execute(
            select(func.count())
            .select_from(MentionRow)
            .where(MentionRow.duplicate_of.in_([r.id for r in ordered]))
        ).scalar_one()
        n_copies = len(copies) + int(exact)
        if n_copies < rule.min_copies:
            return None
        channels = sorted({r.channel for r in ordered})
        ids = [r.id for r in ordered]
        return Candidate(
            rule="copies_across_channels",
            brand=brand,
            channel=root.channel if len(channels) == 1 else None,
            key=f"mention:{root.id}",
            quiet_hours=rule.hours,
            severity="critical" if n_copies >= rule.critical_copies else "warning",
            title=f"{brand}: жалобу копируют ({n_copies} копий, каналы: {', '.join(channels)})",
            summary="Одну и ту же жалобу перепечатывают другие авторы и каналы: она расходится.",
            numbers={"copies": n_copies, "channels": len(channels), "channel_list": ", ".join(channels)},
            mention_ids=ids,
            magnitude=float(n_copies),
            top=self._top(conn, ids),
        )

    # -- spreading ----------------------------------------------------------------------------------------

    def _usual_growth(self, conn: Connection, channel: str, now: datetime) -> float:
        """A high quantile of per-hour weighted engagement of the channel's mentions: its "usual"."""
        rule = self.settings.engagement_growth
        cached = self._usual.get(channel)
        if cached is not None and timedelta(0) <= now - cached[0] < timedelta(hours=6):
            return cached[1]
        rows = conn.execute(
            select(
                MentionRow.reposts,
                MentionRow.comments,
                MentionRow.views,
                MentionRow.author_reach,
                MentionRow.published_at,
            )
            .where(
                and_(
                    MentionRow.channel == channel,
                    MentionRow.duplicate_of.is_(None),
                    MentionRow.published_at >= now - timedelta(days=rule.baseline_days),
                    MentionRow.published_at < now - timedelta(hours=1),
                )
            )
            .order_by(MentionRow.published_at.desc())
            .limit(20_000)
        ).all()
        rates = []
        for r in rows:
            # Growth happens in a post's first hours: the usual is its rate then, not a daily average.
            hours = min(3.0, max(1.0, (now - r.published_at).total_seconds() / 3600))
            w = weighted_engagement(r.reposts or 0, r.comments or 0, r.views or 0, rule)
            rates.append(w * reach_factor(r.author_reach, rule) / hours)
        usual = quantile(rates, rule.baseline_quantile) if len(rates) >= 20 else 0.0
        self._usual[channel] = (now, usual)
        return usual

    def _spread(self, conn: Connection, now: datetime, roots: Sequence[int] | None) -> list[Candidate]:
        """Negative stories whose weighted engagement grows far faster than the channel's usual."""
        rule = self.settings.engagement_growth
        recent = now - timedelta(hours=2)
        label = func.coalesce(MentionBrand.corrected_label, MentionBrand.label)
        q = (
            self._link_query()
            .where(
                and_(
                    MentionBrand.counted.is_(True),
                    label == "negative",
                    MentionRow.published_at >= now - timedelta(hours=rule.max_age_hours),
                    MentionRow.published_at <= now,
                )
            )
            .add_columns(MentionRow.reposts, MentionRow.comments, MentionRow.views)
        )
        rows: list[Any] = []
        if roots is not None:
            for chunk in _chunks(list(roots)):
                rows += conn.execute(q.where(MentionRow.id.in_(chunk))).all()
        else:
            copied = select(MentionRow.duplicate_of).where(
                and_(
                    MentionRow.duplicate_of.is_not(None),
                    MentionRow.published_at >= recent,
                    MentionRow.published_at <= now,
                )
            )
            snap = select(EngagementSnapshot.mention_id).where(
                and_(EngagementSnapshot.observed_at >= recent, EngagementSnapshot.observed_at <= now)
            )
            rows = list(
                conn.execute(
                    q.where(
                        or_(
                            MentionRow.published_at >= recent,
                            MentionRow.id.in_(snap),
                            MentionRow.id.in_(copied),
                        )
                    )
                ).all()
            )
        if not rows:
            return []
        ids = sorted({r[0] for r in rows})
        snaps: dict[int, list[tuple[datetime, int, int, int]]] = defaultdict(list)
        copies: dict[int, int] = defaultdict(int)
        for chunk in _chunks(ids):
            for s in conn.execute(
                select(
                    EngagementSnapshot.mention_id,
                    EngagementSnapshot.observed_at,
                    EngagementSnapshot.reposts,
                    EngagementSnapshot.comments,
                    EngagementSnapshot.views,
                )
                .where(
                    and_(
                        EngagementSnapshot.mention_id.in_(chunk),
                        EngagementSnapshot.observed_at >= now - timedelta(hours=4),
                        EngagementSnapshot.observed_at <= now,
                    )
                )
                .order_by(EngagementSnapshot.observed_at)
            ).all():
                snaps[s[0]].append((s[1], s[2] or 0, s[3] or 0, s[4] or 0))
            for root, n in conn.execute(
                select(MentionRow.duplicate_of, func.count())
                .where(
                    and_(
                        MentionRow.duplicate_of.in_(chunk),
                        MentionRow.published_at >= now - timedelta(hours=1),
                        MentionRow.published_at <= now,
                    )
                )
                .group_by(MentionRow.duplicate_of)
            ).all():
                if root is not None:
                    copies[int(root)] = int(n)
        links = {(lk.brand, lk.id): lk for lk in (_Link(*r[:13]) for r in rows)}
        counters = {r[0]: (r[13] or 0, r[14] or 0, r[15] or 0) for r in rows}
        stories = self._stories(conn, list(links.values()))
        root_channels: dict[int, str] = {}
        # Per story: the loud post, its copies elsewhere and the replies spread as one case.
        hits: dict[tuple[str, int], list[tuple[float, float, _Link, tuple[float, float, float]]]] = (
            defaultdict(list)
        )
        for link_key in sorted(links):
            lk = links[link_key]
            growth, d = self._growth(lk, counters[lk.id], snaps.get(lk.id, []), now)
            growth += copies.get(lk.id, 0) * rule.repost_weight
            weighted = growth * reach_factor(lk.reach, rule)
            usual = self._usual_growth(conn, lk.channel, now)
            # No baseline yet (a new install, a quiet channel): the channel's usual is unknown, not zero;
            # take it as ``min_growth`` so the first ordinary article with a few reposts does not page.
            if weighted < max(rule.min_growth, rule.factor * (usual or rule.min_growth)):
                continue
            hits[(lk.brand, stories[lk.id][0])].append((weighted, usual, lk, d))
            root_channels[stories[lk.id][0]] = stories[lk.id][2] or lk.channel
        out: list[Candidate] = []
        for (brand, root), found in sorted(hits.items(), key=lambda kv: kv[0]):
            weighted, usual, lk, d = max(found, key=lambda h: h[0])
            total = sum(h[0] for h in found)
            ratio = weighted / usual if usual > 0 else weighted / rule.min_growth
            ids = sorted({root, *(h[2].id for h in found)})
            out.append(
                Candidate(
                    rule="engagement_growth",
                    brand=brand,
                    channel=root_channels[root],
                    key=f"story:{root}",
                    severity="critical" if ratio >= rule.critical_factor else "warning",
                    title=f"{brand}: негатив расходится ({lk.channel})",
                    summary="Негативная история набирает репосты и комментарии намного быстрее обычного.",
                    numbers={
                        "growth_per_hour": round(weighted, 1),
                        "usual_per_hour": round(usual, 1),
                        "ratio": round(ratio, 1) if usual > 0 else "new",
                        "story_growth_per_hour": round(total, 1),
                        "reposts_per_hour": round(d[0], 1),
                        "comments_per_hour": round(d[1], 1),
                        "views_per_hour": round(d[2], 1),
                        "copies_last_hour": copies.get(lk.id, 0),
                        "author_reach": lk.reach or 0,
                    },
                    mention_ids=ids,
                    magnitude=total,
                    top=self._top(conn, ids),
                )
            )
        return out

    def _growth(
        self,
        lk: _Link,
        counters: tuple[int, int, int],
        snaps: list[tuple[datetime, int, int, int]],
        now: datetime,
    ) -> tuple[float, tuple[float, float, float]]:
        """Weighted engagement per hour over about the last hour, and the raw per-hour deltas."""
        rule = self.settings.engagement_growth
        points = [(lk.published_at, 0, 0, 0)] + [s for s in snaps if s[0] >= lk.published_at]
        if not snaps:
            points.append((now, *counters))
        last = points[-1]
        if now - last[0] > timedelta(hours=2):
            return 0.0, (0.0, 0.0, 0.0)  # nothing observed lately: not spreading now
        ref = points[0]
        for p in points[:-1]:
            if p[0] <= last[0] - timedelta(hours=1):
                ref = p
        # At least an hour: a post seen minutes after publication would otherwise show any like as a storm.
        hours = max(1.0, (last[0] - ref[0]).total_seconds() / 3600)
        d = ((last[1] - ref[1]) / hours, (last[2] - ref[2]) / hours, (last[3] - ref[3]) / hours)
        return weighted_engagement(*d, rule), d

    # -- spikes -------------------------------------------------------------------------------------------

    def _spikes(self, conn: Connection, now: datetime) -> list[Candidate]:
        """Negative counts of the last hours against the same hours of past weeks (hour of week)."""
        rule = self.settings.negative_spike
        last = _floor_hour(now - timedelta(microseconds=1))
        frac = min(1.0, (now - last).total_seconds() / 3600)
        window = [last - timedelta(hours=h) for h in range(rule.window_hours)]
        start = last - timedelta(weeks=rule.baseline_weeks, hours=rule.window_hours + 2)
        rows = conn.execute(
            select(IndexHourly.brand, IndexHourly.channel, IndexHourly.hour, IndexHourly.negative).where(
                and_(IndexHourly.brand.in_(self.brands), IndexHourly.hour >= start, IndexHourly.hour <= last)
            )
        ).all()
        series: dict[tuple[str, str], dict[datetime, int]] = defaultdict(dict)
        first_seen: dict[tuple[str, str], datetime] = {}
        for brand, channel, hour, neg in rows:
            # Each channel, and "*" for the brand over all channels: a storm spread thin over many
            # channels may pass every channel's bar and still be far above the brand's usual.
            for key in ((brand, channel), (brand, "*")):
                series[key][hour] = series[key].get(hour, 0) + int(neg)
                if key not in first_seen or hour < first_seen[key]:
                    first_seen[key] = hour
        out: list[Candidate] = []
        # Brands whose storm a channel already explains (now, or in an alert still open): one alert, not two.
        fired: set[str] = {
            b
            for (b,) in conn.execute(
                select(Alert.brand).where(
                    and_(
                        Alert.rule == "negative_spike",
                        Alert.channel.is_not(None),
                        Alert.state.in_(("open", "acknowledged")),
                    )
                )
            ).all()
        }
        for brand, channel in sorted(series, key=lambda k: (k[0], k[1] == "*", k[1])):
            counts = series[(brand, channel)]
            if channel == "*" and brand in fired:
                continue
            if last - first_seen[(brand, channel)] < timedelta(days=7):
                continue  # no week of history yet: nothing to compare with

            def total(shift: timedelta, counts: dict[datetime, int] = counts) -> float:
                s = 0.0
                for i, h in enumerate(window):
                    weight = frac if i == 0 else 1.0
                    s += counts.get(h - shift, 0) * weight
                return s

            observed = float(sum(counts.get(h, 0) for h in window))
            if observed < rule.min_count:
                continue
            samples = [
                total(timedelta(weeks=k, hours=off))
                for k in range(1, rule.baseline_weeks + 1)
                for off in (-1, 0, 1)
                if last - timedelta(weeks=k, hours=off) >= first_seen[(brand, channel)]
            ]
            history = [n for h, n in counts.items() if h < window[-1]]
            hours_seen = max(1.0, (window[-1] - first_seen[(brand, channel)]).total_seconds() / 3600)
            prior = sum(history) / hours_seen * (len(window) - 1 + frac)
            res = spike_test(observed, samples, rule, prior_mean=prior)
            if not res.fires:
                continue
            fired.add(brand)
            where = None if channel == "*" else channel
            ids = self._negative_ids(conn, brand, where, window[-1], now)
            out.append(
                Candidate(
                    rule="negative_spike",
                    brand=brand,
                    channel=where,
                    key="negative",
                    severity="critical" if res.critical else "warning",
                    title=f"{brand}: всплеск негатива ({where or 'все каналы'}: {int(observed)} за "
                    f"{rule.window_hours} ч)",
                    summary="Негативных упоминаний намного больше, чем обычно в эти часы недели.",
                    numbers={
                        "negative": int(observed),
                        "expected": round(res.expected, 2),
                        "z": round(res.z, 1),
                        "p_value": float(f"{res.p_value:.2g}"),
                        "dispersion": round(res.phi, 2),
                        "window_hours": rule.window_hours,
                    },
                    mention_ids=ids,
                    magnitude=observed,
                    top=self._top(conn, ids),
                )
            )
        return out

    def _negative_ids(
        self, conn: Connection, brand: str, channel: str | None, since: datetime, until: datetime
    ) -> list[int]:
        label = func.coalesce(MentionBrand.corrected_label, MentionBrand.label)
        return [
            r[0]
            for r in conn.execute(
                select(MentionBrand.mention_id).where(
                    and_(
                        MentionBrand.brand == brand,
                        MentionBrand.channel == channel if channel is not None else true(),
                        MentionBrand.counted.is_(True),
                        label == "negative",
                        MentionBrand.published_at >= since,
                        MentionBrand.published_at <= until,
                    )
                )
            ).all()
        ]

    # -- index drop ---------------------------------------------------------------------------------------

    def _index_drops(self, now: datetime) -> list[Candidate]:
        rule = self.settings.index_drop
        period = timedelta(days=rule.period_days)
        out: list[Candidate] = []
        modes = [False, True] if rule.by_channel else [False]
        with self.store.engine.connect() as conn:
            # A week against a day or two of history is noise (a new install, an import that starts
            # mid-week): compare only with a previous period that history covers at least half of.
            ready = {b for b in self.brands if (f := self._first_seen(conn, b)) and now - f >= 1.5 * period}
        for by_channel in modes:
            cur = {
                (p.brand, p.channel): p
                for p in index_window(self.store, now - period, now, self.brands, by_channel=by_channel)
            }
            prev = {
                (p.brand, p.channel): p
                for p in index_window(
                    self.store, now - 2 * period, now - period, self.brands, by_channel=by_channel
                )
            }
            for key, c in cur.items():
                p = prev.get(key)
                if c.brand not in ready or p is None or c.index is None or p.index is None:
                    continue
                if c.support < rule.min_support or p.support < rule.min_support:
                    continue
                drop = p.index - c.index
                if drop < rule.drop or c.ci_high is None or p.ci_low is None or c.ci_high >= p.ci_low:
                    continue
                where = c.channel or "все каналы"
                out.append(
                    Candidate(
                        rule="index_drop",
                        brand=c.brand,
                        channel=c.channel,
                        key="index",
                        quiet_hours=rule.period_days * 24,
                        severity="critical" if drop >= 2 * rule.drop else "warning",
                        title=f"{c.brand}: индекс лояльности упал на {drop:.2f} ({where})",
                        summary=f"Индекс за {rule.period_days} дн. против предыдущих {rule.period_days} дн.",
                        numbers={
                            "index": round(c.index, 3),
                            "previous": round(p.index, 3),
                            "drop": round(drop, 3),
                            "positive": c.positive,
                            "negative": c.negative,
                            "ci": f"{c.ci_low:.2f}..{c.ci_high:.2f}",
                        },
                        mention_ids=[],
                        magnitude=drop,
                    )
                )
        return out
