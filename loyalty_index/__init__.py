"""The loyalty index: ``(positive - negative) / (positive + negative)`` per brand, channel and period.

See :mod:`loyalty_index.index` for the SQL aggregation and :mod:`loyalty_index.stats` for the definition
of one value (with its Wilson interval and the minimum-support flag).
"""

from __future__ import annotations

from loyalty_index.index import (
    INDEX_COLUMNS,
    Bucket,
    IndexPoint,
    ShareOfVoice,
    bucket_start,
    bucket_starts,
    index_series,
    index_table_rows,
    index_window,
    rolling_index,
    share_of_voice,
)
from loyalty_index.stats import DEFAULT_MIN_SUPPORT, IndexValue, loyalty_index, wilson_interval

__all__ = [
    "DEFAULT_MIN_SUPPORT",
    "INDEX_COLUMNS",
    "Bucket",
    "IndexPoint",
    "IndexValue",
    "ShareOfVoice",
    "bucket_start",
    "bucket_starts",
    "index_series",
    "index_table_rows",
    "index_window",
    "loyalty_index",
    "rolling_index",
    "share_of_voice",
    "wilson_interval",
]
