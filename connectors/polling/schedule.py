"""When each poll is due: a budget-aware, fair schedule of many connections' polls.

A *lane* is what is polled in one go: one connection's sources of one system (its
PowerOffice Go resources, or its Chargebee site). Each lane spends from one *budget* (a
request rate: PowerOffice Go's per subscription key, shared by every connection;
Chargebee's per site) and costs a known number of listings per poll (one per source, more
when a source read several pages; the last poll's count is the next estimate).

The rules, all pure (time is passed in, nothing sleeps here):

- **Cadence from the budget.** A lane wants to be polled every ``interval`` (the fastest
  cadence), times its idle factor, or every ``safety_interval`` while it is a safety net.
  When the lanes sharing a budget want more listings per second than the budget's usable
  rate (its rate less ``write_reserve``, the share left for the sinks' writes), the
  fastest wishes are slowed to one common cycle, the shortest the budget sustains
  (`sustainable_cycle`, a water level: with equal wishes it is listings per cycle ÷
  usable rate), while lanes that wish to be slower keep their wish. So an idle lane is
  never polled less often than every max(its wish, that cycle).
- **Never over budget.** Whatever the estimates, a *pacer* per budget lets a poll start
  only once the listings of the polls started before it fit the usable rate; a poll that
  cost more than estimated pushes the pacer back by the difference.
- **Writes first.** The pacer spends at most what the budget's writes leave to polls now
  (``spare``: the budget's `TokenBucket.poll_rate`, its rate less what writes took over
  the last seconds), so the cadence stretches while writes take the budget and recovers
  after them.
- **Fair.** Of the lanes due, the earliest due starts first (ties: the one polled least
  recently), so under a saturated budget lanes take turns and none starves.
- **Activity.** A quiet poll doubles a lane's idle factor (from its next start) up to
  ``idle_backoff``; a poll that published something, or a webhook, snaps every lane of
  the connection back to 1 at once.
- **Safety net.** A lane marked safe (its changes arrive by webhook) is polled only every
  ``safety_interval``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "Lane",
    "PollSchedule",
    "ScheduleSettings",
    "sustainable_cycle",
]


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """``interval``: the fastest cadence (s); ``idle_backoff``: the largest idle factor;
    ``write_reserve``: the fraction of every budget polls leave to writes;
    ``safety_interval``: the cadence of a lane whose changes arrive by webhook (s)."""

    interval: float
    idle_backoff: float = 4.0
    write_reserve: float = 0.1
    safety_interval: float = 300.0

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise ValueError("interval must be positive")
        if self.idle_backoff < 1:
            raise ValueError("idle_backoff must be at least 1")
        if not 0 <= self.write_reserve < 1:
            raise ValueError("write_reserve must be in [0, 1)")
        if self.safety_interval <= 0:
            raise ValueError("safety_interval must be positive")


@dataclass(eq=False, slots=True)
class Lane:
    """One connection's sources of one system; the schedule's state of them."""

    connection: str
    system: str
    budget: Hashable
    nominal_cost: float  # listings of a poll that reads one page per source
    cost: float = 0.0  # listings the next poll is expected to cost
    due: float = 0.0
    idle_factor: float = 1.0
    quiet: bool = False  # its last poll published nothing, and nothing woke it since
    safety_net: bool = False
    running: bool = False
    polls: int = 0  # polls finished
    started_at: float | None = None
    cycle: float | None = None  # achieved: seconds between the last two starts
    waits_for: Lane | None = None  # not started before that lane's first poll finished
    order: int = 0  # start sequence, the tie-breaker

    def __post_init__(self) -> None:
        self.cost = self.cost or self.nominal_cost

    @property
    def key(self) -> tuple[str, str]:
        return (self.connection, self.system)


def sustainable_cycle(wishes: Iterable[tuple[float, float]], usable_rate: float) -> float:
    """The shortest cycle the lanes sharing a budget can all be held to: ``wishes`` are
    (listings per poll, wished period in s) pairs; every lane is then polled every
    max(its wish, this cycle) and together they spend at most ``usable_rate`` listings/s.
    0.0 when every wish fits already."""
    ordered = sorted(wishes, key=lambda wish: wish[1])
    uncapped = sum(cost / period for cost, period in ordered)
    if uncapped <= usable_rate:
        return 0.0
    if usable_rate <= 0:
        return float("inf")
    capped_cost = 0.0
    for i, (cost, period) in enumerate(ordered):
        # Lanes 0..i poll at the common cycle; the slower ones keep their wish.
        capped_cost += cost
        uncapped -= cost / period
        left = usable_rate - uncapped
        if left <= 0:
            continue
        cycle = capped_cost / left
        following = ordered[i + 1][1] if i + 1 < len(ordered) else float("inf")
        if cycle <= following:
            return cycle
    return capped_cost / usable_rate


#: Never-started lanes sort before every started one, in the order they were added.
_NEVER_STARTED = 1 << 40


@dataclass(slots=True)
class _Pacer:
    next_free: float = float("-inf")


@dataclass
class PollSchedule:
    """The lanes of every connection and when each may next start.

    ``rates`` gives each budget's current rate (requests/s), read at every decision (a
    budget may change at runtime); a budget without an entry is unlimited. ``spare``
    gives what writes leave of a budget to polls now (default: all of it); the pacer
    spends no more than that. ``owns``
    (default: everything) says which connections are this process's to poll: the others
    are neither started nor counted against a budget.
    """

    settings: ScheduleSettings
    rates: Mapping[Hashable, Callable[[], float]] = field(default_factory=dict)
    spare: Mapping[Hashable, Callable[[], float]] = field(default_factory=dict)
    owns: Callable[[str], bool] = lambda _connection: True
    lanes: list[Lane] = field(default_factory=list)
    _pacers: dict[Hashable, _Pacer] = field(default_factory=dict)
    _started: int = 0

    def add(
        self,
        connection: str,
        system: str,
        *,
        budget: Hashable,
        cost: float,
        waits_for: Lane | None = None,
        now: float = 0.0,
    ) -> Lane:
        lane = Lane(connection, system, budget, nominal_cost=max(cost, 1.0), due=now)
        lane.waits_for = waits_for
        self.lanes.append(lane)
        lane.order = len(self.lanes) - _NEVER_STARTED
        return lane

    # -- cadence -------------------------------------------------------------------------

    def usable_rate(self, budget: Hashable) -> float:
        rate = self.rates.get(budget)
        if rate is None:
            return float("inf")
        return max(rate(), 0.0) * (1.0 - self.settings.write_reserve)

    def pacing_rate(self, budget: Hashable) -> float:
        """The rate the pacer lets polls spend now: the usable rate, or less while the
        budget's writes take more than the write reserve."""
        rate = self.usable_rate(budget)
        spare = self.spare.get(budget)
        return rate if spare is None else min(rate, max(spare(), 0.0))

    def wished_period(self, lane: Lane) -> float:
        if lane.safety_net:
            return max(self.settings.safety_interval, self.settings.interval)
        return self.settings.interval * lane.idle_factor

    def cycle(self, budget: Hashable) -> float:
        """The shortest cycle ``budget`` sustains for the lanes this process owns now."""
        rate = self.usable_rate(budget)
        if rate == float("inf"):
            return 0.0
        return sustainable_cycle(
            (
                (lane.cost, self.wished_period(lane))
                for lane in self.lanes
                if lane.budget == budget and self.owns(lane.connection)
            ),
            rate,
        )

    def period(self, lane: Lane) -> float:
        """The lane's target cycle: its wish, or its budget's cycle when that is longer."""
        return max(self.wished_period(lane), self.cycle(lane.budget))

    def mode(self, lane: Lane) -> str:
        if lane.safety_net:
            return "safety-net"
        return "idle" if lane.quiet else "active"

    # -- starting --------------------------------------------------------------------------

    def _ready(self, lane: Lane) -> bool:
        first = lane.waits_for
        return (
            not lane.running
            and self.owns(lane.connection)
            and (first is None or first.polls > 0 or not self.owns(first.connection))
        )

    def _pacer(self, budget: Hashable) -> _Pacer:
        return self._pacers.setdefault(budget, _Pacer())

    def next_start(self, now: float) -> Lane | None:
        """The lane to start now, if any: due, its budget's pacer free, earliest due first
        and, among equals, the one started least recently."""
        candidates = [
            lane
            for lane in self.lanes
            if self._ready(lane) and lane.due <= now and self._pacer(lane.budget).next_free <= now
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda lane: (lane.due, lane.order))

    def wait(self, now: float) -> float | None:
        """Seconds until some lane may start (0: now); None when none is waiting."""
        times = [
            max(lane.due, self._pacer(lane.budget).next_free)
            for lane in self.lanes
            if self._ready(lane)
        ]
        return max(0.0, min(times) - now) if times else None

    def start(self, lane: Lane, now: float) -> None:
        """``lane``'s poll starts: charge its estimated listings to its budget's pacer."""
        if lane.started_at is not None:
            lane.cycle = now - lane.started_at
        lane.started_at = now
        lane.running = True
        self._started += 1
        lane.order = self._started
        pacer = self._pacer(lane.budget)
        rate = self.pacing_rate(lane.budget)
        if rate > 0 and rate != float("inf"):
            pacer.next_free = max(pacer.next_free, now) + lane.cost / rate
        elif rate <= 0:
            pacer.next_free = now + self.settings.interval  # no budget: look again later
        lane.due = now + self.period(lane)

    def finish(
        self, lane: Lane, now: float, *, listings: float, active: bool, extra: float = 0.0
    ) -> None:
        """``lane``'s poll ended having spent ``listings`` requests, and ``extra`` ones on
        work that does not come back every poll (the deletion watch); ``active``: it
        published something."""
        lane.running = False
        lane.polls += 1
        rate = self.pacing_rate(lane.budget)
        if 0 < rate < float("inf"):
            pacer = self._pacer(lane.budget)
            pacer.next_free += (listings + extra - lane.cost) / rate  # settle the estimate
        lane.cost = max(listings, lane.nominal_cost)
        lane.quiet = not active
        if active:
            self.wake(lane.connection)
        else:
            # Slower from the next start on: its period is decided when it starts, against
            # the other lanes' state then, so that lanes going idle one after another do
            # not each see the others' old, faster wishes.
            lane.idle_factor = min(lane.idle_factor * 2, self.settings.idle_backoff)

    # -- signals -----------------------------------------------------------------------------

    def wake(self, connection: str) -> None:
        """Activity on ``connection`` (a poll published, a webhook came): its lanes go back
        to the fastest cadence (a safety-net lane stays slow)."""
        for lane in self.lanes:
            if lane.connection != connection:
                continue
            lane.quiet = False
            if lane.idle_factor != 1.0:
                lane.idle_factor = 1.0
                self._reschedule(lane)

    def set_safety_net(self, lane: Lane, on: bool) -> None:
        if lane.safety_net != on:
            lane.safety_net = on
            lane.idle_factor = 1.0
            self._reschedule(lane)

    def _reschedule(self, lane: Lane) -> None:
        if lane.started_at is not None:
            lane.due = lane.started_at + self.period(lane)
