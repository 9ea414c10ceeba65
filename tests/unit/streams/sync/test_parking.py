"""Parking arithmetic: growing delays, queueing in order, the give-up time."""

from __future__ import annotations

import pytest

from streams.sync.messages import Upsert
from streams.sync.parking import RETRY_DELAYS_MS, ParkingLot, first_parking, retry_delay_ms


def upsert(event: str = "ev-1", **fields: str) -> Upsert:
    return Upsert(
        connection="acme",
        flow="employee",
        left_key="poweroffice:Employee:7",
        target="chargebee",
        entity="customer",
        record_id="ll-acme-emp-7",
        fields=fields or {"first_name": "Åse"},
        source_ts_ms=1,
        source_event_id=event,
    )


@pytest.mark.parametrize(
    ("attempt", "delay"),
    [(0, 2_000), (1, 2_000), (2, 5_000), (3, 15_000), (7, 300_000), (50, 300_000)],
)
def test_the_delay_grows_with_each_failure_and_then_stays_at_five_minutes(attempt, delay):
    assert retry_delay_ms(attempt) == delay


def test_delays_never_shrink():
    assert list(RETRY_DELAYS_MS) == sorted(RETRY_DELAYS_MS)


def test_a_failed_write_is_parked_due_after_the_first_delay():
    parked = first_parking(upsert(), now_ms=10_000, reason="503", failed=True)
    assert (parked.attempts, parked.next_attempt_ms, parked.reason) == (1, 12_000, "503")


def test_a_command_held_back_by_an_open_breaker_has_not_failed_itself():
    parked = first_parking(upsert(), now_ms=10_000, reason="503", failed=False)
    assert (parked.attempts, parked.next_attempt_ms) == (0, 10_000)


def test_commands_queue_in_arrival_order_and_leave_from_the_front():
    first, second = upsert("ev-1"), upsert("ev-2", last_name="Ny")
    parked = first_parking(first, now_ms=0, reason="x", failed=True).queued(second)
    assert parked.first == first
    assert parked.without_first().first == second


def test_giving_up_counts_from_the_first_failure():
    parked = first_parking(upsert(), now_ms=1_000, reason="x", failed=True)
    later = parked.failed(now_ms=50_000, reason="y")
    assert not later.given_up(now_ms=60_999, give_up_ms=60_000)
    assert later.given_up(now_ms=61_000, give_up_ms=60_000)


def test_the_lot_stores_round_trips_counts_and_forgets_an_empty_queue():
    table: dict[str, object] = {}
    lot = ParkingLot(table)
    parked = first_parking(upsert(), now_ms=0, reason="x", failed=True).queued(upsert("ev-2"))
    lot.put(parked)
    assert lot.get("acme", "chargebee", "poweroffice:Employee:7") == parked
    assert lot.count("acme") == 2
    assert lot.count("other") == 0
    lot.put(parked.without_first().without_first())
    assert table == {}
