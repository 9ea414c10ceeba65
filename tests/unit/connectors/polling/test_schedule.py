"""The poll schedule: cadence from the budget, fairness, activity, the webhook safety net,
and never more listings than a budget allows, in a simulated clock."""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from connectors.polling.schedule import Lane, PollSchedule, ScheduleSettings, sustainable_cycle

PO = "poweroffice-subscription"


def schedule_of(
    connections: int,
    *,
    rate: float = 8.0,
    interval: float = 1.0,
    reserve: float = 0.1,
    backoff: float = 4.0,
    safety: float = 300.0,
    cost: float = 4.0,
    owns: Callable[[str], bool] = lambda _c: True,
) -> PollSchedule:
    schedule = PollSchedule(
        ScheduleSettings(
            interval=interval, idle_backoff=backoff, write_reserve=reserve, safety_interval=safety
        ),
        rates={PO: lambda: rate},
        owns=owns,
    )
    for i in range(connections):
        schedule.add(f"c{i}", "poweroffice", budget=PO, cost=cost)
    return schedule


@dataclass
class Simulation:
    """Runs a schedule in a simulated clock: a poll costs its lane's ``listings`` requests,
    sent one after the other, each answered after ``latency`` seconds."""

    schedule: PollSchedule
    latency: float = 0.15
    listings: Callable[[Lane], float] = lambda lane: lane.nominal_cost
    active: Callable[[Lane, float], bool] = lambda lane, now: False
    requests: list[tuple[float, Lane]] = field(default_factory=list)
    starts: list[tuple[float, Lane]] = field(default_factory=list)

    def run(self, until: float) -> None:
        now = 0.0
        running: list[tuple[float, int, Lane, float]] = []
        n = 0
        while now <= until:
            while running and running[0][0] <= now:
                _, _, done, spent = heapq.heappop(running)
                self.schedule.finish(done, now, listings=spent, active=self.active(done, now))
            while (lane := self.schedule.next_start(now)) is not None:
                self.schedule.start(lane, now)
                self.starts.append((now, lane))
                spent = self.listings(lane)
                for i in range(int(spent)):
                    self.requests.append((now + i * self.latency, lane))
                n += 1
                heapq.heappush(running, (now + spent * self.latency, n, lane, spent))
            wait = self.schedule.wait(now)
            times = [now + wait] if wait is not None else []
            times += [running[0][0]] if running else []
            now = max(min(times, default=now + 1.0), now + 1e-6)

    def starts_of(self, connection: str) -> list[float]:
        return [t for t, lane in self.starts if lane.connection == connection]

    def cycles_of(self, connection: str, after: float = 0.0) -> list[float]:
        times = [t for t in self.starts_of(connection) if t >= after]
        return [b - a for a, b in itertools.pairwise(times)]


def test_the_cadence_is_the_poll_interval_when_the_budget_allows_it():
    schedule = schedule_of(2, rate=100.0, interval=1.0)
    assert [schedule.period(lane) for lane in schedule.lanes] == [1.0, 1.0]


def test_the_cadence_stretches_to_the_listings_per_cycle_over_the_usable_rate():
    schedule = schedule_of(20, rate=8.0, reserve=0.1, cost=4)
    assert schedule.period(schedule.lanes[0]) == pytest.approx(20 * 4 / (8.0 * 0.9))


def test_the_budget_rate_is_read_at_every_decision():
    rate = [8.0]
    schedule = PollSchedule(
        ScheduleSettings(interval=1.0, write_reserve=0.0), rates={PO: lambda: rate[0]}
    )
    lane = schedule.add("c0", "poweroffice", budget=PO, cost=16)
    assert schedule.period(lane) == pytest.approx(2.0)
    rate[0] = 4.0  # e.g. the budget is now split with another worker
    assert schedule.period(lane) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("wishes", "rate", "cycle"),
    [
        ([(4, 1.0)] * 2, 10.0, 0.0),  # fits: every lane keeps its wish
        ([(4, 1.0)] * 20, 8.0, 10.0),  # listings per cycle / rate
        ([(4, 1.0)] * 10 + [(4, 4.0)] * 10, 8.0, 10.0),  # idle wishes below the cycle: equal
        ([(4, 1.0)] + [(4, 4.0)] * 4, 8.0, 0.0),  # fits exactly
        ([(4, 1.0)] + [(4, 4.0)] * 4, 7.2, 4 / 3.2),  # the idle keep 4 s, the active slows
        ([(2, 300.0), (4, 1.0)], 2.0, (4 - 0) / (2.0 - 2 / 300.0)),  # a safety net keeps 300 s
        ([], 1.0, 0.0),
    ],
)
def test_sustainable_cycle(wishes, rate, cycle):
    assert sustainable_cycle(wishes, rate) == pytest.approx(cycle)


