"""One tenant's failing API stalls no other tenant on several workers (issue 7).

Two `ledgerlink worker` subprocesses of one consumer group share four connections, one
on each of the topics' four partitions, so that each worker owns two. Once they are
synced, one connection's Chargebee site answers 503 to everything, and every company
gets an edit and a new employee. Every other connection's changes must reach its own
site — the failing connection's co-tenant on the same worker as well as those on the
other worker — while the failing connection's commands are parked on the worker that
owns it (its status shows them). Once the site answers again, the failing connection
catches up with exactly one write per change and no duplicate customer. All the while the
companies' PowerOffice Go simulators count one shared rate window (one integration), and
the workers together must never exceed it: no 429 from PowerOffice Go.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.poweroffice.resources import Resource
from connectors.simkit.limits import SlidingWindowLimiter

from .conftest import PO_RATE_LIMIT_PER_SECOND, person, wait_until
from .test_connections import (
    Company,
    ConnectionsHarness,
    assert_site_holds_exactly,
    group_workers,
    reset_stats,
    set_faults,
    sim_writes,
    start_company,
)
from .test_scaling_out import Workers, site_holds, spread_connection_ids
from .test_workers_starting_together import po_counts

pytestmark = pytest.mark.integration

PARTITIONS = 4
WORKERS = 2
EMPLOYEES = 2
POLL_INTERVAL = 1.0
#: The integration's PowerOffice Go budget, the workers' default (a margin below the
#: simulators' 10/s window, see test_workers_starting_together).
BUDGET = 8
#: Well above the normal arrival of an edit (a few seconds), well below a stall: the
#: failing connection's commands are retried for a day.
OTHERS_WITHIN = 45.0
#: The parked commands are retried after 2 s, 5 s, 15 s, 30 s, 60 s, ...: after the heal
#: the next retry may be a minute away, or two on a slow machine.
CATCH_UP_WITHIN = 180.0
#: One create and one update per connection, each exactly once.
EXPECTED_WRITES = Counter({("POST", "/api/v2/customers"): 1, ("POST", "/api/v2/customers/{id}"): 1})


def holds_employees(company: Company) -> bool:
    """The company's site holds every employee it should, with its e-mail."""
    return all(site_holds(company, str(e["EmailAddress"])) for e in company.employees)


async def synced(
    owner: ConnectionsHarness, connection: str, employees: int, seen: dict[str, Any]
) -> bool:
    """The owner reports the connection converged, with ``employees`` links, none parked;
    the status read is kept in ``seen`` for a failure message."""
    status = seen[connection] = await owner.status_of(connection)
    return (
        status.get("converged") is True
        and status["parked"] == 0
        and status["flows"]["employee"]["linked"] == employees
    )


@pytest.fixture
async def workers(kafka_bootstrap: str, topic_name: str, tmp_path: Path) -> AsyncIterator[Workers]:
    companies: list[Company] = []
    started: list[ConnectionsHarness] = []
    window = SlidingWindowLimiter(PO_RATE_LIMIT_PER_SECOND, 1.0)
    try:
        for connection in spread_connection_ids(PARTITIONS):
            company = await start_company(connection, po_limiter=window)
            for n in range(EMPLOYEES):
                company.employees.append(
                    company.po_store.add_employee(**person(n, f"{connection}.no"))
                )
            companies.append(company)
        started = group_workers(
            companies,
            WORKERS,
            kafka_bootstrap=kafka_bootstrap,
            topic_name=topic_name,
            tmp_path=tmp_path,
            poll_interval=POLL_INTERVAL,
            extra_env={
                "LEDGERLINK_PARTITIONS": str(PARTITIONS),
                "POWEROFFICE_REQUESTS_PER_SECOND": str(BUDGET),
            },
        )
        yield Workers(started, companies, PARTITIONS)
    finally:
        for worker in started:
            await worker.close()
        for company in companies:
            await company.stop()


