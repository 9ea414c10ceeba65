"""The simulators' side of rate limits: a sliding window of request times per budget key."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

__all__ = ["SlidingWindowLimiter"]


class SlidingWindowLimiter:
    """At most ``limit`` requests per ``window`` seconds per key.

    `check` records the request when it is allowed and returns None; otherwise it returns
    the whole seconds until a slot frees up (what the server puts in `Retry-After`).
    Also remembers the highest number of requests seen in any window, for tests.
    """

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self.peak = 0

    def check(self, key: str) -> int | None:
        if self.limit <= 0:
            return None
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window - now))
        hits.append(now)
        self.peak = max(self.peak, len(hits))
        return None

    def reset(self) -> None:
        self._hits.clear()
        self.peak = 0
