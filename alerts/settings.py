"""Alert rules and messenger destinations, as configured under ``[alerts]``.

Every rule has its own table with defaults that keep a calm month silent; a PR team that wants more (or
less) noise changes one number. Example::

    [alerts]
    cooldown_minutes = 60
    competitor_alerts = false

    [alerts.negative_spike]
    min_count = 6
    max_p_value = 1e-6

    [alerts.escalation_terms]
    extra_terms = ["омбудсмен"]

    [[alerts.destinations]]
    type = "telegram"
    token_env = "TG_BOT_TOKEN"
    chat_id = "-1001234567890"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from alerts.rules.seasonal import SeasonalParams

__all__ = [
    "AlertBrand",
    "AlertsSettings",
    "CopiesRule",
    "DestinationSettings",
    "DigestSettings",
    "EscalationRule",
    "GroupField",
    "IndexDropRule",
    "RecurringRule",
    "RepeatComplainerRule",
    "Severity",
    "SlaBreachRule",
    "SpikeRule",
    "SpreadRule",
    "VolumeRule",
    "destination_names",
]

Severity = Literal["info", "warning", "critical"]

GroupField = Literal["brand", "rule", "channel"]
"""What alerts may be grouped by (``[alerts] group_by``)."""


@dataclass(frozen=True, slots=True)
class AlertBrand:
    """What the rules need to know about one watched brand; the app shell builds these from ``[[brands]]``.

    ``names``: the name and its aliases (their words are the brand, never what a complaint is about);
    ``people``: the CEO and spokespeople, whose name in a complaint is escalation. Example::

        AlertBrand("Альфа", own=True, names=("Альфа", "альфабанк"), people=("Пётр Сидоров",))
    """

    name: str
    own: bool = False
    names: tuple[str, ...] = ()
    people: tuple[str, ...] = ()


class DestinationSettings(BaseModel):
    """One messenger that receives alerts. Secrets come from environment variables named here.

    Example::

        [[alerts.destinations]]
        type = "telegram"
        base_url = "https://api.telegram.org"
        token_env = "TG_BOT_TOKEN"
        chat_id = "-1001234567890"

        [[alerts.destinations]]
        type = "slack"
        url_env = "SLACK_WEBHOOK_URL"

        [[alerts.destinations]]
        type = "webhook"
        url_env = "ALERT_WEBHOOK_URL"
        secret_env = "ALERT_WEBHOOK_SECRET"   # HMAC-SHA256 of the body in X-Loyalty-Signature
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["telegram", "slack", "webhook"]
    name: str | None = None
    base_url: str | None = None
    token_env: str | None = None
    chat_id: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    min_severity: Severity = "warning"

    @model_validator(mode="after")
    def _complete(self) -> DestinationSettings:
        if self.type == "telegram" and (not self.token_env or not self.chat_id):
            raise ValueError("a telegram destination needs token_env and chat_id")
        if self.type in ("slack", "webhook") and not self.url_env:
            raise ValueError(f"a {self.type} destination needs url_env (the URL is a secret)")
        return self


