"""Token buckets: spacing, bursts, Retry-After pauses (driven by a fake clock)."""

from __future__ import annotations

import pytest

from connectors.transport.ratelimit import TokenBucket, TokenBucketRegistry, budget_key


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_requests_are_spaced_by_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    waits = [bucket.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_a_bucket_with_capacity_allows_a_burst_then_spaces():
    clock = FakeClock()
    bucket = TokenBucket(10, capacity=3, clock=clock)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])


def test_idle_time_does_not_bank_more_than_the_capacity():
    clock = FakeClock()
    bucket = TokenBucket(10, capacity=2, clock=clock)
    clock.now += 60
    waits = [bucket.reserve() for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.0, 0.1])


def test_pause_holds_every_later_caller_back():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    bucket.reserve()
    bucket.pause_for(2.0)
    assert bucket.reserve() == pytest.approx(2.0)
    assert bucket.reserve() == pytest.approx(2.1)


def test_invalid_rates_are_refused():
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(1, capacity=0.5)


def test_the_registry_shares_one_bucket_per_budget():
    registry = TokenBucketRegistry()
    first = registry.get(budget_key("poweroffice", "sub-key"), 10)
    assert registry.get(budget_key("poweroffice", "sub-key"), 10) is first
    assert registry.get(budget_key("poweroffice", "other"), 10) is not first


def test_budget_keys_do_not_contain_the_secret():
    assert "sub-key-secret" not in budget_key("poweroffice", "sub-key-secret")


async def test_callers_waking_together_after_a_stall_stay_within_a_second_of_grants():
    clock = FakeClock()
    bucket = TokenBucket(5, clock=clock)
    for _ in range(5):
        bucket.reserve()  # five slots handed out…
    clock.now += 10  # …then the loop stalled past all of them
    granted = [bucket._window_wait() for _ in range(6)]
    assert granted[:5] == [0.0] * 5
    assert granted[5] == pytest.approx(1.0)


def test_a_new_rate_spaces_the_next_reservations():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    assert [bucket.reserve() for _ in range(2)] == pytest.approx([0.0, 0.1])
    bucket.set_rate(2)
    assert bucket.rate == 2
    # The slot reserved at the old rate stands; the ones after it are 0.5 s apart.
    assert [bucket.reserve() for _ in range(2)] == pytest.approx([0.2, 0.7])


def test_a_new_rate_must_be_positive():
    bucket = TokenBucket(10, clock=FakeClock())
    with pytest.raises(ValueError, match="rate"):
        bucket.set_rate(0)
    assert bucket.rate == 10


def steady_grants(bucket: TokenBucket, clock: FakeClock, seconds: float) -> int:
    """How many requests one caller after another is granted in ``seconds`` (as `acquire`
    does it: the reserved slot, then the sliding second)."""
    end = clock.now + seconds
    granted = 0
    while True:
        clock.now += bucket.reserve()
        while (wait := bucket._window_wait()) > 0:
            clock.now += wait
        if clock.now >= end:
            return granted
        granted += 1


@pytest.mark.parametrize("rate", [1.6, 2.4, 3.2, 0.5, 4.0])
def test_a_fractional_rate_is_granted_in_full(rate):
    """A worker's share of a budget (8 * 4/20 = 1.6/s) is no integer; the sliding-second
    cap must not round it down (it once granted 1.6/s as 1/s)."""
    clock = FakeClock()
    bucket = TokenBucket(rate, clock=clock)
    assert steady_grants(bucket, clock, 100.0) == pytest.approx(rate * 100, abs=1)
