"""Brands' own accounts: ``"vk:-123456"``, ``"telegram:polarbank"``, as each source reports its authors.

A brand lists the accounts it answers from (``[[brands]] accounts``); a mention whose ``author_id`` is one
of them is the brand's reply, not an opinion about it. The id is written the way the source's collector
fills :attr:`core.mention.Mention.author_id`, so matching is a set look-up:

======== ======================================== =============================
source   id                                       example
======== ======================================== =============================
vk       numeric ``from_id`` (a community < 0)    ``vk:-123456``
telegram channel or user name, ``@`` optional     ``telegram:polarbank``
youtube  channel id                               ``youtube:UCxxxxxxxxxxxxxxxxxxxxxx``
bluesky  handle                                   ``bluesky:polarbank.bsky.social``
mastodon ``acct`` (``user`` or ``user@host``)     ``mastodon:polarbank@mastodon.social``
reddit   user name (``u/`` optional)              ``reddit:polarbank_support``
vcru     numeric author id                        ``vcru:123456``
======== ======================================== =============================

Names are compared case-insensitively (all these platforms treat them so); RSS feeds report no accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from collectors.registry import COLLECTORS

__all__ = ["ACCOUNT_FORMATS", "Account", "account_key", "parse_account"]


@dataclass(frozen=True, slots=True)
class _Format:
    pattern: re.Pattern[str]
    hint: str


ACCOUNT_FORMATS: dict[str, _Format] = {
    "vk": _Format(re.compile(r"-?[1-9][0-9]{0,18}"), "a numeric id such as -123456 (a community) or 1234"),
    "telegram": _Format(re.compile(r"[a-z][a-z0-9_]{3,31}"), "a user or channel name such as polarbank"),
    "youtube": _Format(re.compile(r"uc[a-z0-9_-]{22}"), "a channel id: UC and 22 more characters"),
    "bluesky": _Format(
        re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+"),
        "a handle such as polarbank.bsky.social",
    ),
    "mastodon": _Format(
        re.compile(r"[a-z0-9_]+(@[a-z0-9.-]+\.[a-z]{2,})?"), "an acct such as polarbank@mastodon.social"
    ),
    "reddit": _Format(re.compile(r"[a-z0-9_-]{3,20}"), "a user name such as polarbank_support"),
    "vcru": _Format(re.compile(r"[1-9][0-9]{0,18}"), "a numeric author id"),
}
"""How each source writes author ids (lower-cased before matching), and a hint for a wrong one."""


@dataclass(frozen=True, slots=True)
class Account:
    """One own account: the source and the author id as :func:`account_key` normalises it."""

    source: str
    author_id: str

    def __str__(self) -> str:
        return f"{self.source}:{self.author_id}"


def account_key(source: str, author_id: str) -> str:
    """``author_id`` as accounts are compared: lower case, without ``@`` or Reddit's ``u/``."""
    key = author_id.strip().lower()
    if source == "reddit" and key.startswith(("u/", "/u/")):
        key = key.split("u/", 1)[1]
    return key.lstrip("@")


def parse_account(spec: str) -> Account:
    """``"source:id"`` as an :class:`Account`; ``ValueError`` saying what is wrong (the caller adds where).

    >>> parse_account("telegram:@PolarBank")
    Account(source='telegram', author_id='polarbank')
    """
    source, sep, raw_id = spec.partition(":")
    source = source.strip().lower()
    if not sep or not raw_id.strip():
        raise ValueError(f"{spec!r} is not source:id (such as vk:-123456 or telegram:polarbank)")
    if source not in COLLECTORS:
        raise ValueError(f"unknown source {source!r} (known: {', '.join(sorted(COLLECTORS))})")
    fmt = ACCOUNT_FORMATS.get(source)
    if fmt is None:
        raise ValueError(f"{source} reports no author accounts, so no reply can be matched to one")
    key = account_key(source, raw_id)
    if not fmt.pattern.fullmatch(key):
        raise ValueError(f"{raw_id.strip()!r} is not a {source} account id ({fmt.hint})")
    return Account(source, key)