class SpreadRule(BaseModel):
    """One negative mention spreading: its engagement growth per hour against the channel's usual.

    Growth is ``reposts * repost_weight + comments * comment_weight + views * view_weight`` per hour,
    measured between engagement snapshots (and the stored counters), multiplied by a reach factor
    ``1 + log10(1 + author_reach / reach_scale)`` so a post by a 500k-follower blogger counts more. It fires
    when that weighted growth is ``factor`` times the channel's usual (a high quantile of the channel's
    posts' weighted engagement per hour over their first hours, over ``baseline_days``) and at least
    ``min_growth``. Example: ``[alerts.engagement_growth] factor = 8``.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    repost_weight: float = Field(default=10.0, ge=0)
    comment_weight: float = Field(default=3.0, ge=0)
    view_weight: float = Field(default=0.01, ge=0)
    reach_scale: float = Field(default=10_000.0, gt=0)
    factor: float = Field(default=20.0, gt=1)
    min_growth: float = Field(default=300.0, ge=0)
    baseline_days: int = Field(default=14, ge=1)
    baseline_quantile: float = Field(default=0.98, gt=0, lt=1)
    max_age_hours: float = Field(default=72.0, gt=0)
    critical_factor: float = Field(default=50.0, gt=1)


class SpikeRule(BaseModel):
    """Negative mentions of a brand in a channel far above the same hours of past weeks.

    The baseline is the hour-of-week mean over ``baseline_weeks`` (the same hours, and one hour either
    side, of past weeks), with past storms capped at the median plus a few MADs first so last week's
    crisis does not hide this week's. Counts are overdispersed (negative binomial with variance
    ``phi * mean``, ``phi >= 1`` from the same history). It fires when the count over the last
    ``window_hours`` is at least ``min_count``, at least ``min_ratio`` times the expectation, and its tail
    probability is below ``max_p_value``. Example: ``[alerts.negative_spike] max_p_value = 1e-6``.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    window_hours: int = Field(default=3, ge=1, le=24)
    baseline_weeks: int = Field(default=4, ge=1, le=12)
    min_count: int = Field(default=5, ge=1)
    max_p_value: float = Field(default=1e-5, gt=0, lt=1)
    min_ratio: float = Field(default=2.0, ge=1)
    critical_p_value: float = Field(default=1e-9, gt=0, lt=1)


class VolumeRule(BaseModel):
    """All mentions of a brand (any sentiment) far above the same hours of past weeks, scaled to the recent
    level: a burst, a gradual rise, a new level while it is new (:mod:`alerts.rules.seasonal`).

    Windows of ``windows_hours`` are each compared with the same window one to ``baseline_weeks`` weeks
    ago (and an hour either side), every past week scaled by how much busier the ``level_days`` before
    the window were than the same days of that week, so a level that stays becomes the baseline. It fires
    when a window holds at least ``min_count`` mentions, ``min_ratio`` times the expectation, with a tail
    probability (negative binomial, variance at least ``mean + (relative_sd * mean)**2``) at most
    ``max_p_value`` divided by the number of windows. Example: ``[alerts.volume_spike] min_ratio = 2``.

    Off by default (``enabled = false``): a brand's total volume also rises with its own campaigns,
    releases and ordinary news, which the team knows about, while the storms PR acts on are negative and
    :class:`SpikeRule` watches those already. Turn it on to hear of a brand suddenly in the news or a
    source that floods. The engine decides once an hour on the ended hours, per brand over all channels
    and, with ``by_channel``, per channel. ``loyalty-monitor volume-check`` runs the same test on a CSV.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    by_channel: bool = False
    windows_hours: list[float] = Field(default_factory=lambda: [0.25, 1.0, 3.0, 6.0, 24.0], min_length=1)
    baseline_weeks: int = Field(default=4, ge=1, le=12)
    level_days: float = Field(default=3.0, gt=0, le=14)
    min_count: int = Field(default=10, ge=1)
    min_ratio: float = Field(default=1.5, ge=1)
    relative_sd: float = Field(default=0.2, ge=0)
    max_p_value: float = Field(default=1e-4, gt=0, lt=1)
    critical_p_value: float = Field(default=1e-7, gt=0, lt=1)

    @field_validator("windows_hours")
    @classmethod
    def _positive_windows(cls, v: list[float]) -> list[float]:
        if any(w <= 0 or w > 72 for w in v):
            raise ValueError("each window is more than 0 and at most 72 hours")
        return v

    def params(self) -> SeasonalParams:
        """The pure test's parameters (:class:`alerts.rules.seasonal.SeasonalParams`)."""
        from alerts.rules.seasonal import SeasonalParams

        return SeasonalParams(
            windows_hours=tuple(self.windows_hours),
            baseline_weeks=self.baseline_weeks,
            level_days=self.level_days,
            min_count=self.min_count,
            min_ratio=self.min_ratio,
            relative_sd=self.relative_sd,
            max_p_value=self.max_p_value,
            critical_p_value=self.critical_p_value,
        )


