"""``volume_spike``: all mentions of a brand (any sentiment) far above the same hours of past weeks.

Once an hour, at the turn of the hour, per brand over all channels ("*") and, with ``by_channel``, per
channel: the hourly rollup (``index_hourly``, positive + negative + neutral) of the ended hours is run
through :func:`alerts.rules.seasonal.volume_test` (several windows against the same hours of past weeks,
scaled to the recent level, plus an accumulation for rises that build up slowly). A series needs a week
of history. Deciding on ended hours only keeps the rule cheap (one query an hour) and makes a replay give
the same answer whichever minutes it evaluates; a burst is reported at the end of the hour it happened in.

Falls in volume (a collector that died, a brand gone quiet) are not alerted here: they are reported by
``loyalty-monitor volume-check`` and the collectors' own health in ``status`` (see docs/alerts.md).

Numbers: ``count``, ``expected``, ``ratio``, ``p_value``, ``window_hours``; facts: ``channel``, ``count``,
``window_hours``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from alerts.lifecycle import Candidate
from alerts.rules.queries import top_mentions
from alerts.rules.seasonal import history_hours, volume_test
from alerts.settings import AlertsSettings
from core.clock import floor_hour
from storage.schema import IndexHourly, MentionBrand

__all__ = ["RULE", "VolumeSpike"]

RULE = "volume_spike"

_MAX_IDS = 500
"""Mentions kept with an alert: a busy brand's day holds thousands; the latest few hundred show the story."""


class VolumeSpike:
    """The rule, run periodically; it decides once per ended hour (later calls in the hour return nothing).

    An open alert is re-triggered at each hour's decision while the volume stays high, and resolves
    ``resolve_after_hours`` after the last one, as the other periodic rules' alerts do.
    """

    def __init__(self, settings: AlertsSettings, brands: Sequence[str]) -> None:
        self.settings = settings
        self.rule = settings.volume_spike
        self.brands = list(brands)
        self._decided: datetime | None = None
        """The hour (its end) last decided: the series only change when another hour ends."""

    def find(self, conn: Connection, now: datetime) -> list[Candidate]:
        """Test each brand's hourly totals ending with the last ended hour (nothing if already decided)."""
        ended = floor_hour(now)  # hours before this one have ended
        if self._decided == ended:
            return []
        self._decided = ended
        params = self.rule.params()
        start = ended - timedelta(hours=history_hours(params))
        rows = conn.execute(
            select(
                IndexHourly.brand,
                IndexHourly.channel,
                IndexHourly.hour,
                (IndexHourly.positive + IndexHourly.negative + IndexHourly.neutral).label("n"),
            ).where(
                and_(IndexHourly.brand.in_(self.brands), IndexHourly.hour >= start, IndexHourly.hour < ended)
            )
        ).all()
        series: dict[tuple[str, str], dict[datetime, int]] = defaultdict(dict)
        for r in rows:
            keys = [(r.brand, "*")]
            if self.rule.by_channel:
                keys.append((r.brand, r.channel))
            for key in keys:
                series[key][r.hour] = series[key].get(r.hour, 0) + int(r.n)
        out: list[Candidate] = []
        fired: set[str] = set()
        for brand, channel in sorted(series, key=lambda k: (k[0], k[1] == "*", k[1])):
            if channel == "*" and brand in fired:
                continue  # a channel explains it: one alert, not two
            counts = series[(brand, channel)]
            first = min(counts)
            if ended - first < timedelta(days=7):
                continue  # no week of history yet: nothing to compare with
            n = round((ended - first).total_seconds() / 3600)
            hourly = [float(counts.get(first + timedelta(hours=i), 0)) for i in range(n)]
            fires, critical, numbers = volume_test(hourly, 60.0, params)
            if not fires:
                continue
            fired.add(brand)
            where = None if channel == "*" else channel
            since = ended - timedelta(hours=max(1.0, numbers["window_hours"]))
            ids = self._ids(conn, brand, where, since, ended)
            out.append(
                Candidate(
                    rule=RULE,
                    brand=brand,
                    channel=where,
                    key="volume",
                    severity="critical" if critical else "warning",
                    numbers=numbers,
                    facts={
                        "channel": where,
                        "count": int(numbers["count"]),
                        "window_hours": numbers["window_hours"],
                    },
                    mention_ids=ids,
                    magnitude=numbers["count"],
                    top=top_mentions(conn, ids, self.settings.top_mentions),
                )
            )
        return out

    @staticmethod
    def _ids(
        conn: Connection, brand: str, channel: str | None, since: datetime, until: datetime
    ) -> list[int]:
        """The latest counted mentions of the brand in the window that fired (at most ``_MAX_IDS``)."""
        cond = [
            MentionBrand.brand == brand,
            MentionBrand.counted.is_(True),
            MentionBrand.published_at >= since,
            MentionBrand.published_at < until,
        ]
        if channel is not None:
            cond.append(MentionBrand.channel == channel)
        return list(
            conn.execute(
                select(MentionBrand.mention_id)
                .where(and_(*cond))
                .order_by(MentionBrand.mention_id.desc())
                .limit(_MAX_IDS)
            )
            .scalars()
            .all()
        )
