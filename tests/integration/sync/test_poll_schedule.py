"""The budget-aware poll schedule (issue 7, item 3) over real Kafka and the simulators.

Eight connections share one PowerOffice Go integration (one subscription key, whose
budget the worker's client holds just under the simulators' 10 requests/s), each with its
own company and Chargebee site, all answering after 150 ms. One edit in every company at
once must reach every site, every company must be polled (the simulators' call counts),
and no simulator may ever answer 429. The figures (arrival of the edits against the
budget-bound ideal, achieved cycles) are printed, not asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.poweroffice.resources import Resource

from .conftest import PO_CLIENT_BUDGET_PER_SECOND
from .test_connections import (
    Company,
    ConnectionsHarness,
    connections_harness,
    reset_stats,
    seed,
    set_faults,
    sim_stats,
    start_company,
)

pytestmark = pytest.mark.integration

CONNECTIONS = 8
LATENCY_MS = 150
POLL_INTERVAL = 0.5
#: One PowerOffice Go poll of a connection lists its four resources.
PO_LISTINGS_PER_POLL = len(Resource)


@pytest.fixture
async def harness(
    kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> AsyncIterator[ConnectionsHarness]:
    companies: list[Company] = []
    the_harness: ConnectionsHarness | None = None
    try:
        for n in range(CONNECTIONS):
            company = await start_company(f"tenant{n}")
            seed(company, (50_001 + n, 50_101 + n), offset=n * 2, domain=f"tenant{n}.no")
            companies.append(company)
        the_harness = connections_harness(
            companies,
            kafka_bootstrap=kafka_bootstrap,
            topic_name=topic_name,
            tmp_path=tmp_path,
            poll_interval=POLL_INTERVAL,
        )
        yield the_harness
    finally:
        if the_harness is not None:
            await the_harness.close()
        for company in companies:
            await company.stop()


async def count(root_url: str, *, route: str | None = None, status: int | None = None) -> int:
    return sum(
        int(row["count"])
        for row in await sim_stats(root_url)
        if (route is None or row["route"] == route)
        and (status is None or int(row["status"]) == status)
    )


def all_roots(harness: ConnectionsHarness) -> list[str]:
    return [root for c in harness.companies.values() for root in (c.po.root_url, c.cb.root_url)]


async def test_every_connection_is_polled_within_the_budget_and_every_edit_arrives(
    harness: ConnectionsHarness,
):
    await harness.start_worker()
    await harness.wait_all_converged(within=180, fresh_polls=1)
    for company in harness.companies.values():
        await set_faults(company.po.root_url, {"latency_ms": LATENCY_MS})
        await set_faults(company.cb.root_url, {"latency_ms": LATENCY_MS})
    await reset_stats(*all_roots(harness))

    # One edit in every company at once.
    started = time.monotonic()
    expected: dict[str, tuple[str, str]] = {}
    for name, company in harness.companies.items():
        record = company.employees[0]
        partner = (await harness.links_of(name))[("Employee", str(record["Id"]))]["right"]["id"]
        new_name = f"Planlagt-{name}"
        company.po_store.edit(Resource.EMPLOYEES, record["Id"], LastName=new_name)
        expected[name] = (str(partner), new_name)
    arrived: dict[str, float] = {}
    deadline = started + 180
    while len(arrived) < len(expected) and time.monotonic() < deadline:
        for name, (partner, new_name) in expected.items():
            customer = harness.companies[name].cb_store.get_customer(partner)
            if name not in arrived and customer is not None and customer["last_name"] == new_name:
                arrived[name] = time.monotonic() - started
        await asyncio.sleep(0.05)
    missing = sorted(set(expected) - set(arrived))
    assert not missing, f"edits never reached their site: {missing}; log:\n{harness.log_tail()}"

    # Every company was polled, and nobody was ever refused for going over a budget.
    polled = {
        name: await count(company.po.root_url, route="/v2/Employees")
        for name, company in harness.companies.items()
    }
    assert all(n >= 1 for n in polled.values()), polled
    refused = {root: await count(root, status=429) for root in all_roots(harness)}
    assert sum(refused.values()) == 0, refused

    statuses = {name: await harness.status_of(name) for name in harness.companies}
    cycles = {
        name: status["schedule"]["poweroffice"]["cycle_seconds"]
        for name, status in statuses.items()
    }
    assert all(isinstance(c, float) for c in cycles.values()), statuses
    po_requests = sum([await count(c.po.root_url) for c in harness.companies.values()])
    counted_over = time.monotonic() - started
    ideal = CONNECTIONS * PO_LISTINGS_PER_POLL / PO_CLIENT_BUDGET_PER_SECOND
    times = sorted(arrived.values())
    print(
        f"\n{CONNECTIONS} connections, {LATENCY_MS} ms latency, PowerOffice Go budget "
        f"{PO_CLIENT_BUDGET_PER_SECOND}/s: edit arrival first {times[0]:.1f} s, median "
        f"{statistics.median(times):.1f} s, last {times[-1]:.1f} s; budget-bound ideal "
        f"{ideal:.1f} s (last/ideal {times[-1] / ideal:.2f}); PowerOffice Go requests "
        f"{po_requests} in {counted_over:.1f} s ({po_requests / counted_over:.1f}/s); cycles "
        f"{ {name: round(c, 1) for name, c in sorted(cycles.items())} }; Employees polls per "
        f"company {polled}; 429s {sum(refused.values())}"
    )
