"""Token buckets: the request budget of one API key, shared by every client that uses the key.

PowerOffice Go allows 10 requests/s per subscription key across all tenants; Chargebee a
number of requests per minute per site. One `TokenBucket` stands for one such budget, and
`TokenBucketRegistry` hands the same bucket to every client built for the same budget key,
so that two connections sharing a subscription key never spend it twice.

Writes go first: a caller asks with a `Priority`, and a `Priority.POLL` caller (a poller's
listing) only gets a grant no `Priority.WRITE` caller (a sink's read or write, a token, a
start-up check) is waiting for — except that polls are guaranteed ``poll_share`` of the
budget while they wait, so they never starve. `TokenBucket.poll_rate` tells the poll
schedule what writes leave to polls, so the poll cadence stretches while writes take the
budget.

When the server answers 429 anyway, `pause_for` holds every caller of the bucket back for
the `Retry-After` time instead of letting each retry on its own (no 429 storms).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import time
from collections import deque
from collections.abc import Callable
from enum import IntEnum

__all__ = [
    "DEFAULT_POLL_SHARE",
    "Priority",
    "TokenBucket",
    "TokenBucketRegistry",
    "budget_key",
]

#: The part of a budget polls are guaranteed while writes are waiting.
DEFAULT_POLL_SHARE = 0.1

#: Seconds over which `TokenBucket.poll_rate` measures what writes took.
WRITE_WINDOW = 5.0


class Priority(IntEnum):
    """Who asks for a grant: a write is served before a poll that waits beside it."""

    WRITE = 0
    POLL = 1


class TokenBucket:
    """A budget of ``rate`` requests per second with bursts of up to ``capacity`` (default 1).

    The budget is a generic cell-rate schedule: each grant takes the next free slot, so with
    ``capacity`` 1 the requests are spread evenly. Slots alone do not bound what leaves the
    process when the event loop stalls, so the bucket also keeps the grant times of the last
    second and never grants more than ``rate`` (rounded up) in any sliding second, which
    is how the APIs count. Both hold whoever the grants go to.

    Callers that find the budget free and nobody waiting are granted at once; the others
    wait in one queue per `Priority`, and a timer grants the next slot to the head of the
    write queue — unless a poll is waiting and its turn is due: polls' turns come every
    ``1 / (poll_share * rate)`` s (counted from the previous poll grant), so waiting polls
    get at least ``poll_share`` of the budget. Within a priority, callers are served in
    arrival order.

    The arithmetic (`wait_time`, `next_turn`, `take`, `poll_rate`) reads the clock and
    never sleeps, so it is tested with a fake one; `acquire` is the async part.

    The sliding-second cap is ``rate`` rounded up — as many as evenly spaced slots put in a
    second anyway. (Rounded down, a worker's share of 1.6/s would be granted at 1/s.)
    """

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        poll_share: float = DEFAULT_POLL_SHARE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._clock = clock
        self._next_slot = clock()
        self._granted: deque[float] = deque()
        self._write_grants: deque[float] = deque()
        self._poll_turn = clock()
        self._waiters: dict[Priority, deque[asyncio.Future[None]]] = {
            Priority.WRITE: deque(),
            Priority.POLL: deque(),
        }
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self.set_rate(rate)
        self.set_poll_share(poll_share)

    def set_poll_share(self, share: float) -> None:
        """Guarantee waiting polls ``share`` of the budget from their next turn on."""
        if not 0 < share <= 1:
            raise ValueError("poll_share must be in (0, 1]")
        self.poll_share = share

    def set_rate(self, rate: float) -> None:
        """Change the budget from now on (a worker's share after a rebalance).

        The next free slot keeps its time; the slots after it are spaced by the new rate,
        and the sliding-second cap follows at once.
        """
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / rate
        self._tolerance = (self.capacity - 1.0) * self._interval
        self._per_second = math.ceil(rate)

    def pause_for(self, seconds: float) -> None:
        """Hold every later caller back for ``seconds`` (the server said Retry-After)."""
        resume = self._clock() + seconds
        self._next_slot = max(self._next_slot, resume + self._tolerance)

    # -- the arithmetic (pure but for the clock) -----------------------------------------

    def wait_time(self) -> float:
        """Seconds until the budget allows the next grant, to anyone (0: now)."""
        now = self._clock()
        while self._granted and self._granted[0] <= now - 1.0:
            self._granted.popleft()
        slot = self._next_slot - self._tolerance - now
        window = self._granted[0] + 1.0 - now if len(self._granted) >= self._per_second else 0
        return max(0.0, slot, window)

    def next_turn(self, *, writes_waiting: bool, polls_waiting: bool) -> Priority | None:
        """Who gets the next grant: a write, unless none waits or a waiting poll's
        guaranteed turn has come. None when nobody waits."""
        if polls_waiting and (not writes_waiting or self._clock() >= self._poll_turn):
            return Priority.POLL
        return Priority.WRITE if writes_waiting else None

    def take(self, priority: Priority) -> None:
        """Grant one request to ``priority`` now (the caller saw `wait_time` at 0)."""
        now = self._clock()
        go_at = max(now, self._next_slot - self._tolerance)
        self._next_slot = max(self._next_slot, go_at) + self._interval
        self._granted.append(now)
        if priority is Priority.POLL:
            period = 1.0 / (self.poll_share * self.rate)
            if now >= self._poll_turn:
                # A turn that came: the next one a period after it, so that waiting for
                # the slot does not erode the share, yet never banked beyond one slot.
                self._poll_turn = max(self._poll_turn + period, now + period - self._interval)
            else:
                # Served before its turn (no write waited): polls bank nothing by it.
                self._poll_turn = now + period
        else:
            self._write_grants.append(now)
            self._forget_writes_before(now - WRITE_WINDOW)

    def poll_rate(self) -> float:
        """The requests/s polls can count on now: the rate less what writes took over the
        last few seconds, at least the guaranteed share. Measured, not read off the write
        queue: one write waiting for a slot at the moment a poll starts must not slow
        polling as if the budget were taken."""
        self._forget_writes_before(self._clock() - WRITE_WINDOW)
        return max(self.poll_share * self.rate, self.rate - len(self._write_grants) / WRITE_WINDOW)

    def _forget_writes_before(self, moment: float) -> None:
        while self._write_grants and self._write_grants[0] <= moment:
            self._write_grants.popleft()

    # -- waiting -------------------------------------------------------------------------

    async def acquire(self, priority: Priority = Priority.WRITE) -> None:
        """Wait for one grant of the budget; polls give way to writes."""
        if not self._waiting() and self.wait_time() <= 0:
            self.take(priority)
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters[priority].append(waiter)
        self._arm(loop, 0.0)
        await waiter  # a cancelled waiter is dropped by the next dispatch

    def _waiting(self) -> bool:
        for queue in self._waiters.values():
            # A waiter whose caller was cancelled, or whose event loop is gone, waits no more.
            while queue and (queue[0].done() or queue[0].get_loop().is_closed()):
                queue.popleft()
        return any(self._waiters.values())

    def _arm(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        if self._timer is not None:
            if self._timer_loop is loop:
                return  # already due to dispatch: it decides afresh when it runs
            self._timer.cancel()  # left by an event loop that ended
        self._timer_loop = loop
        self._timer = loop.call_later(delay, self._dispatch)

    def _dispatch(self) -> None:
        loop = self._timer_loop
        self._timer = None
        assert loop is not None
        while self._waiting():
            wait = self.wait_time()
            if wait > 0:
                self._arm(loop, wait)
                return
            turn = self.next_turn(
                writes_waiting=bool(self._waiters[Priority.WRITE]),
                polls_waiting=bool(self._waiters[Priority.POLL]),
            )
            assert turn is not None
            self.take(turn)
            with contextlib.suppress(asyncio.InvalidStateError):
                self._waiters[turn].popleft().set_result(None)


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
