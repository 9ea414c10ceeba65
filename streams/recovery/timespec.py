"""TIME of `ledgerlink replay --since`: an ISO-8601 instant or a duration back from now.

`90m`, `1h`, `1h30m`, `2d`, `45s` count back from now; `2026-11-27T01:00:00Z` or with an
offset is an instant (a time without a zone is UTC). Pure, so its table of cases is
tested without a clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from streams.recovery import RecoveryError

__all__ = ["parse_since"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:(\d+)([smhdw]))+")
_PART = re.compile(r"(\d+)([smhdw])")


def parse_since(text: str, *, now_ms: int) -> int:
    """The instant ``text`` names, in ms since the epoch; `RecoveryError` when it names none
    or names the future."""
    spec = text.strip()
    if _DURATION.fullmatch(spec):
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(spec))
        if seconds == 0:
            raise RecoveryError(f"--since {text!r}: a duration must be longer than 0")
        return now_ms - seconds * 1000
    try:
        moment = datetime.fromisoformat(spec.replace("z", "Z"))
    except ValueError:
        raise RecoveryError(
            f"--since {text!r} is neither an ISO-8601 time (2026-11-27T01:00:00Z) "
            "nor a duration (90m, 1h, 2d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    at_ms = int(moment.timestamp() * 1000)
    if at_ms > now_ms:
        raise RecoveryError(f"--since {text!r} is in the future")
    return at_ms
