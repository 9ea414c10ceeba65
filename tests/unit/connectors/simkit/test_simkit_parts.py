"""The simulators' shared parts: fault settings, rate windows, request counters."""

from __future__ import annotations

import pytest

from connectors.simkit.faults import FaultSettings
from connectors.simkit.limits import SlidingWindowLimiter
from connectors.simkit.stats import RequestStats


def test_faults_parse_any_subset():
    faults = FaultSettings.from_json({"error_rate": 0.2, "latency_ms": 5})
    assert (faults.error_rate, faults.status, faults.latency_ms, faults.drop_rate) == (
        0.2,
        503,
        5.0,
        0.0,
    )


def test_empty_faults_clear_everything():
    assert FaultSettings.from_json({}).as_json() == FaultSettings().as_json()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"drop_rate": -0.1}, "drop_rate"),
        ({"status": 200}, "status"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"eror_rate": 0.1}, "eror_rate"),
    ],
)
def test_bad_fault_settings_are_refused_by_name(body, message):
    with pytest.raises(ValueError, match=message):
        FaultSettings.from_json(body)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_window_allows_the_limit_then_answers_retry_after():
    clock = Clock()
    limiter = SlidingWindowLimiter(3, 1.0, clock=clock)
    assert [limiter.check("k") for _ in range(3)] == [None, None, None]
    clock.now = 0.4
    assert limiter.check("k") == 1
    assert limiter.peak == 3


def test_the_window_slides():
    clock = Clock()
    limiter = SlidingWindowLimiter(2, 1.0, clock=clock)
    limiter.check("k")
    clock.now = 0.5
    limiter.check("k")
    clock.now = 1.01
    assert limiter.check("k") is None
    assert limiter.check("k") == 1


def test_keys_have_separate_windows():
    limiter = SlidingWindowLimiter(1, 60.0, clock=Clock())
    assert limiter.check("site-a") is None
    assert limiter.check("site-b") is None
    assert limiter.check("site-a") == 60


def test_stats_count_by_method_route_and_status():
    stats = RequestStats()
    stats.record("GET", "/v2/Employees", 200)
    stats.record("GET", "/v2/Employees", 200)
    stats.record("PATCH", "/v2/Employees/{employeeId}", 429)
    assert stats.count(method="GET") == 2
    assert stats.count(status=429) == 1
    assert stats.as_json()["requests"][0] == {
        "method": "GET",
        "route": "/v2/Employees",
        "status": 200,
        "count": 2,
    }


def test_stats_keep_the_most_requests_served_at_once_until_reset():
    stats = RequestStats()
    stats.started("GET", "/a")
    stats.started("GET", "/b")
    stats.ended("GET", "/a")
    stats.started("POST", "/a")
    stats.ended("POST", "/a")
    assert stats.as_json()["most_in_flight"] == 2
    stats.reset()  # one request is still being served
    assert stats.as_json()["most_in_flight"] == 1
    stats.ended("GET", "/b")
    assert stats.in_flight == 0
