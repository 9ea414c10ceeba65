"""Token buckets: spacing, bursts, Retry-After pauses, writes before polls, the polls'
guaranteed share, and never more than the budget (the arithmetic driven by a fake clock;
`acquire` by the event loop)."""

from __future__ import annotations

import asyncio
import random

import pytest

from connectors.transport.ratelimit import (
    Priority,
    TokenBucket,
    TokenBucketRegistry,
    budget_key,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def grant_times(bucket: TokenBucket, clock: FakeClock, n: int) -> list[float]:
    """Offsets from now at which ``n`` callers, all asking now, are granted."""
    start = clock.now
    times = []
    for _ in range(n):
        clock.now += bucket.wait_time()
        bucket.take(Priority.WRITE)
        times.append(clock.now - start)
    return times


def serve(
    bucket: TokenBucket, clock: FakeClock, writes: int, polls: int, until: float
) -> list[tuple[float, Priority]]:
    """Grants over ``until`` seconds to ``writes`` and ``polls`` callers that ask again as
    soon as they are granted (a saturated budget)."""
    start = clock.now
    grants: list[tuple[float, Priority]] = []
    while True:
        clock.now += bucket.wait_time()
        if clock.now - start >= until:
            return grants
        turn = bucket.next_turn(writes_waiting=writes > 0, polls_waiting=polls > 0)
        assert turn is not None
        bucket.take(turn)
        grants.append((clock.now - start, turn))


def test_requests_are_spaced_by_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    assert grant_times(bucket, clock, 4) == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_a_bucket_with_capacity_allows_a_burst_then_spaces():
    clock = FakeClock()
    bucket = TokenBucket(10, capacity=3, clock=clock)
    assert grant_times(bucket, clock, 5) == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])


def test_idle_time_does_not_bank_more_than_the_capacity():
    clock = FakeClock()
    bucket = TokenBucket(10, capacity=2, clock=clock)
    clock.now += 60
    assert grant_times(bucket, clock, 3) == pytest.approx([0.0, 0.0, 0.1])


def test_pause_holds_every_later_caller_back():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    bucket.take(Priority.WRITE)
    bucket.pause_for(2.0)
    assert grant_times(bucket, clock, 2) == pytest.approx([2.0, 2.1])


def test_invalid_rates_are_refused():
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(1, capacity=0.5)
    with pytest.raises(ValueError, match="poll_share"):
        TokenBucket(1, poll_share=0)


def test_the_registry_shares_one_bucket_per_budget():
    registry = TokenBucketRegistry()
    first = registry.get(budget_key("poweroffice", "sub-key"), 10)
    assert registry.get(budget_key("poweroffice", "sub-key"), 10) is first
    assert registry.get(budget_key("poweroffice", "other"), 10) is not first


def test_budget_keys_do_not_contain_the_secret():
    assert "sub-key-secret" not in budget_key("poweroffice", "sub-key-secret")


def test_after_a_stall_no_more_than_the_rate_is_granted_within_a_second():
    clock = FakeClock()
    bucket = TokenBucket(5, capacity=10, clock=clock)
    for _ in range(5):
        bucket.take(Priority.WRITE)  # five grants…
    clock.now += 0.5  # …then the loop stalled: the slots allow a burst, the second does not
    assert bucket.wait_time() == pytest.approx(0.5)


def test_a_new_rate_spaces_the_next_grants():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    assert grant_times(bucket, clock, 2) == pytest.approx([0.0, 0.1])
    bucket.set_rate(2)
    assert bucket.rate == 2
    # Slots are now 0.5 s apart, and at most two grants fit in a sliding second: the two
    # granted at the old rate hold the next one back until the first is a second old.
    assert grant_times(bucket, clock, 2) == pytest.approx([0.9, 1.4])


def test_a_new_rate_must_be_positive():
    bucket = TokenBucket(10, clock=FakeClock())
    with pytest.raises(ValueError, match="rate"):
        bucket.set_rate(0)
    assert bucket.rate == 10


def test_a_waiting_write_goes_before_a_waiting_poll():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    bucket.take(Priority.POLL)  # a poll was just served: its next turn is not yet due
    assert bucket.next_turn(writes_waiting=True, polls_waiting=True) is Priority.WRITE


def test_a_poll_takes_what_no_write_waits_for():
    bucket = TokenBucket(10, clock=FakeClock())
    assert bucket.next_turn(writes_waiting=False, polls_waiting=True) is Priority.POLL
    assert bucket.next_turn(writes_waiting=False, polls_waiting=False) is None


def test_polls_keep_their_guaranteed_share_under_a_flood_of_writes():
    clock = FakeClock()
    bucket = TokenBucket(10, poll_share=0.2, clock=clock)
    grants = serve(bucket, clock, writes=5, polls=5, until=60.0)
    polls = sum(1 for _, who in grants if who is Priority.POLL)
    # 20 % of 10 requests/s over 60 s, give or take the first turn.
    assert 0.2 * 10 * 60 - 1 <= polls <= 0.2 * 10 * 60 + 1
    assert len(grants) - polls >= 0.8 * 10 * 60 - 1


