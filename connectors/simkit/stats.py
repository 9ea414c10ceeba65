"""Counts of the requests a simulator served, by method, route template and status, and
the most it was serving at once (how concurrent its clients are)."""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["DROPPED", "RequestStats"]

#: The status recorded for a request whose connection the simulator dropped on purpose.
DROPPED = 0


class RequestStats:
    """A counter of (method, route template, status) triples."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self.in_flight = 0
        self.most_in_flight = 0

    def started(self, method: str, route: str) -> None:
        """A request arrived (`ended` when it is answered)."""
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def ended(self, method: str, route: str) -> None:
        self.in_flight -= 1

    def record(self, method: str, route: str, status: int) -> None:
        self._counts[(method, route, status)] += 1

    def reset(self) -> None:
        self._counts.clear()
        self.most_in_flight = self.in_flight

    def count(
        self, method: str | None = None, route: str | None = None, status: int | None = None
    ) -> int:
        """How many requests matched every given part."""
        return sum(
            n
            for (m, r, s), n in self._counts.items()
            if (method is None or m == method)
            and (route is None or r == route)
            and (status is None or s == status)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": [
                {"method": m, "route": r, "status": s, "count": n}
                for (m, r, s), n in sorted(self._counts.items())
            ],
            "most_in_flight": self.most_in_flight,
        }
