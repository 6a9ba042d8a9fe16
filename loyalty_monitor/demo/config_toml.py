"""The demo's ``loyalty.toml``: the invented brands, ready to validate with :func:`parse_config`."""

from __future__ import annotations

import json

from core.synthetic import BRANDS
from loyalty_monitor.config import BrandSettings
from loyalty_monitor.demo.replies import account_specs

__all__ = ["demo_brand_settings", "demo_config_toml"]


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string for everything we write (quotes, backslashes, Unicode).
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def demo_brand_settings() -> list[BrandSettings]:
    """The demo brands as the monitor configures them (what :func:`demo_config_toml` writes)."""
    return [
        BrandSettings(
            name=b.name,
            aliases=list(b.aliases),
            own=b.own,
            exclusions=list(b.exclusions),
            people=list(b.people),
            accounts=account_specs(b.name),
        )
        for b in BRANDS
    ]


def demo_config_toml(db_url: str) -> str:
    """A complete, commented ``loyalty.toml`` for the demo, storing mentions at ``db_url``."""
    brands = []
    for b in BRANDS:
        role = "our brand" if b.own else "a competitor"
        lines = [
            f"# {b.name}: {role} (invented for the demo)",
            "[[brands]]",
            f"name = {_toml_str(b.name)}",
            f"aliases = {_toml_list(b.aliases)}",
            f"own = {'true' if b.own else 'false'}",
        ]
        if b.exclusions:
            lines.append(
                f"exclusions = {_toml_list(b.exclusions)}  # phrases that contain an alias but mean else"
            )
        if b.people:
            lines.append(f"people = {_toml_list(b.people)}  # naming them in a complaint means escalation")
        if accounts := account_specs(b.name):
            lines.append(
                f"accounts = {_toml_list(tuple(accounts))}  # its own accounts: their posts are its replies"
            )
        brands.append("\n".join(lines))
    return f"""\
# loyalty.toml for the demo: invented banks, a synthetic stream (source "demo"), nothing real.
# Written by `loyalty_monitor.demo.demo_config_toml`; edit freely, `loyalty-monitor` validates it on start.

[storage]
# SQLite file or postgresql+psycopg://user@host/db
url = {_toml_str(db_url)}

[sentiment]
# "default" is the shipped offline model; "hf:<repo id>" or a local directory also work.
model = "default"

[display]
timezone = "Europe/Moscow"
language = "ru"

# Brands: the name first, then every spelling people use; inflections ("Полярбанка", "Поляром") are matched
# automatically, so list spellings, not cases.
{chr(10).join(b + chr(10) for b in brands)}
[alerts]
enabled = true
# Where alerts go; secrets come from the environment variables named here.
# [[alerts.destinations]]
# type = "telegram"
# base_url = "https://api.telegram.org"
# token_env = "TG_BOT_TOKEN"
# chat_id = "-1001234567890"

[dashboard]
host = "127.0.0.1"
port = 8501

# The demo needs no collectors: `loyalty-monitor demo` replays the synthetic stream instead.
# [sources.vk]
# ...
"""