class EscalationRule(BaseModel):
    """A negative mention that names a regulator, the media, our CEO or a demand: resonance in the making.

    Terms are matched on normal forms (pymorphy3), so "в Роспотребнадзор", "Роспотребнадзором" and
    "роспотребнадзору" are one word. Multi-word terms match in order, up to two words apart. News
    articles name regulators routinely, so in ``news_channels`` a mention needs ``news_min_kinds`` kinds
    of terms (regulator and media, say), not one. Example::

        [alerts.escalation_terms]
        extra_terms = ["омбудсмен", "уполномоченный по правам"]
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    regulators: list[str] = Field(
        default_factory=lambda: [
            "ЦБ",
            "Центробанк",
            "Банк России",
            "Роспотребнадзор",
            "прокуратура",
            "прокурор",
            "суд",
            "ФАС",
            "антимонопольная служба",
            "полиция",
            "Роскомнадзор",
            "финансовый омбудсмен",
            "Госдума",
            "депутат",
        ]
    )
    media: list[str] = Field(
        default_factory=lambda: [
            "журналист",
            "СМИ",
            "пресса",
            "редакция",
            "газета",
            "телевидение",
            "огласка",
        ]
    )
    demands: list[str] = Field(
        default_factory=lambda: [
            "верните деньги",
            "вернуть деньги",
            "возврат денег",
            "требую",
            "компенсация",
            "претензия",
            "иск",
        ]
    )
    extra_terms: list[str] = Field(default_factory=list)
    critical_kinds: int = Field(default=2, ge=1)
    news_channels: list[str] = Field(default_factory=lambda: ["news"])
    news_min_kinds: int = Field(default=2, ge=1)


class RepeatComplainerRule(BaseModel):
    """One author with ``complaints`` negative threads about a brand within ``days``: close the loop.

    Comments in one thread count once; an author whose mentions of the brand in the period are less than
    ``min_negative_share`` negative is a prolific commenter with mixed feelings, not an unhappy customer.
    Author names matching ``ambiguous_author_pattern`` (default: "Имя Ф.", as review sites show people)
    identify nobody and are skipped; set it to ``""`` to count them too.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    complaints: int = Field(default=4, ge=2)
    days: float = Field(default=7.0, gt=0)
    min_negative_share: float = Field(default=0.75, ge=0, le=1)
    ambiguous_author_pattern: str | None = r"\w+ \w\.?"


class RecurringRule(BaseModel):
    """Near-duplicate complaints from different authors: a recurring problem, not one unhappy customer.

    Texts are compared by Jaccard similarity of their normal-form word sets; copies of one post are
    excluded (they are one complaint, see :class:`CopiesRule`). Fires at ``min_authors`` authors within
    ``days`` when that is also ``rise`` times what the previous ``baseline_days`` had for the same kind of
    complaint: what people always complain about is the baseline, a new or growing problem is news. The
    rule waits until the brand has ``days + baseline_days`` of history.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    similarity: float = Field(default=0.6, gt=0, le=1)
    min_authors: int = Field(default=6, ge=2)
    days: float = Field(default=3.0, gt=0)
    baseline_days: float = Field(default=14.0, gt=0)
    rise: float = Field(default=4.0, ge=1)
    max_candidates: int = Field(default=5000, ge=10)


class CopiesRule(BaseModel):
    """Near-identical copies of one negative post appearing from other authors and channels.

    A copy is a text that carries at least ``containment`` of the words (normal forms) of an original of
    at least ``min_words`` words, or an exact repost copy; copies by the original's author do not count.
    Syndicated copies are one complaint spreading, not many complaints: they are collapsed into the
    original here and excluded from :class:`RecurringRule`. Fires at ``min_copies`` copies within
    ``hours``; critical at ``critical_copies``.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    containment: float = Field(default=0.8, gt=0, le=1)
    min_words: int = Field(default=20, ge=3)
    min_copies: int = Field(default=3, ge=1)
    critical_copies: int = Field(default=8, ge=1)
    hours: float = Field(default=24.0, gt=0)


