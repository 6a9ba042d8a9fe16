"""The alert engine: runs the resonance rules over stored mentions and writes alerts with their outbox rows.

The pipeline calls :meth:`AlertEngine.evaluate` with the ids of each tagged batch (text rules: escalation,
repeat complainers, recurring problems, and spreading of the batch's stories) and
:meth:`AlertEngine.evaluate_periodic` every minute or so (time rules: negative spikes, spreading by
engagement growth, index drops, volume spikes when enabled, resolving stale alerts). Both take ``now``, so
a replayed stream drives the engine on its own clock::

    engine = AlertEngine(store, settings, brands)   # AlertsSettings, [AlertBrand, ...]
    for batch_ids, stream_now in replay:
        engine.evaluate(batch_ids, stream_now)
        engine.evaluate_periodic(stream_now)

The engine only orchestrates: each rule is a module of :mod:`alerts.rules` (query, decision, numbers),
:mod:`alerts.lifecycle` opens and updates alerts, :mod:`alerts.render` words them for readers.

Only our own brands alert unless ``alerts.competitor_alerts`` is set. Repost copies (``duplicate_of``) are
collapsed onto their first copy everywhere: they count as spreading, never as more complaints.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from alerts.lifecycle import AlertChange, Candidate, raise_alert, resolve_stale
from alerts.rules.copies_across_channels import CopiesAcrossChannels
from alerts.rules.engagement_growth import EngagementGrowth
from alerts.rules.escalation_terms import EscalationTerms
from alerts.rules.index_drop import IndexDrop
from alerts.rules.negative_spike import NegativeSpike
from alerts.rules.queries import Complaint, FirstSeen, Link, load_links, recent_complaints
from alerts.rules.recurring_problem import RecurringProblem
from alerts.rules.repeat_complainer import RepeatComplainer
from alerts.rules.sla_breach import SlaBreach
from alerts.rules.texts import Recent, WordSets
from alerts.rules.volume_spike import VolumeSpike
from alerts.settings import AlertBrand, AlertsSettings
from storage.store import Store, now_utc

__all__ = ["AlertChange", "AlertEngine"]

log = logging.getLogger(__name__)


class AlertEngine:
    """Evaluates the rules configured in ``settings`` against ``store`` for ``brands``.

    ``clock`` supplies ``now`` when a caller passes none. The rules keep small caches (normal-form word
    sets, channel baselines, when each brand was first seen) but no state that matters across restarts:
    everything the engine decided is in the ``alerts`` and ``alert_deliveries`` tables.
    """

    def __init__(
        self,
        store: Store,
        settings: AlertsSettings,
        brands: Sequence[AlertBrand],
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.brands = [b.name for b in brands if b.own or settings.competitor_alerts]
        first_seen = FirstSeen()
        self.words = WordSets(brands)
        self.escalation = EscalationTerms(settings, brands)
        self.repeat_complainer = RepeatComplainer(settings)
        self.copies = CopiesAcrossChannels(settings)
        self.recurring = RecurringProblem(settings, first_seen, self.copies.copies)
        self.growth = EngagementGrowth(settings, self.brands)
        self.spike = NegativeSpike(settings, self.brands)
        self.index_drop = IndexDrop(settings, self.brands, first_seen)
        self.sla_breach = SlaBreach(settings, self.brands)
        self.volume = VolumeSpike(settings, self.brands)
        self.complaints: Callable[[Connection, str, datetime, float, int], list[Complaint]] = (
            recent_complaints
        )
        """Where the text rules read a brand's recent complaints: the query, or a backtest's own window."""
        self.recent_words: Callable[[Connection, str, datetime], Sequence[Recent]] = self._recent_words
        """The brand's recent complaints with their word sets, newest first, as the text rules compare them:
        :attr:`complaints` through :attr:`words`, or a backtest's own, kept as it stores them."""
        self._last_index_check: datetime | None = None
        # The pipeline calls evaluate() and the scheduler evaluate_periodic() from different threads; one
        # story must not be opened twice by both at once.
        self._lock = threading.Lock()

    # -- entry points -----------------------------------------------------------------------------------

    def evaluate(self, new_mention_ids: Sequence[int], now: datetime | None = None) -> list[AlertChange]:
        """Run the per-mention rules on a freshly tagged batch; returns what changed."""
        if not self.settings.enabled or not self.brands or not new_mention_ids:
            return []
        now = now or self.clock()
        s = self.settings
        cands: list[Candidate] = []
        with self.store.engine.connect() as conn:
            links = load_links(conn, self.brands, new_mention_ids)
            negative = [lk for lk in links if lk.label == "negative"]
            counted = [lk for lk in negative if lk.counted]
            if s.escalation_terms.enabled:
                cands += self.escalation.find(conn, negative)
            if s.repeat_complainer.enabled:
                cands += self.repeat_complainer.find(conn, counted, now)
            cands += self._text_rules(conn, counted, now)
            if s.engagement_growth.enabled:
                cands += self.growth.find(conn, now, sorted({lk.root for lk in negative}))
        return self._apply(cands, now)

    def evaluate_periodic(
        self, now: datetime | None = None, only: Collection[str] | None = None
    ) -> list[AlertChange]:
        """Run the time-based rules (spikes, spreading, index drop) and resolve stale alerts.

        ``only`` runs just the rules named (``"resolve"`` for resolving stale alerts): a replay that knows
        the others cannot change their answer this minute skips them (see :mod:`loyalty_monitor.backtest`);
        ``run`` runs them all.
        """
        if not self.settings.enabled or not self.brands:
            return []
        now = now or self.clock()
        s = self.settings

        def wanted(rule: str) -> bool:
            return only is None or rule in only

        if wanted("resolve"):
            resolve_stale(self.store, s, now)
        cands: list[Candidate] = []
        with self.store.engine.connect() as conn:
            if s.negative_spike.enabled and wanted("negative_spike"):
                cands += self.spike.find(conn, now)
            if s.engagement_growth.enabled and wanted("engagement_growth"):
                cands += self.growth.find(conn, now, None)
            if s.sla_breach.enabled and wanted("sla_breach"):
                cands += self.sla_breach.find(conn, now)
            if s.volume_spike.enabled and wanted("volume_spike"):
                cands += self.volume.find(conn, now)  # decides once per ended hour
        if (
            s.index_drop.enabled
            and wanted("index_drop")
            and (self._last_index_check is None or now - self._last_index_check >= timedelta(hours=1))
        ):
            self._last_index_check = now
            cands += self.index_drop.find(self.store, now)
        return self._apply(cands, now)

    def _text_rules(self, conn: Connection, negative: Sequence[Link], now: datetime) -> list[Candidate]:
        """Copies across channels and recurring problems: both compare each fresh complaint of a brand with
        the brand's recent ones, so they share one query and one pass, in the order complaints arrived."""
        rules = [r for r in (self.copies, self.recurring) if r.enabled]
        if not rules:
            return []
        by_brand: dict[str, list[Link]] = defaultdict(list)
        for lk in negative:
            by_brand[lk.brand].append(lk)
        out: list[Candidate] = []
        for brand, fresh in by_brand.items():
            recent = self.recent_words(conn, brand, now)
            scans = [r.scan(conn, brand, recent, now) for r in rules]
            for lk in fresh:
                words = self.words.of(lk.id, lk.text)
                for scan in scans:
                    cand = scan.check(lk, words)
                    if cand is not None:
                        out.append(cand)
        return out

    def _recent_words(self, conn: Connection, brand: str, now: datetime) -> Sequence[Recent]:
        complaints = self.complaints(
            conn, brand, now, self.recurring.history_days, self.settings.recurring_problem.max_candidates
        )
        return self.words.recent(complaints)

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
