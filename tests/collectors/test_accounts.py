"""Brands' own accounts: parsed as each source reports authors; a bad one stops start-up with its key path."""

from __future__ import annotations

import pytest

from collectors.accounts import Account, account_key, parse_account
from loyalty_monitor.config import ConfigError, parse_config


@pytest.mark.parametrize(
    ("spec", "account"),
    [
        ("vk:-123456", Account("vk", "-123456")),
        ("telegram:@PolarBank", Account("telegram", "polarbank")),
        ("youtube:UCabcdefghijklmnopqrstuv", Account("youtube", "ucabcdefghijklmnopqrstuv")),
        ("bluesky:polarbank.bsky.social", Account("bluesky", "polarbank.bsky.social")),
        ("mastodon:PolarBank@mastodon.social", Account("mastodon", "polarbank@mastodon.social")),
        ("reddit:u/Polar_Support", Account("reddit", "polar_support")),
        ("vcru:42", Account("vcru", "42")),
    ],
)
def test_accounts_parse(spec: str, account: Account) -> None:
    assert parse_account(spec) == account
    assert account_key(account.source, spec.split(":", 1)[1]) == account.author_id


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("vk", "is not source:id"),
        ("myspace:polar", "unknown source 'myspace'"),
        ("vk:polarbank", "is not a vk account id"),
        ("telegram:ab", "is not a telegram account id"),
        ("youtube:polarbank", "is not a youtube account id"),
        ("rss:someone", "rss reports no author accounts"),
    ],
)
def test_bad_accounts_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_account(spec)


def test_a_bad_account_fails_the_config_with_its_key_path() -> None:
    data = {
        "brands": [
            {"name": "Поляр", "own": True, "accounts": ["vk:-1"]},
            {"name": "Север", "accounts": ["telegram:sever_bank", "vk:sever"]},
        ]
    }
    with pytest.raises(ConfigError) as err:
        parse_config(data, origin="loyalty.toml")
    assert str(err.value) == (
        "loyalty.toml: brands[1].accounts[1]: 'sever' is not a vk account id "
        "(a numeric id such as -123456 (a community) or 1234)"
    )
    data["brands"][1]["accounts"] = ["myspace:x"]
    with pytest.raises(
        ConfigError, match=r"^loyalty.toml: brands\[1\].accounts\[0\]: unknown source 'myspace'"
    ):
        parse_config(data, origin="loyalty.toml")
    data["brands"][1]["accounts"] = ["vk:-1"]
    with pytest.raises(
        ConfigError, match=r"brands\[1\].accounts\[0\]: vk:-1 is already an account of 'Поляр'"
    ):
        parse_config(data, origin="loyalty.toml")


def test_accounts_map_to_their_brand() -> None:
    config = parse_config(
        {"brands": [{"name": "Поляр", "own": True, "accounts": ["vk:-1", "telegram:@Polar"]}]}
    )
    assert config.brand_accounts() == {("vk", "-1"): "Поляр", ("telegram", "polar"): "Поляр"}
