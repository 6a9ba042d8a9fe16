"""Perturbed copies of targeted training pairs: the transfer set the fast model is distilled over."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from sentiment.data import Example

__all__ = ["augmented_examples"]


def _chunk_roles(chunks: Sequence[str], e: Example) -> list[bool]:
    """Per whitespace chunk: does it hold (part of) a brand name, the target's or another's?"""
    from sentiment.text import locate, tokenize

    toks = [tokenize(c) for c in chunks]
    roles = locate([t for ts in toks for t in ts], e.target, e.aliases, e.other_brands)
    out, i = [], 0
    for ts in toks:
        out.append(any(roles[i : i + len(ts)]))
        i += len(ts)
    return out


@lru_cache(maxsize=65536)
def _pos(chunk: str) -> str | None:
    from core.text import analyser, fold

    word = fold(chunk.strip(".,!?:;()\"'«»-"))
    if not word.isalpha():
        return None
    return str(analyser().parse(word)[0].tag.POS)


def augmented_examples(examples: Sequence[Example], per_example: int, seed: int = 0) -> list[Example]:
    """``per_example`` perturbed copies of each targeted pair, unlabelled (``label`` is a placeholder).

    Why: the BiGRU cannot reach the fine-tuned transformer by copying its probabilities on the 14k real
    pairs alone; a larger transfer set of nearby texts, each scored by the teacher, passes on how the
    teacher's judgement changes as words change. Perturbations as in Tang et al. 2019 ("Distilling
    task-specific knowledge from BERT into simple neural networks"), on whitespace chunks so case and
    punctuation survive for the teacher: drop a chunk (p 0.1), swap it for a corpus word of the same part
    of speech (p 0.1), then with p 0.25 keep only a window of 4-12 chunks around the target. Brand names
    are never touched. The seed is fixed apart from the training seed, so one teacher scoring serves all.
    """
    rng = random.Random(seed)
    targeted = [e for e in examples if e.target is not None]
    by_pos: dict[str, list[str]] = {}
    seen: set[str] = set()
    for e in targeted:
        for c in e.text.split():
            if c not in seen:
                seen.add(c)
                pos = _pos(c)
                if pos:
                    by_pos.setdefault(pos, []).append(c)
    out: list[Example] = []
    have = {(e.text, e.target) for e in targeted}
    for e in targeted:
        assert e.target is not None
        chunks = e.text.split()
        brand = _chunk_roles(chunks, e)
        where = [i for i, b in enumerate(brand) if b]
        for _ in range(per_example):
            new: list[str] = []
            keep: list[bool] = []
            for c, b in zip(chunks, brand, strict=True):
                r = rng.random()
                if b or r >= 0.2:
                    new.append(c)
                elif r < 0.1:
                    continue
                else:
                    pool = by_pos.get(_pos(c) or "", [])
                    new.append(rng.choice(pool) if pool else c)
                keep.append(b)
            if where and len(new) > 6 and rng.random() < 0.25:
                at = rng.choice([i for i, b in enumerate(keep) if b])
                width = rng.randint(4, 12)
                lo = max(0, at - rng.randint(0, width - 1))
                new = new[lo : lo + width]
            text = " ".join(new)
            if (text, e.target) not in have:
                have.add((text, e.target))
                out.append(replace(e, text=text, source="augmented"))
    return out