def test_no_lane_of_a_budget_is_held_to_more_than_the_sustainable_cycle_or_its_wish():
    schedule = schedule_of(20, rate=8.0, reserve=0.1, cost=4, interval=1.0, backoff=4.0)
    for lane in schedule.lanes[:10]:
        lane.idle_factor = 4.0
    periods = [schedule.period(lane) for lane in schedule.lanes]
    assert periods == [pytest.approx(20 * 4 / 7.2)] * 20


def test_a_saturated_budget_is_never_exceeded_in_any_ten_seconds():
    schedule = schedule_of(20, rate=8.0, reserve=0.1, cost=4)
    sim = Simulation(schedule)
    sim.run(until=120.0)
    times = sorted(t for t, _ in sim.requests)
    usable = 8.0 * 0.9
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t < start + 10.0)
        assert in_window <= usable * 10.0 + 4, (start, in_window)
    assert len(times) >= usable * 100  # and the budget was used, not left idle


def test_a_poll_that_cost_more_than_estimated_pushes_the_next_start_back():
    schedule = schedule_of(2, rate=8.0, reserve=0.0, cost=4)
    first, second = schedule.lanes
    schedule.start(first, 0.0)
    assert schedule.next_start(0.0) is None  # 4 listings at 8/s: the budget is busy 0.5 s
    assert schedule.wait(0.0) == pytest.approx(0.5)
    schedule.finish(first, 0.4, listings=40, active=True)  # an initial load of 40 pages
    assert schedule.next_start(0.5) is None
    assert schedule.wait(0.4) == pytest.approx(5.0 - 0.4)  # 40 listings at 8/s
    assert schedule.next_start(5.0) is second


def test_every_connection_is_polled_in_turn_under_a_saturated_budget():
    schedule = schedule_of(20, rate=8.0, cost=4)
    sim = Simulation(schedule)
    sim.run(until=100.0)
    counts = Counter(lane.connection for _, lane in sim.starts)
    assert set(counts) == {f"c{i}" for i in range(20)}
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    ideal = 20 * 4 / (8.0 * 0.9)
    longest = max(max(sim.cycles_of(f"c{i}", after=20.0)) for i in range(20))
    assert longest <= ideal * 1.2, (longest, ideal)


def test_an_idle_connection_backs_off_to_the_bound_and_snaps_back_on_activity():
    schedule = schedule_of(1, rate=1000.0, interval=1.0, backoff=4.0)
    lane = schedule.lanes[0]
    periods = []
    for now in range(12):
        if schedule.next_start(float(now)) is lane:
            schedule.start(lane, float(now))
            schedule.finish(lane, float(now), listings=4, active=False)
            periods.append(schedule.period(lane))
    assert periods[:3] == [2.0, 4.0, 4.0]  # doubling, bounded at 4x the interval
    assert schedule.mode(lane) == "idle"
    schedule.wake("c0")  # e.g. a webhook came
    assert schedule.period(lane) == 1.0
    assert schedule.mode(lane) == "active"


def test_a_poll_that_published_keeps_its_connection_at_the_fastest_cadence():
    schedule = schedule_of(1, rate=1000.0, interval=1.0)
    sim = Simulation(schedule, active=lambda lane, now: True)
    sim.run(until=10.0)
    assert sim.cycles_of("c0")
    assert all(c == pytest.approx(1.0) for c in sim.cycles_of("c0"))


def test_active_connections_are_polled_more_often_than_idle_ones_when_the_budget_binds():
    # All five active would need 20 listings/s of 7.2: one active, four idle still bind it.
    schedule = schedule_of(5, rate=8.0, cost=4, interval=1.0, backoff=4.0)
    sim = Simulation(schedule, active=lambda lane, now: lane.connection == "c0")
    sim.run(until=120.0)
    counts = Counter(lane.connection for t, lane in sim.starts if t > 30.0)
    idle = [counts[f"c{i}"] for i in range(1, 5)]
    assert counts["c0"] >= 2 * max(idle), counts
    assert min(idle) >= 1  # the idle ones still get their turn
    times = sorted(t for t, _ in sim.requests if t > 30.0)
    assert len(times) <= 7.2 * (times[-1] - times[0]) + 4


