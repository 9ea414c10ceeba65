"""The publisher's backoff: longer waits after consecutive failures, none after a success."""

from __future__ import annotations

from connectors.polling.backoff import Backoff


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_delays_double_from_first_up_to_the_cap():
    backoff = Backoff(first=1.0, cap=30.0)
    delays = []
    for _ in range(8):
        backoff.failed()
        delays.append(backoff.delay())
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


async def test_the_next_attempt_waits_out_the_delay_from_the_last_failure():
    clock = Clock()
    backoff = Backoff(first=1.0, cap=30.0, clock=clock, sleep=clock.sleep)
    await backoff.wait()
    backoff.failed()
    backoff.failed()
    clock.now += 0.5
    await backoff.wait()
    assert clock.slept == [1.5]


async def test_a_success_resets_it():
    clock = Clock()
    backoff = Backoff(clock=clock, sleep=clock.sleep)
    backoff.failed()
    backoff.succeeded()
    await backoff.wait()
    assert clock.slept == []
    assert backoff.delay() == 0.0
