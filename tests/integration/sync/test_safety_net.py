"""The Chargebee safety net (issue 7, item 5, with the poll schedule of item 3): while a
connection's webhooks are healthy its Chargebee site is polled only every
LEDGERLINK_WEBHOOK_SAFETY_POLL seconds, its PowerOffice Go company keeps the fast cadence,
and a Chargebee edit still arrives (through the webhook)."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.poweroffice.resources import Resource

from .conftest import Harness, person

pytestmark = pytest.mark.integration

SECRET = "safety-net-secret"


async def gets(harness: Harness, system: str, route: str) -> int:
    return sum(
        int(row["count"])
        for row in await harness.sim_stats(system)
        if row["method"] == "GET" and row["route"] == route
    )


async def test_healthy_webhooks_leave_chargebee_to_a_slow_safety_net(harness: Harness):
    harness.poll_interval = 0.5
    harness.extra_env.update(
        {
            "LEDGERLINK_WEBHOOK_URL": f"http://127.0.0.1:{harness.web_port}",
            "LEDGERLINK_WEBHOOK_SECRET": SECRET,
            "LEDGERLINK_WEBHOOK_SAFETY_POLL": "300",
            "LEDGERLINK_POLL_IDLE_BACKOFF": "1",
        }
    )
    employee = harness.po_store.add_employee(**person(1, "vern.no"))
    await harness.start_worker()
    await harness.wait_converged(within=90, fresh_polls=0)
    link = (await harness.links_by_left())[("Employee", str(employee["Id"]))]
    partner = str(link["right"]["id"])
    await harness.reset_stats()

    # A Chargebee edit arrives through the webhook ...
    harness.cb_store.update_customer(partner, {"last_name": "Nett"}, source="admin_console")
    deadline = time.monotonic() + 30
    while harness.po_store.get(Resource.EMPLOYEES, employee["Id"])["LastName"] != "Nett":
        assert time.monotonic() < deadline, f"the edit never arrived; log:\n{harness.log_tail()}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(3.0)  # six poll intervals

    # ... while PowerOffice Go is polled at its cadence and Chargebee not at all.
    status = await harness.status()
    employees_polls = await gets(harness, "poweroffice", "/v2/Employees")
    customer_polls = await gets(harness, "chargebee", "/api/v2/customers")
    print(
        f"\nwith healthy webhooks: {employees_polls} PowerOffice Go Employees polls, "
        f"{customer_polls} Chargebee customer polls; schedule {status['schedule']}"
    )
    assert employees_polls >= 3
    assert customer_polls == 0
    assert status["schedule"]["chargebee"]["mode"] == "safety-net"
    assert status["schedule"]["chargebee"]["target_seconds"] == 300.0
