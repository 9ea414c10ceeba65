"""The shared request budget keeps a burst of calls under 10 requests/s: no 429s at all,
and a sink's read and write go before the pollers' listings queued ahead of them.

What is measured: the simulator's `SlidingWindowLimiter.peak` (the most requests it saw in
any one-second window) stays at or under the limit, and `/_sim/stats` shows no 429 — not
even one that the client retried; for the priority, the order in which the requests left
the client. These tests take a few seconds by nature.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connectors.poweroffice.resources import Resource
from connectors.transport import Priority

pytestmark = pytest.mark.integration

LIMIT = 10


async def _stats_429(sim) -> int:
    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"{sim.root}/_sim/stats")).json()
    return sum(row["count"] for row in stats["requests"] if row["status"] == 429)


async def test_fifty_concurrent_calls_all_succeed_under_the_limit(start_sim, make_client) -> None:
    sim = await start_sim(rate_limit=LIMIT)
    client = make_client(sim, requests_per_second=8.0)
    (employee,) = sim.store.seed_employees(1)
    results = await asyncio.gather(
        *(client.get(Resource.EMPLOYEES, employee["Id"]) for _ in range(50))
    )
    assert all(r["Id"] == employee["Id"] for r in results)
    assert sim.limiter.peak <= LIMIT
    assert await _stats_429(sim) == 0
    assert sim.count("GET", "/v2/Employees/{employeeId}", 200) == 50


async def test_two_clients_sharing_a_subscription_key_share_the_budget(
    start_sim, make_client
) -> None:
    sim = await start_sim(rate_limit=LIMIT)
    first = make_client(sim, requests_per_second=8.0)
    second = make_client(sim, requests_per_second=8.0)
    (employee,) = sim.store.seed_employees(1)
    calls = [c.get(Resource.EMPLOYEES, employee["Id"]) for c in (first, second) for _ in range(12)]
    results = await asyncio.gather(*calls)
    assert len(results) == 24
    assert sim.limiter.peak <= LIMIT
    assert await _stats_429(sim) == 0


POLLERS = 8
LISTINGS_EACH = 3


async def test_a_write_goes_before_the_listings_queued_ahead_of_it(start_sim, make_client) -> None:
    sim = await start_sim(rate_limit=LIMIT)
    sent: list[tuple[str, str]] = []

    async def record(request: httpx.Request) -> None:
        sent.append((request.method, request.url.path))

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        client = make_client(sim, requests_per_second=8.0, http=http)
        polls = client.for_polling()
        assert polls.priority is Priority.POLL
        (employee,) = sim.store.seed_employees(1)
        await client.sign_in()

        async def poller() -> None:
            for _ in range(LISTINGS_EACH):
                await polls.list_page(Resource.DEPARTMENTS)

        pollers = [asyncio.create_task(poller()) for _ in range(POLLERS)]
        await asyncio.sleep(0)  # every poller has asked; all but the first wait in the queue
        current = await client.get(Resource.EMPLOYEES, employee["Id"])
        await client.patch(
            Resource.EMPLOYEES,
            employee["Id"],
            [{"op": "replace", "path": "/LastName", "value": current["LastName"] + "-x"}],
        )
        await asyncio.gather(*pollers)

    listing = ("GET", "/v2/Departments")
    patch = sent.index(("PATCH", f"/v2/Employees/{employee['Id']}"))
    # In arrival order the read would wait behind the seven queued listings and the write
    # behind more; writes first, only what was sent before the read and while it was
    # answered (or one guaranteed poll turn) goes before them.
    assert sent[:patch].count(listing) <= 3, sent
    assert sent.count(listing) == POLLERS * LISTINGS_EACH  # and the polls all got through
    assert sim.limiter.peak <= LIMIT
    assert await _stats_429(sim) == 0