def test_a_site_with_healthy_webhooks_is_polled_only_as_a_safety_net():
    schedule = PollSchedule(
        ScheduleSettings(interval=1.0, safety_interval=30.0),
        rates={PO: lambda: 8.0, "site": lambda: 2.5},
    )
    chargebee = schedule.add("c0", "chargebee", budget="site", cost=2)
    schedule.add("c0", "poweroffice", budget=PO, cost=4, waits_for=chargebee)
    schedule.set_safety_net(chargebee, True)
    sim = Simulation(schedule, active=lambda lane, now: True)
    sim.run(until=100.0)
    starts = Counter(lane.system for _, lane in sim.starts)
    assert starts["chargebee"] == 4  # at 0, 30, 60 and 90 s
    assert starts["poweroffice"] >= 90  # keeps its own cadence
    assert schedule.mode(chargebee) == "safety-net"


def test_a_connections_second_system_waits_for_the_first_ones_first_poll():
    schedule = PollSchedule(ScheduleSettings(interval=1.0))
    chargebee = schedule.add("c0", "chargebee", budget="site", cost=2)
    poweroffice = schedule.add("c0", "poweroffice", budget=PO, cost=4, waits_for=chargebee)
    assert schedule.next_start(0.0) is chargebee
    schedule.start(chargebee, 0.0)
    assert schedule.next_start(0.0) is None
    schedule.finish(chargebee, 0.2, listings=2, active=False)
    assert schedule.next_start(0.2) is poweroffice


def test_connections_another_worker_owns_are_neither_polled_nor_counted():
    schedule = schedule_of(20, rate=8.0, reserve=0.1, cost=4, owns=lambda c: c in ("c0", "c1"))
    assert schedule.period(schedule.lanes[0]) == pytest.approx(1.11, abs=0.01)
    sim = Simulation(schedule)
    sim.run(until=10.0)
    assert {lane.connection for _, lane in sim.starts} == {"c0", "c1"}


def test_nothing_starts_while_a_lanes_previous_poll_runs():
    schedule = schedule_of(1, rate=1000.0)
    lane = schedule.lanes[0]
    schedule.start(lane, 0.0)
    assert schedule.next_start(50.0) is None
    assert schedule.wait(50.0) is None


def test_work_that_does_not_recur_is_charged_once_not_to_the_next_estimate():
    schedule = schedule_of(1, rate=8.0, reserve=0.0, cost=4)
    lane = schedule.lanes[0]
    schedule.start(lane, 0.0)
    schedule.finish(lane, 0.5, listings=4, extra=8, active=False)  # the deletion watch ran
    assert lane.cost == 4
    assert schedule.wait(0.5) == pytest.approx(1.0)  # 12 listings at 8/s from 0


def test_the_pacer_spends_only_what_writes_leave_and_recovers_after_them():
    spare = [8.0]
    schedule = PollSchedule(
        ScheduleSettings(interval=1.0, write_reserve=0.0),
        rates={PO: lambda: 8.0},
        spare={PO: lambda: spare[0]},
    )
    first, second, third = (
        schedule.add(f"c{i}", "poweroffice", budget=PO, cost=4) for i in range(3)
    )
    spare[0] = 0.8  # writes are queued: polls can count on their guaranteed share only
    schedule.start(first, 0.0)
    assert schedule.wait(0.0) == pytest.approx(4 / 0.8)  # not 4 / 8
    assert schedule.next_start(1.0) is None
    spare[0] = 8.0  # the writes are done
    schedule.finish(first, 0.6, listings=4, active=False)
    assert schedule.next_start(5.0) is second
    schedule.start(second, 5.0)
    assert schedule.wait(5.0) == pytest.approx(4 / 8.0)
    assert schedule.next_start(5.5) is third


def test_the_spare_rate_never_lifts_the_pacer_above_the_usable_rate():
    schedule = PollSchedule(
        ScheduleSettings(interval=1.0, write_reserve=0.5),
        rates={PO: lambda: 8.0},
        spare={PO: lambda: 8.0},
    )
    first, _second = (schedule.add(f"c{i}", "poweroffice", budget=PO, cost=4) for i in range(2))
    schedule.start(first, 0.0)
    assert schedule.wait(0.0) == pytest.approx(4 / 4.0)  # half of 8/s is left to writes
