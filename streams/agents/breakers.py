"""Which targets are known to be failing right now, per connection: while one is, its
commands are parked at once instead of each spending a round of retries first.

In memory only: after a restart the first command simply tries again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Breakers"]


@dataclass
class Breakers:
    _open_until: dict[tuple[str, str], int] = field(default_factory=dict)
    _reasons: dict[tuple[str, str], str] = field(default_factory=dict)

    def open_until(self, connection: str, target: str, *, now_ms: int) -> int | None:
        """When the target may be tried again, or None when it may be tried now."""
        until = self._open_until.get((connection, target))
        return until if until is not None and until > now_ms else None

    def reason(self, connection: str, target: str) -> str:
        return self._reasons.get((connection, target), "")

    def trip(self, connection: str, target: str, *, until_ms: int, reason: str) -> None:
        self._open_until[(connection, target)] = until_ms
        self._reasons[(connection, target)] = reason

    def close(self, connection: str, target: str) -> None:
        self._open_until.pop((connection, target), None)
        self._reasons.pop((connection, target), None)
