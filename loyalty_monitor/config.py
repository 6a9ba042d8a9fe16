"""``loyalty.toml``: one file, validated by typed models, with errors that name the key path.

Each package owns the model of its own section (``collectors.settings``, ``alerts.settings``,
``dashboard.settings``); this module composes them, reads the file and turns validation failures into a
:class:`ConfigError` such as ``sources.vk.base_url: Field required``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alerts.render import Language
from alerts.settings import AlertBrand, AlertsSettings, DigestSettings, destination_names
from collectors.settings import SourceSettings
from core.scrub import register_secret, scrub, secret_query_values
from dashboard.settings import DashboardSettings, DashboardSetup
from loyalty_index.response_settings import ResponsesSettings

__all__ = [
    "BrandSettings",
    "Config",
    "ConfigError",
    "SentimentSettings",
    "StorageSettings",
    "check_db_url",
    "env_names",
    "load_config",
    "parse_config",
    "register_config_secrets",
]

DEFAULT_DB_URL = "sqlite:///loyalty.db"
#: What an environment variable name looks like; a key ending in ``_env`` must hold one, not a secret.
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_DB_HINT = "use sqlite:///FILE or postgresql+psycopg://user@host/db"


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the key path."""


class StorageSettings(BaseModel):
    """Where mentions live. SQLite is the embedded default; ``postgresql+psycopg://...`` works too."""

    model_config = ConfigDict(extra="forbid")

    url: str = DEFAULT_DB_URL


class SentimentSettings(BaseModel):
    """Which model tags mentions: ``default`` (shipped, offline), ``hf:<repo id>`` or a local directory."""

    model_config = ConfigDict(extra="forbid")

    model: str = "default"
    model_dir: str = "models"
    batch_size: int = Field(default=256, ge=1, le=65536)


class BrandSettings(BaseModel):
    """A brand we watch. ``own = true`` marks ours; the rest are competitors.

    ``exclusions`` are phrases that contain an alias but do not mean the brand ("альфа-версия").
    ``people`` are names (the CEO, spokespeople) whose mention in a complaint means escalation.
    ``accounts`` are the brand's own accounts as ``source:id`` (``vk:-123456``, ``telegram:polarbank``; see
    :mod:`collectors.accounts`): what they write is the brand's reply, stored and shown, never counted.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    own: bool = False
    exclusions: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)

    def all_names(self) -> list[str]:
        """The name and aliases, the name first, without repeats."""
        seen: dict[str, None] = {self.name: None}
        for alias in self.aliases:
            seen.setdefault(alias, None)
        return list(seen)


class DisplaySettings(BaseModel):
    """How people see times and text: the zone dates are shown in, and the interface language."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "Europe/Moscow"
    language: Language = "ru"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Moscow)") from exc
        return value


class PipelineSettings(BaseModel):
    """Queue sizes and batching: bounded so a fast source cannot outrun the model and exhaust memory."""

    model_config = ConfigDict(extra="forbid")

    queue_size: int = Field(default=2000, ge=1)
    tag_batch_size: int = Field(default=512, ge=1)
    flush_interval_s: float = Field(default=0.5, gt=0)
    #: Re-poll likes/reposts/comments/views of mentions this young, this often: resonance is about growth.
    refresh_window_h: float = Field(default=6.0, ge=0)
    refresh_every_min: float = Field(default=15.0, gt=0)


