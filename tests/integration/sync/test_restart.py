"""A worker killed with SIGKILL during an initial load and restarted (same data directory,
same topics) ends with every PowerOffice Go record linked to exactly one Chargebee
customer, and no extra customer in Chargebee."""

from __future__ import annotations

import asyncio
import time

import pytest

from .conftest import Harness, assert_one_customer_per_record, person

pytestmark = pytest.mark.integration

TOTAL = 2_000
KILL_WINDOW = range(TOTAL // 5, TOTAL * 4 // 5 + 1)  # between 20% and 80% created


async def kill_part_way(harness: Harness, within: float = 90.0) -> int:
    """SIGKILL the worker once Chargebee holds between 20% and 80% of the customers;
    return how many it held."""
    deadline = time.monotonic() + within
    previous = 0
    while time.monotonic() < deadline:
        harness.check_alive("during the initial load")
        count = harness.cb_store.customer_count(include_deleted=True)
        if count in KILL_WINDOW:
            await harness.kill_worker()
            return harness.cb_store.customer_count(include_deleted=True)
        assert count < KILL_WINDOW.start, (
            f"Chargebee went from {previous} to {count} customers between two looks 10 ms "
            "apart: too fast to kill part-way"
        )
        previous = count
        await asyncio.sleep(0.01)
    raise AssertionError(
        f"Chargebee held only {previous} of {TOTAL} customers after {within:.0f} s; "
        f"log tail:\n{harness.log_tail()}"
    )


async def test_a_worker_killed_during_the_initial_load_ends_with_one_customer_per_record(
    harness: Harness,
):
    employees = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(TOTAL)]
    # A little latency per Chargebee call, so that the kill lands inside the load.
    await harness.set_faults("chargebee", {"latency_ms": 5})
    await harness.start_worker()
    at_kill = await kill_part_way(harness)
    print(f"killed with {at_kill} of {TOTAL} customers in Chargebee")

    await harness.set_faults("chargebee", {})
    await harness.start_worker()
    await harness.wait_converged(within=120)

    assert harness.cb_store.customer_count(include_deleted=True) == TOTAL
    await assert_one_customer_per_record(harness, employees)
