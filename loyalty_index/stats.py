"""The loyalty index of one set of counts, its Wilson interval and the support flag.

Kept free of SQL so that the SQL aggregation, the plain-Python reference in the tests and the alert rules
all share one definition of "the index" and of "too few mentions to trust it".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DEFAULT_MIN_SUPPORT", "DEFAULT_Z", "IndexValue", "loyalty_index", "wilson_interval"]

DEFAULT_Z = 1.959963984540054
"""z for a two-sided 95 % interval."""

DEFAULT_MIN_SUPPORT = 10
"""Below this many positive + negative mentions the index is flagged ``low_support``: one happy customer
would otherwise show as +1 on the dashboard."""


def wilson_interval(successes: int, n: int, z: float = DEFAULT_Z) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion; ``(0, 1)`` when ``n`` is 0.

    Wilson rather than the normal approximation because it stays inside [0, 1] and is honest at small
    ``n`` and at proportions near 0 or 1, which is exactly where a brand with few mentions sits.
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..n, got {successes} of {n}")
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # At 0 or n successes the bounds are exactly 0 or 1; rounding must not push the estimate outside.
    lo = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    hi = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return lo, hi


@dataclass(frozen=True, slots=True)
class IndexValue:
    """``index = (P - N) / (P + N)``; ``None`` (not 0) when there is nothing to measure."""

    positive: int
    negative: int
    neutral: int
    index: float | None
    ci_low: float | None
    ci_high: float | None
    low_support: bool


def loyalty_index(
    positive: int,
    negative: int,
    neutral: int = 0,
    *,
    z: float = DEFAULT_Z,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> IndexValue:
    """The index of one bucket with its 95 % interval.

    The index is ``2p - 1`` for ``p = P / (P + N)``, so its interval is the Wilson interval of ``p``
    mapped the same way. Neutral mentions do not move the index; they are carried for display.
    """
    if positive < 0 or negative < 0 or neutral < 0:
        raise ValueError("counts cannot be negative")
    n = positive + negative
    if n == 0:
        return IndexValue(positive, negative, neutral, None, None, None, True)
    lo, hi = wilson_interval(positive, n, z)
    return IndexValue(
        positive,
        negative,
        neutral,
        (positive - negative) / n,
        2 * lo - 1,
        2 * hi - 1,
        n < min_support,
    )
