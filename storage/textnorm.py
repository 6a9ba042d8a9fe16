"""Copy detection: reposts and near-identical copies of one text share a hash.

Syndicated copies, "RT"-style reposts and bots that change a link or a mention would otherwise count the same
complaint many times in the index. The normalisation drops what copies typically change (links, @handles,
hashtag signs, punctuation, case, ё/е, emoji and spacing) and keeps the words. It is not
:func:`core.text.fold`, which only folds case and ё and keeps everything else (and every offset).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from core.text import fold

__all__ = ["dedup_form", "text_hash"]

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_REPOST = re.compile(r"^\s*(rt|репост|repost)\b[:\s]*", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+")


def dedup_form(text: str) -> str:
    """The form copies of one text share: its folded words, without links, handles, punctuation and repost
    markers."""
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _REPOST.sub(" ", text)
    text = fold(text)
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


def text_hash(text: str) -> str:
    """A 32-hex-digit hash of :func:`dedup_form`."""
    return hashlib.blake2b(dedup_form(text).encode("utf-8"), digest_size=16).hexdigest()
