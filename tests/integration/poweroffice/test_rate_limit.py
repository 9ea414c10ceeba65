"""The shared request budget keeps a burst of calls under 10 requests/s: no 429s at all.

What is measured: the simulator's `SlidingWindowLimiter.peak` (the most requests it saw in
any one-second window) stays at or under the limit, and `/_sim/stats` shows no 429 — not
even one that the client retried. These tests take a few seconds by nature.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connectors.poweroffice.resources import Resource

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