class IndexDropRule(BaseModel):
    """The loyalty index of the last ``period_days`` fell by ``drop`` or more against the period before.

    Both periods need ``min_support`` positive + negative mentions, and the drop must exceed the two
    Wilson intervals' overlap, so a handful of mentions never moves a brand into an alert.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    period_days: int = Field(default=7, ge=1)
    drop: float = Field(default=0.3, gt=0, le=2)
    min_support: int = Field(default=30, ge=1)
    by_channel: bool = True


class SlaBreachRule(BaseModel):
    """An own brand's case past its due time (``[responses] sla_hours``) with no reply and still open.

    One alert per case: later evaluations update it quietly, and the case being answered lets it resolve.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    severity: Severity = "warning"
    #: A case more important than a plain question (priority 1 or 2) alerts at this severity instead.
    important_severity: Severity = "critical"


class AlertsSettings(BaseModel):
    """Resonance detection and delivery.

    ``cooldown_minutes``: an open alert that triggers again is updated in place (version + 1) and
    re-sent at most once per cooldown, unless its severity rose. ``resolve_after_hours``: an alert not
    triggered for that long is resolved, and the next trigger opens a new one. ``competitor_alerts``:
    also alert on brands that are not ``own``.

    Grouping (messengers only; webhooks get every alert on its own): alerts with the same ``group_by``
    values that open within ``group_wait_s`` of the first go out as one message; later ones within
    ``group_interval_min`` of the group's last message update it (Telegram edits it, Slack gets one
    follow-up) at most once per interval; a higher severity always sends a new message at once. Both at 0:
    every alert on its own. Example::

        [alerts]
        group_by = ["brand", "rule"]
        group_wait_s = 60
        group_interval_min = 30
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    destinations: list[DestinationSettings] = Field(default_factory=list)
    competitor_alerts: bool = False
    cooldown_minutes: float = Field(default=60.0, ge=0)
    resolve_after_hours: float = Field(default=24.0, gt=0)
    top_mentions: int = Field(default=5, ge=1, le=20)
    group_by: list[GroupField] = Field(default_factory=lambda: list[GroupField](["brand", "rule"]))
    group_wait_s: float = Field(default=60.0, ge=0)
    group_interval_min: float = Field(default=30.0, ge=0)
    engagement_growth: SpreadRule = Field(default_factory=SpreadRule)
    negative_spike: SpikeRule = Field(default_factory=SpikeRule)
    escalation_terms: EscalationRule = Field(default_factory=EscalationRule)
    repeat_complainer: RepeatComplainerRule = Field(default_factory=RepeatComplainerRule)
    recurring_problem: RecurringRule = Field(default_factory=RecurringRule)
    copies_across_channels: CopiesRule = Field(default_factory=CopiesRule)
    index_drop: IndexDropRule = Field(default_factory=IndexDropRule)
    sla_breach: SlaBreachRule = Field(default_factory=SlaBreachRule)
    volume_spike: VolumeRule = Field(default_factory=VolumeRule)

    @model_validator(mode="after")
    def _unique_destination_names(self) -> AlertsSettings:
        names = destination_names(self.destinations)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"destination names must be unique (set name = ...); repeated: {', '.join(dupes)}"
            )
        return self


class DigestSettings(BaseModel):
    """PR's daily digest (``[digest]``): when ``run`` sends it and to which alert destinations.

    ``schedule`` is a local time in the display time zone ("09:00"); without it ``run`` sends no digest and
    ``loyalty-monitor digest`` sends one on demand. ``destinations`` are names of ``[[alerts.destinations]]``
    (empty: all of them, whatever their ``min_severity``). Example::

        [digest]
        schedule = "09:00"
        destinations = ["pr-telegram"]
    """

    model_config = ConfigDict(extra="forbid")

    schedule: str | None = Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    destinations: list[str] = Field(default_factory=list)

    def targets(self, alerts: AlertsSettings) -> list[str]:
        """The destination names the digest goes to."""
        names = destination_names(alerts.destinations)
        return [n for n in names if not self.destinations or n in self.destinations]


def destination_names(dests: list[DestinationSettings]) -> list[str]:
    """The names deliveries are recorded under: ``name``, else the type (``telegram``, ``telegram-2``...)."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for d in dests:
        if d.name:
            out.append(d.name)
            continue
        seen[d.type] = seen.get(d.type, 0) + 1
        out.append(d.type if seen[d.type] == 1 else f"{d.type}-{seen[d.type]}")
    return out
