"""PR's morning digest: every brand's loyalty index, volume, rising themes and the period's alerts.

A PR lead reads it once a day in the messenger, so it is short, in the reader's language, and fits one
Telegram message (4,096 characters): lists are cut from the end, with a line saying how many were left out.
Mention words and alert titles are untrusted text; the HTML form escapes every one of them.

The figures compare like with like: the last ``period`` (a day by default) against the period of the same
length before it, and the last seven days against the seven before. Themes are the brands' rising themes of
the last seven days (:mod:`loyalty_index.themes`).

Usage::

    digest = build_digest(store, [("Поляр Банк", True), ("Борей", False)], until=now, tz="Europe/Moscow")
    print(render_digest(digest, "ru"))
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, insert, select

from alerts.render import alert_title, as_language
from loyalty_index import index_window
from loyalty_index.index import HasEngine
from loyalty_index.themes import Theme, ThemeSettings, brand_themes
from storage.schema import Alert

__all__ = [
    "DIGEST_RULE",
    "TELEGRAM_LIMIT",
    "Digest",
    "DigestAlert",
    "DigestBrand",
    "build_digest",
    "digest_key",
    "digest_stored",
    "enqueue_digest",
    "render_digest",
]

DIGEST_RULE = "digest"
"""The ``alerts.rule`` of a stored digest: it travels through the outbox like an alert, listed apart."""

TELEGRAM_LIMIT = 4096
"""Characters in one Telegram message: the digest is cut to fit."""

_WEEK = timedelta(days=7)
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class DigestBrand:
    """One brand's figures: the index (``None`` without polar mentions) and volume, now and before."""

    name: str
    own: bool
    index: float | None
    index_before: float | None
    week_index: float | None
    week_index_before: float | None
    mentions: int
    mentions_before: int
    negative: int


