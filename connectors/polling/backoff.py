"""Waiting longer after each consecutive failure: the publisher's pause while Kafka is down.

`Backoff` only does the arithmetic and the waiting: after ``n`` failures in a row the next
attempt waits ``min(cap, first * 2**(n-1))`` seconds from the last failure; one success
resets it. The clock and the sleep are injectable, so tests need no real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    first: float = 1.0
    cap: float = 30.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    failures: int = 0
    _retry_at: float = field(default=0.0, repr=False)

    def delay(self) -> float:
        """Seconds between the last failure and the next attempt (0 after a success)."""
        if self.failures == 0:
            return 0.0
        return float(min(self.cap, self.first * 2.0 ** (self.failures - 1)))

    def failed(self) -> None:
        self.failures += 1
        self._retry_at = self.clock() + self.delay()

    def succeeded(self) -> None:
        self.failures = 0
        self._retry_at = 0.0

    async def wait(self) -> None:
        """Return when the next attempt is due (at once unless failures came before)."""
        remaining = self._retry_at - self.clock()
        if remaining > 0:
            await self.sleep(remaining)
