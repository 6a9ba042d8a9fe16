"""The demo stream through the real engine: its live part raises its scripted alerts, in time, and no others.

Labels come from the demo's own intended sentiment (``raw["demo_labels"]``), so this checks the alert rules,
not the sentiment model.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.message import SEVERITY_RANK
from loyalty_monitor.config import parse_config
from loyalty_monitor.demo import EXPECTED_ALERT_RULES, demo_config_toml, generate_history, generate_live
from loyalty_monitor.replay import Replayer
from storage.schema import Alert, MentionRow
from storage.store import BrandLabel, PendingMention, Store, TaggedMention

pytestmark = pytest.mark.slow


class OracleTagger:
    def __init__(self, store: Store) -> None:
        self.store = store

    def tag(self, pending: Sequence[PendingMention]) -> list[TaggedMention]:
        ids = [p.id for p in pending]
        with self.store.engine.connect() as conn:
            raw = dict(
                conn.execute(select(MentionRow.id, MentionRow.raw).where(MentionRow.id.in_(ids))).all()
            )  # type: ignore[arg-type]
        return [
            TaggedMention(
                p,
                [
                    BrandLabel(b, lbl, 0.9, "oracle@1")
                    for b, lbl in ((raw.get(p.id) or {}).get("demo_labels") or {}).items()
                ],
            )
            for p in pending
        ]


@pytest.mark.parametrize(
    "live_start", [datetime(2026, 6, 10, 9, tzinfo=UTC), datetime(2026, 6, 13, 21, tzinfo=UTC)]
)
def test_demo_live_part_raises_its_scripted_alerts(tmp_path: object, live_start: datetime) -> None:
    url = "sqlite://"
    config = parse_config(tomllib.loads(demo_config_toml(url)))
    store = Store.open(url)
    replayer = Replayer(config, store, OracleTagger(store))  # type: ignore[arg-type]
    replayer.replay(generate_history(seed=7, end=live_start))
    replayer.replay(generate_live(seed=7, start=live_start, hours=6), step=timedelta(minutes=5))
    with store.engine.connect() as conn:
        live = conn.execute(
            select(Alert.rule, Alert.brand, Alert.severity, Alert.opened_at).where(
                Alert.opened_at >= live_start
            )
        ).all()
    for exp in EXPECTED_ALERT_RULES:
        hits = [
            r
            for r in live
            if r.rule == exp.rule
            and r.brand == exp.brand
            and (r.opened_at - live_start).total_seconds() / 60 <= exp.within_minutes
            and SEVERITY_RANK[r.severity] >= SEVERITY_RANK[exp.severity]
        ]
        assert hits, (
            f"{exp.rule} ({exp.severity}) not raised within {exp.within_minutes} min: {exp.why}; {live}"
        )
    expected_rules = {e.rule for e in EXPECTED_ALERT_RULES}
    extra = [r for r in live if r.rule not in expected_rules or r.opened_at > live_start + timedelta(hours=6)]
    # The demo's ordinary traffic has fast-growing posts of its own; every other live alert is scripted.
    unexpected = [r for r in extra if r.rule != "engagement_growth"]
    assert not unexpected, unexpected
