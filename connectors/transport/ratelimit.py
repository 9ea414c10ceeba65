"""Token buckets: the request budget of one API key, shared by every client that uses the key.

PowerOffice Go allows 10 requests/s per subscription key across all tenants; Chargebee a
number of requests per minute per site. One `TokenBucket` stands for one such budget, and
`TokenBucketRegistry` hands the same bucket to every client built for the same budget key,
so that two connections sharing a subscription key never spend it twice.

When the server answers 429 anyway, `pause_for` holds every caller of the bucket back for
the `Retry-After` time instead of letting each retry on its own (no 429 storms).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import deque
from collections.abc import Callable

__all__ = ["TokenBucket", "TokenBucketRegistry", "budget_key"]


class TokenBucket:
    """A budget of ``rate`` requests per second with bursts of up to ``capacity`` (default 1).

    Implemented as a generic cell-rate schedule: each `acquire` reserves the next free slot
    and sleeps until it, so callers are served in arrival order without a lock (and the bucket
    is not bound to one event loop). With ``capacity`` 1 the requests are spread evenly.

    Slots alone do not bound what leaves the process: when the event loop stalls, callers
    whose slots passed meanwhile all wake at once. So `acquire` also keeps the actual grant
    times of the last second and never grants more than ``rate`` rounded up in any sliding
    second, which is how the APIs count: as many as evenly spaced slots put in a second
    anyway. (Rounded down, a worker's share of 1.6/s would be granted at 1/s.)
    """

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._clock = clock
        self._next_slot = clock()
        self._granted: deque[float] = deque()
        self.set_rate(rate)

    def set_rate(self, rate: float) -> None:
        """Change the budget from now on (a worker's share after a rebalance).

        Slots already reserved keep their times; the next reservation is spaced by the new
        rate, and the sliding-second cap follows at once.
        """
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / rate
        self._tolerance = (self.capacity - 1.0) * self._interval
        self._per_second = math.ceil(rate)

    def reserve(self) -> float:
        """Reserve the next slot; return how many seconds to wait for it (0 when free now)."""
        now = self._clock()
        go_at = max(now, self._next_slot - self._tolerance)
        self._next_slot = max(self._next_slot, go_at) + self._interval
        return go_at - now

    def pause_for(self, seconds: float) -> None:
        """Hold every later caller back for ``seconds`` (the server said Retry-After)."""
        resume = self._clock() + seconds
        self._next_slot = max(self._next_slot, resume + self._tolerance)

    def _window_wait(self) -> float:
        """Seconds until a grant keeps the last sliding second within the rate (0: grant now)."""
        now = self._clock()
        while self._granted and self._granted[0] <= now - 1.0:
            self._granted.popleft()
        if len(self._granted) < self._per_second:
            self._granted.append(now)
            return 0.0
        return self._granted[0] + 1.0 - now

    async def acquire(self) -> None:
        """Wait for one slot of the budget."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            wait = self._window_wait()
            if wait <= 0:
                return
            await asyncio.sleep(wait)


def budget_key(*parts: str) -> str:
    """A registry key for a budget named by secrets (a subscription key) that keeps no secret."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


class TokenBucketRegistry:
    """Hands out one `TokenBucket` per budget key, created on first use."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def get(self, key: str, rate: float, capacity: float = 1.0) -> TokenBucket:
        """The bucket of ``key``; ``rate`` and ``capacity`` apply only when it is new."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate, capacity)
            self._buckets[key] = bucket
        return bucket


#: The process-wide registry: budgets are per key, not per client object.
shared_buckets = TokenBucketRegistry()