def test_the_poll_turn_is_not_banked_while_polls_had_the_budget_to_themselves():
    clock = FakeClock()
    bucket = TokenBucket(10, poll_share=0.1, clock=clock)
    serve(bucket, clock, writes=0, polls=1, until=10.0)  # 100 polls in a row
    grants = serve(bucket, clock, writes=1, polls=1, until=2.0)
    first_poll = next(at for at, who in grants if who is Priority.POLL)
    assert first_poll <= 1.0 / (0.1 * 10)


@pytest.mark.parametrize("seed", range(5))
def test_mixed_callers_never_get_more_than_the_budget(seed: int):
    rng = random.Random(seed)
    clock = FakeClock()
    bucket = TokenBucket(8, capacity=2, clock=clock)
    grants: list[float] = []
    start = clock.now
    while clock.now - start < 30:
        clock.now += rng.choice([0.0, 0.0, 0.01, 0.3])  # bursts and stalls
        if bucket.wait_time() > 0:
            continue
        turn = bucket.next_turn(writes_waiting=rng.random() < 0.7, polls_waiting=rng.random() < 0.7)
        if turn is not None:
            bucket.take(turn)
            grants.append(clock.now)
    assert len(grants) <= 8 * (clock.now - start) + 2
    for i, at in enumerate(grants):
        assert sum(1 for t in grants[i:] if t < at + 1.0) <= 8


def test_polls_can_count_on_what_writes_leave():
    clock = FakeClock()
    bucket = TokenBucket(10, poll_share=0.1, clock=clock)
    assert bucket.poll_rate() == pytest.approx(10)
    for _ in range(30):  # writes took 6 requests/s over the last 5 s
        clock.now += 1 / 6
        bucket.take(Priority.WRITE)
    assert bucket.poll_rate() == pytest.approx(4, abs=0.3)
    clock.now += 10  # writes stopped
    assert bucket.poll_rate() == pytest.approx(10)


async def test_acquire_serves_a_later_write_before_earlier_polls():
    bucket = TokenBucket(50)
    order: list[str] = []

    async def caller(name: str, priority: Priority) -> None:
        await bucket.acquire(priority)
        order.append(name)

    await bucket.acquire(Priority.POLL)  # spent for 20 ms, and the polls' turn taken
    polls = [asyncio.create_task(caller(f"poll{i}", Priority.POLL)) for i in range(3)]
    await asyncio.sleep(0)
    write = asyncio.create_task(caller("write", Priority.WRITE))
    await asyncio.gather(*polls, write)
    assert order[0] == "write"
    assert sorted(order[1:]) == ["poll0", "poll1", "poll2"]


async def test_a_cancelled_waiter_does_not_hold_up_the_others():
    bucket = TokenBucket(50)
    await bucket.acquire()
    gone = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.wait_for(bucket.acquire(Priority.POLL), timeout=5)
    assert gone.cancelled()


def test_polls_count_on_their_guaranteed_share_when_writes_take_the_whole_budget():
    clock = FakeClock()
    bucket = TokenBucket(10, poll_share=0.1, clock=clock)
    serve(bucket, clock, writes=1, polls=0, until=10.0)
    assert bucket.poll_rate() == pytest.approx(1.0)


async def test_one_write_waiting_for_its_slot_does_not_slow_the_polls():
    bucket = TokenBucket(50)
    await bucket.acquire()
    write = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    assert bucket.poll_rate() == pytest.approx(50 - 1 / 5)  # one write in the last 5 s
    await write


def test_a_bucket_nobody_asks_for_the_poll_rate_keeps_only_the_last_writes():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    serve(bucket, clock, writes=1, polls=0, until=60.0)  # 600 writes
    assert len(bucket._write_grants) <= 10 * 5 + 1


def steady_grants(bucket: TokenBucket, clock: FakeClock, seconds: float) -> int:
    """How many requests one caller after another is granted in ``seconds`` (as `acquire`
    does it: wait until the budget allows a grant, then take it)."""
    end = clock.now + seconds
    granted = 0
    while True:
        clock.now += bucket.wait_time()
        if clock.now >= end:
            return granted
        bucket.take(Priority.WRITE)
        granted += 1


@pytest.mark.parametrize("rate", [1.6, 2.4, 3.2, 0.5, 4.0])
def test_a_fractional_rate_is_granted_in_full(rate):
    """A worker's share of a budget (8 * 4/20 = 1.6/s) is no integer; the sliding-second
    cap must not round it down (it once granted 1.6/s as 1/s)."""
    clock = FakeClock()
    bucket = TokenBucket(rate, clock=clock)
    assert steady_grants(bucket, clock, 100.0) == pytest.approx(rate * 100, abs=1)