async def test_one_sites_outage_stalls_no_other_tenant_on_either_worker(workers: Workers):
    companies = {c.connection: c for c in workers.companies}
    await asyncio.gather(*(w.start_worker(ready_within=120) for w in workers.all))
    await wait_until(
        lambda: all(holds_employees(c) for c in companies.values()),
        within=120,
        what="the initial load of every connection",
        logs=workers.logs,
    )
    owners = workers.owners(await workers.settled(workers.all, within=90))
    assert set(owners.values()) == set(range(WORKERS)), f"a worker owns nothing: {owners}"
    owner_of = {connection: workers.all[n] for connection, n in owners.items()}
    statuses: dict[str, Any] = {}

    def status_logs() -> str:
        return f"owners {owners}; last statuses {statuses}\n{workers.logs()}"

    async def all_synced() -> bool:
        return all([await synced(owner_of[c], c, EMPLOYEES, statuses) for c in companies])

    await wait_until(all_synced, within=90, what="every connection synced", logs=status_logs)

    # The failing tenant shares its worker with another: that one, and those on the
    # other worker, must all go on.
    shared, tenants = Counter(owners.values()).most_common(1)[0]
    assert tenants >= 2, owners
    failing = companies[min(c for c, n in owners.items() if n == shared)]
    others = [c for c in companies.values() if c is not failing]
    await reset_stats(*(c.cb.root_url for c in companies.values()))
    await set_faults(failing.cb.root_url, {"error_rate": 1.0, "status": 503})
    for company in companies.values():
        edited = company.po_store.edit(
            Resource.EMPLOYEES,
            int(company.employees[0]["Id"]),
            EmailAddress=f"ny.epost@{company.connection}.no",
        )
        company.employees[0] = edited
        company.employees.append(
            company.po_store.add_employee(**person(EMPLOYEES, f"{company.connection}.no"))
        )

    arrivals: dict[str, float] = {}
    started = time.monotonic()

    def others_arrived() -> bool:
        for company in others:
            if company.connection not in arrivals and holds_employees(company):
                arrivals[company.connection] = time.monotonic() - started
        return len(arrivals) == len(others)

    def outage_logs() -> str:
        where = {c: f"worker {n}" for c, n in owners.items()}
        return f"owners {where}, failing {failing.connection}, arrived {arrivals}\n{workers.logs()}"

    await wait_until(
        others_arrived,
        within=OTHERS_WITHIN,
        what=f"the other tenants' changes during {failing.connection}'s outage",
        logs=outage_logs,
    )
    failing_owner = owner_of[failing.connection]

    async def parked_on_owner() -> bool:
        return int((await failing_owner.status_of(failing.connection))["parked"]) > 0

    await wait_until(
        parked_on_owner,
        within=30,
        what=f"{failing.connection}'s commands parked on its owner",
        logs=outage_logs,
    )
    outage = await failing_owner.status_of(failing.connection)
    assert not holds_employees(failing), "the failing site took a write through its 503s"
    for company in others:
        assert_site_holds_exactly(company)
    print(
        f"\n{failing.connection}'s site down (worker {owners[failing.connection]}); the others' "
        f"changes arrived after "
        + ", ".join(f"{c} (worker {owners[c]}) {s:.1f} s" for c, s in sorted(arrivals.items()))
        + f"; {outage['parked']} command(s) parked"
    )

    await set_faults(failing.cb.root_url, {})
    healed = time.monotonic()
    await wait_until(
        lambda: holds_employees(failing),
        within=CATCH_UP_WITHIN,
        what=f"{failing.connection}'s catch-up after its site came back",
        logs=outage_logs,
    )
    caught_up = time.monotonic() - healed
    await wait_until(
        lambda: synced(failing_owner, failing.connection, EMPLOYEES + 1, statuses),
        within=60,
        what=f"{failing.connection} converged with nothing parked",
        logs=status_logs,
    )
    print(f"{failing.connection} caught up {caught_up:.1f} s after its site came back")
    throttled = {c: (await po_counts(company))[0] for c, company in companies.items()}
    assert sum(throttled.values()) == 0, f"PowerOffice Go 429s: {throttled}\n{workers.logs()}"

    for company in companies.values():
        assert_site_holds_exactly(company)
        writes = await sim_writes(company.cb.root_url, "chargebee")
        assert writes == EXPECTED_WRITES, f"{company.connection}: Chargebee writes {writes}"
