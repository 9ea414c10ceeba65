"""PowerOffice Go timestamps as integers: 100-nanosecond ticks since the Unix epoch, UTC.

The API writes .NET `DateTimeOffset`s with seven fractional digits
(`2023-10-19T11:05:00.1234567Z`); Python's `datetime` keeps only six, so the connector
and the poller do their cursor arithmetic on ticks instead. Both functions are pure.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["TICKS_PER_SECOND", "format_timestamp", "parse_timestamp"]

TICKS_PER_SECOND = 10_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_PATTERN = re.compile(
    r"""
    (?P<date>\d{4}-\d{2}-\d{2})
    [Tt\ ]
    (?P<time>\d{2}:\d{2}:\d{2})
    (?:\.(?P<fraction>\d{0,7}))?
    \s*
    (?P<offset>[Zz]|[+-]\d{2}:?\d{2})
    """,
    re.VERBOSE,
)


def parse_timestamp(text: str) -> int:
    """`2023-10-19T11:05:00.1234567+02:00` → ticks since the epoch (UTC).

    Accepts 0 to 7 fractional digits, `T` or a space between date and time, and `Z` or any
    `±hh:mm` offset. Raises ValueError on anything else (a timestamp without an offset
    is ambiguous, so it is refused).
    """
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO-8601 timestamp with offset: {text!r}")
    try:
        naive = datetime.fromisoformat(f"{match['date']}T{match['time']}")
    except ValueError as exc:
        raise ValueError(f"not a valid timestamp: {text!r}") from exc
    offset = match["offset"]
    if offset in ("Z", "z"):
        shift = timedelta(0)
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise ValueError(f"not a valid UTC offset: {text!r}")
        shift = sign * timedelta(hours=hours, minutes=minutes)
    as_utc = naive.replace(tzinfo=UTC) - shift
    whole_seconds = (as_utc - _EPOCH) // timedelta(seconds=1)
    fraction = (match["fraction"] or "").ljust(7, "0")
    return whole_seconds * TICKS_PER_SECOND + int(fraction)


def format_timestamp(ticks: int) -> str:
    """Ticks since the epoch → `2023-10-19T11:05:00.1234567Z` (always seven digits, UTC)."""
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    moment = _EPOCH + timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:07d}Z"