@dataclass(frozen=True, slots=True)
class DigestAlert:
    """An alert opened or updated in the period."""

    brand: str
    severity: str
    rule: str
    title: str
    opened_at: datetime
    details: dict[str, Any] | None = None
    """The stored numbers and facts: the title is worded in the digest's language from them."""


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything the digest says, before it is put into words."""

    since: datetime
    until: datetime
    tz: str
    brands: tuple[DigestBrand, ...]
    rising: tuple[Theme, ...]
    alerts: tuple[DigestAlert, ...]

    @property
    def empty(self) -> bool:
        """No mention of any brand in the period, and no alert."""
        return not self.alerts and all(b.mentions == 0 for b in self.brands)


def build_digest(
    source: HasEngine,
    brands: Sequence[tuple[str, bool]],
    until: datetime,
    tz: str,
    *,
    since: datetime | None = None,
    stop_terms: Sequence[str] = (),
    themes: ThemeSettings | None = None,
    max_rising: int = 5,
) -> Digest:
    """Gather the digest for ``brands`` (name, own) over [since, until); ``since`` defaults to a day before.

    ``stop_terms`` are every configured name and alias, kept out of theme words.
    """
    since = since or until - timedelta(days=1)
    if since >= until:
        raise ValueError("the digest period is empty: since must be before until")
    names = [name for name, _ in brands]
    length = until - since

    def by_brand(lo: datetime, hi: datetime) -> dict[str, tuple[float | None, int, int]]:
        points = index_window(source, lo, hi, brands=names, by_channel=False)
        return {p.brand: (p.index, p.positive + p.negative + p.neutral, p.negative) for p in points}

    now = by_brand(since, until)
    before = by_brand(since - length, since)
    week = by_brand(until - _WEEK, until)
    week_before = by_brand(until - 2 * _WEEK, until - _WEEK)
    empty: tuple[float | None, int, int] = (None, 0, 0)
    figures = tuple(
        DigestBrand(
            name=name,
            own=own,
            index=now.get(name, empty)[0],
            index_before=before.get(name, empty)[0],
            week_index=week.get(name, empty)[0],
            week_index_before=week_before.get(name, empty)[0],
            mentions=now.get(name, empty)[1],
            mentions_before=before.get(name, empty)[1],
            negative=now.get(name, empty)[2],
        )
        for name, own in sorted(brands, key=lambda b: not b[1])
    )

    rising: list[Theme] = []
    for name, _own in sorted(brands, key=lambda b: not b[1]):
        found = brand_themes(source, name, until - _WEEK, until, stop_terms=stop_terms, settings=themes)
        rising.extend(t for t in found if t.rising)
    rising.sort(key=lambda t: (t.brand not in {n for n, own in brands if own}, -t.mentions, t.name))

    with source.engine.connect() as conn:
        rows = conn.execute(
            select(Alert.brand, Alert.severity, Alert.rule, Alert.title, Alert.opened_at, Alert.details)
            .where(
                and_(
                    Alert.updated_at >= since,
                    Alert.opened_at < until,
                    Alert.brand.in_(names),
                    Alert.rule != DIGEST_RULE,
                )
            )
            .order_by(Alert.opened_at, Alert.id)
        ).all()
    alerts = sorted(
        (DigestAlert(str(b), str(s), str(r), str(t), o, d) for b, s, r, t, o, d in rows),
        key=lambda a: (_SEVERITY_ORDER.get(a.severity, 3), a.opened_at),
    )
    return Digest(since, until, tz, figures, tuple(rising[:max_rising]), tuple(alerts))


# -- words ----------------------------------------------------------------------------------------------

_TEXT = {
    "ru": {
        "title": "Дайджест за {since} — {until}",
        "nothing": "За период упоминаний и алертов нет.",
        "index": "Индекс лояльности (за период · за 7 дней)",
        "own": "наш",
        "brand_line": "{name}: {index} (было {before}) · {week} (было {week_before}) · "
        "{mentions} упом. ({change})",
        "no_index": "нет оценок",
        "themes": "Растущие темы за 7 дней",
        "theme_line": "{brand}: «{name}» — {mentions} упом., негатив {negative}, {change}",
        "new_theme": "новая тема",
        "was_zero": "раньше не было",
        "alerts": "Алерты за период: {n}",
        "no_alerts": "Алертов за период нет.",
        "more": "…и ещё {n}",
    },
    "en": {
        "title": "Digest for {since} — {until}",
        "nothing": "No mentions and no alerts in the period.",
        "index": "Loyalty index (period · last 7 days)",
        "own": "ours",
        "brand_line": "{name}: {index} (was {before}) · {week} (was {week_before}) · "
        "{mentions} mentions ({change})",
        "no_index": "no votes",
        "themes": "Rising themes, last 7 days",
        "theme_line": "{brand}: “{name}” — {mentions} mentions, {negative} negative, {change}",
        "new_theme": "new theme",
        "was_zero": "none before",
        "alerts": "Alerts in the period: {n}",
        "no_alerts": "No alerts in the period.",
        "more": "…and {n} more",
    },
}


def _index(value: float | None, lang: str, none: str) -> str:
    if value is None:
        return none
    text = f"{value:+.2f}"
    return text.replace(".", ",") if lang == "ru" else text


def _change(now: int, before: int, lang: str, new: str) -> str:
    if before == 0:
        return new if now else "0"
    text = f"{(now - before) / before:+.0%}"
    return text.replace(".", ",") if lang == "ru" else text


def render_digest(
    digest: Digest, language: str = "ru", *, html_mode: bool = False, limit: int = TELEGRAM_LIMIT
) -> str:
    """The digest in words (``ru`` or ``en``): plain text, or Telegram HTML with every value escaped.

    Cut to ``limit`` characters by dropping alert, then theme, then brand lines from the end, never mid-line
    (a cut tag would make Telegram refuse the whole message).
    """
    lang = language if language in _TEXT else "ru"
    words = _TEXT[lang]
    esc: Callable[[str], str] = (lambda s: html.escape(s, quote=False)) if html_mode else (lambda s: s)
    bold: Callable[[str], str] = (lambda s: f"<b>{s}</b>") if html_mode else (lambda s: s)
    zone = ZoneInfo(digest.tz)
    stamp = "%d.%m.%Y %H:%M" if lang == "ru" else "%Y-%m-%d %H:%M"
    head = bold(
        esc(
            words["title"].format(
                since=digest.since.astimezone(zone).strftime(stamp),
                until=digest.until.astimezone(zone).strftime(stamp),
            )
        )
        + f" ({esc(digest.tz)})"
    )
    if digest.empty:
        return f"{head}\n\n{esc(words['nothing'])}"[:limit]

    brand_lines = []
    for b in digest.brands:
        name = f"{b.name} ({words['own']})" if b.own else b.name
        brand_lines.append(
            "• "
            + esc(
                words["brand_line"].format(
                    name=name,
                    index=_index(b.index, lang, words["no_index"]),
                    before=_index(b.index_before, lang, words["no_index"]),
                    week=_index(b.week_index, lang, words["no_index"]),
                    week_before=_index(b.week_index_before, lang, words["no_index"]),
                    mentions=b.mentions,
                    change=_change(b.mentions, b.mentions_before, lang, words["was_zero"]),
                )
            )
        )
    theme_lines = [
        "• "
        + esc(
            words["theme_line"].format(
                brand=t.brand,
                name=t.name,
                mentions=t.mentions,
                negative=t.negative,
                change=words["new_theme"] if t.change is None else _change(t.mentions, t.previous, lang, ""),
            )
        )
        for t in digest.rising
    ]
    titles = [alert_title(a.rule, a.brand, a.details, a.title, as_language(lang)) for a in digest.alerts]
    alert_lines = [
        f"• [{esc(a.severity)}] {esc(title if title.startswith(a.brand) else f'{a.brand}: {title}')}"
        for a, title in zip(digest.alerts, titles, strict=True)
    ]

    def compose(n_brands: int, n_themes: int, n_alerts: int) -> str:
        parts = [head, "", bold(esc(words["index"])), *brand_lines[:n_brands]]
        if n_brands < len(brand_lines):
            parts.append(esc(words["more"].format(n=len(brand_lines) - n_brands)))
        if theme_lines:
            parts += ["", bold(esc(words["themes"])), *theme_lines[:n_themes]]
            if n_themes < len(theme_lines):
                parts.append(esc(words["more"].format(n=len(theme_lines) - n_themes)))
        parts.append("")
        if alert_lines:
            parts += [bold(esc(words["alerts"].format(n=len(alert_lines)))), *alert_lines[:n_alerts]]
            if n_alerts < len(alert_lines):
                parts.append(esc(words["more"].format(n=len(alert_lines) - n_alerts)))
        else:
            parts.append(esc(words["no_alerts"]))
        return "\n".join(parts)

    n_brands, n_themes, n_alerts = len(brand_lines), len(theme_lines), len(alert_lines)
    text = compose(n_brands, n_themes, n_alerts)
    while len(text) > limit and (n_alerts > 0 or n_themes > 0 or n_brands > 0):
        if n_alerts > 0:
            n_alerts -= 1
        elif n_themes > 0:
            n_themes -= 1
        else:
            n_brands -= 1
        text = compose(n_brands, n_themes, n_alerts)
    return text


# -- sending ------------------------------------------------------------------------------------------


def digest_key(digest: Digest, daily: bool = True) -> str:
    """The period a digest stands for: its last local day (``daily``), else its exact bounds."""
    zone = ZoneInfo(digest.tz)
    if daily:
        return f"digest:{digest.until.astimezone(zone).date().isoformat()}"
    return f"digest:{digest.since.isoformat()}/{digest.until.isoformat()}"


def _stored(conn: Connection, key: str) -> bool:
    return conn.execute(select(Alert.id).where(Alert.dedup_key == key).limit(1)).first() is not None


def digest_stored(source: HasEngine, key: str) -> bool:
    """Whether the digest of period ``key`` is stored (sent or queued) already."""
    with source.engine.connect() as conn:
        return _stored(conn, key)


def enqueue_digest(
    source: HasEngine, digest: Digest, destinations: Sequence[str], now: datetime, *, key: str | None = None
) -> int | None:
    """Store the digest once per period and queue it for ``destinations``; ``None`` if already stored.

    The digest is kept as an alert of rule :data:`DIGEST_RULE` (state ``resolved``, severity ``info``), so
    the outbox delivers it exactly once per destination, retries it when a messenger is down, and a
    restart never sends it twice. Its words are stored in both languages; the outbox picks the reader's.
    """
    from alerts.outbox import enqueue_deliveries
    from alerts.render import LANGUAGES

    key = key or digest_key(digest)
    plain = {lang: render_digest(digest, lang) for lang in LANGUAGES}
    marked = {lang: render_digest(digest, lang, html_mode=True) for lang in LANGUAGES}
    own = next((b.name for b in digest.brands if b.own), digest.brands[0].name if digest.brands else "")
    with source.engine.begin() as conn:
        if _stored(conn, key):
            return None
        alert_id = int(
            conn.execute(
                insert(Alert)
                .values(
                    dedup_key=key,
                    rule=DIGEST_RULE,
                    brand=own,
                    channel=None,
                    severity="info",
                    state="resolved",
                    title=plain["ru"].split("\n", 1)[0],
                    details={"body": plain, "html": marked},
                    mention_ids={},
                    version=1,
                    opened_at=now,
                    updated_at=now,
                    triggered_at=now,
                )
                .returning(Alert.id)
            ).scalar_one()
        )
        enqueue_deliveries(conn, alert_id, 1, list(destinations), now)
    return alert_id
