"""The UTC clock: every stored time is timezone-aware UTC, and every layer reads "now" from here.

A naive datetime is rejected rather than guessed: a collector that forgot the zone of a platform's time
would otherwise shift a whole source by hours without anyone noticing.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["floor_hour", "now_utc", "utc"]


def now_utc() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; a naive value is rejected, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no timezone; pass an aware datetime")
    return value.astimezone(UTC)


def floor_hour(at: datetime) -> datetime:
    """``at`` down to its whole hour: the hourly rules decide per ended hour of UTC, so the live engine and
    the backtest must cut hours the same way."""
    return at.replace(minute=0, second=0, microsecond=0)