class Config(BaseModel):
    """The whole ``loyalty.toml``."""

    model_config = ConfigDict(extra="forbid")

    storage: StorageSettings = Field(default_factory=StorageSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    display: DisplaySettings = Field(default_factory=DisplaySettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    brands: list[BrandSettings] = Field(default_factory=list)
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    responses: ResponsesSettings = Field(default_factory=ResponsesSettings)

    @model_validator(mode="before")
    @classmethod
    def _typed_sources(cls, data: Any) -> Any:
        """Validate each ``[sources.<name>]`` with the settings model its collector registered."""
        if not isinstance(data, Mapping) or not isinstance(data.get("sources"), Mapping):
            return data
        from collectors.registry import settings_model

        sources: dict[str, Any] = {}
        errors: list[str] = []
        for name, table in data["sources"].items():
            try:
                model = settings_model(name)
            except KeyError as exc:
                errors.append(f"sources.{name}: {exc.args[0]}")
                continue
            try:
                sources[name] = model.model_validate(table)
            except ValidationError as exc:
                errors.extend(_format_errors(exc, prefix=f"sources.{name}"))
        if errors:
            raise ConfigError("; ".join(errors))
        return {**data, "sources": sources}

    @model_validator(mode="after")
    def _digest_destinations_exist(self) -> Config:
        known = destination_names(self.alerts.destinations)
        unknown = [n for n in self.digest.destinations if n not in known]
        if unknown:
            raise ValueError(
                f"digest.destinations: no alert destination named {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(known) or 'none'})"
            )
        return self

    @model_validator(mode="after")
    def _comments_follow_the_refresh_window(self) -> Config:
        """Telegram comments are re-polled while a post is young: by default the engagement refresh
        window (``pipeline.refresh_window_h``), unless ``comments_window_h`` is set for the source."""
        for settings in self.sources.values():
            if "comments_window_h" in type(settings).model_fields and (
                getattr(settings, "comments_window_h", None) is None and self.pipeline.refresh_window_h > 0
            ):
                setattr(settings, "comments_window_h", self.pipeline.refresh_window_h)  # noqa: B010
        return self

    @model_validator(mode="after")
    def _accounts_known(self) -> Config:
        """Every ``brands[i].accounts[j]`` names a source and an id of the form that source reports; one
        account belongs to one brand."""
        from collectors.accounts import parse_account

        owner: dict[tuple[str, str], str] = {}
        for i, brand in enumerate(self.brands):
            for j, spec in enumerate(brand.accounts):
                try:
                    account = parse_account(spec)
                except ValueError as exc:
                    raise ConfigError(f"brands[{i}].accounts[{j}]: {exc}") from None
                key = (account.source, account.author_id)
                if owner.setdefault(key, brand.name) != brand.name:
                    raise ConfigError(
                        f"brands[{i}].accounts[{j}]: {account} is already an account of {owner[key]!r}"
                    )
        return self

    def brand_accounts(self) -> dict[tuple[str, str], str]:
        """(source, normalised author id) -> the brand whose own account it is."""
        from collectors.accounts import parse_account

        out: dict[tuple[str, str], str] = {}
        for brand in self.brands:
            for spec in brand.accounts:
                account = parse_account(spec)
                out[(account.source, account.author_id)] = brand.name
        return out

    @model_validator(mode="after")
    def _brand_names_unique(self) -> Config:
        names = [b.name for b in self.brands]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"brand names must be unique; repeated: {', '.join(dupes)}")
        return self

    def dashboard_setup(self) -> DashboardSetup:
        """What the dashboard is given of this config (it never reads the file itself)."""
        return DashboardSetup(
            db_url=self.storage.url,
            timezone=self.display.timezone,
            language=self.display.language,
            brands=tuple(b.name for b in self.brands),
            own_brands=tuple(b.name for b in self.own_brands()),
            brand_terms=tuple(dict.fromkeys(n for b in self.brands for n in b.all_names())),
            dashboard=self.dashboard,
        )

    def response_tracker(self, store: Any) -> Any:
        """The :class:`loyalty_index.responses.ResponseTracker` for these brands and settings; the alert
        rules' escalation terms and each brand's people make a case urgent too."""
        from loyalty_index.responses import ResponseTracker

        esc = self.alerts.escalation_terms
        terms = [*esc.regulators, *esc.media, *esc.extra_terms, *(p for b in self.brands for p in b.people)]
        return ResponseTracker(
            store, self.responses, [(b.name, b.own) for b in self.brands], escalation_terms=terms
        )

    def own_brands(self) -> list[BrandSettings]:
        """Our brands (``own = true``)."""
        return [b for b in self.brands if b.own]

    def alert_brands(self) -> list[AlertBrand]:
        """The brands as the alert rules see them (``alerts`` takes its own settings, not this config)."""
        return [
            AlertBrand(b.name, own=b.own, names=tuple(b.all_names()), people=tuple(b.people))
            for b in self.brands
        ]

    def brand(self, name: str) -> BrandSettings:
        """The brand called ``name``; ``KeyError`` naming it when there is none."""
        for brand in self.brands:
            if brand.name == name:
                return brand
        raise KeyError(f"no brand named {name!r} in the config")


def _format_errors(exc: ValidationError, prefix: str = "") -> list[str]:
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        out.append(f"{path or '(top level)'}: {msg}")
    return out


def parse_config(data: Mapping[str, Any], origin: str = "<config>") -> Config:
    """Validate a parsed TOML mapping; every problem is reported with its key path."""
    try:
        config = Config.model_validate(dict(data))
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    except ValidationError as exc:
        nested = [e for e in exc.errors() if isinstance(e.get("ctx", {}).get("error"), ConfigError)]
        if nested:
            raise ConfigError(f"{origin}: {nested[0]['ctx']['error']}") from None
        raise ConfigError(f"{origin}: " + "; ".join(_format_errors(exc))) from None
    problems = [f"{path}: {problem}" for path, value in env_names(config) if (problem := _env_problem(value))]
    if problems:
        raise ConfigError(f"{origin}: " + "; ".join(problems))
    try:
        check_db_url(config.storage.url)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: storage.url: {exc}") from None
    return config


def env_names(config: BaseModel, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(key path, value)`` of every setting ending in ``_env`` (the names of secrets), at any depth.

    Walking the models rather than listing keys means a plugin's new ``*_env`` key is checked too.
    """
    for name in type(config).model_fields:
        value = getattr(config, name)
        path = f"{prefix}{name}"
        if name.endswith("_env") and isinstance(value, str):
            yield path, value
        elif isinstance(value, BaseModel):
            yield from env_names(value, f"{path}.")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from env_names(item, f"{path}[{i}].")
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    yield from env_names(item, f"{path}.{key}.")


def _env_problem(value: str) -> str | None:
    """Why ``value`` is not an environment variable name, without echoing it when it may be a secret."""
    if ENV_NAME.fullmatch(value):
        return None
    looks_like_a_name = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", value) is not None
    if looks_like_a_name and sum(c.isdigit() for c in value) <= 2 and ("_" in value or len(value) <= 12):
        return f"must name an environment variable in capitals, such as {value.upper()!r} (got {value!r})"
    return (
        "must name an environment variable such as VK_TOKEN, not hold the secret itself "
        "(the value is not shown; put the secret in the environment and its name here)"
    )


def check_db_url(url: str) -> str:
    """``url`` when it is a SQLite or PostgreSQL URL SQLAlchemy can use; else :class:`ConfigError`
    in one line (with any password in it hidden)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        shown = url if len(url) <= 60 else url[:57] + "..."
        raise ConfigError(f"{scrub(shown)!r} is not a database URL ({_DB_HINT})") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        shown = parsed.render_as_string(hide_password=True)
        raise ConfigError(f"{shown!r}: {backend} is not supported ({_DB_HINT})")
    return url


def register_config_secrets(config: Config, env: Mapping[str, str] | None = None) -> None:
    """Teach the scrubber every secret the config names: the values of its ``*_env`` variables, the
    database password, and keys in the query strings of configured URLs (``?apikey=...``)."""
    env = os.environ if env is None else env
    for _, name in env_names(config):
        register_secret(env.get(name))
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        register_secret(make_url(config.storage.url).password)
    except (ArgumentError, ValueError):
        pass
    for text in _strings([config.sources, config.alerts, config.dashboard]):
        for value in secret_query_values(text):
            register_secret(value)


def _strings(value: object) -> Iterator[str]:
    """Every string inside settings models (by their runtime class: a collector's own keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _strings(getattr(value, name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def load_config(path: str | Path | None, db_url: str | None = None) -> Config:
    """Read ``path`` (or use defaults when ``None``) and apply a ``--db`` override."""
    if path is None:
        config = Config()
    else:
        p = Path(path)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"{p}: no such config file (create one with `loyalty-monitor init`)") from None
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read it: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise ConfigError(
                f"{p}: line {line}, column {column}: not UTF-8 (byte 0x{raw[exc.start]:02X}); "
                "save the file as UTF-8"
            ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        config = parse_config(data, origin=str(p))
    if db_url:
        try:
            check_db_url(db_url)
        except ConfigError as exc:
            raise ConfigError(f"--db: {exc}") from None
        config = config.model_copy(update={"storage": StorageSettings(url=db_url)})
    return config
