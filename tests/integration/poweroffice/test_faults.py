"""A full listing survives injected 503s and dropped connections with exactly the right records."""

from __future__ import annotations

import httpx
import pytest

from connectors.poweroffice.resources import Resource

pytestmark = pytest.mark.integration


async def test_full_listing_through_503s_and_dropped_connections(sim, client) -> None:
    seeded = sim.store.seed_employees(2000)
    async with httpx.AsyncClient() as http:
        faults = {"error_rate": 0.2, "status": 503, "drop_rate": 0.1}
        assert (await http.post(f"{sim.root}/_sim/faults", json=faults)).status_code == 200
    records = [r async for r in client.iter_records(Resource.EMPLOYEES, page_size=100)]
    assert len(records) == 2000
    assert [r["Id"] for r in records] == [r["Id"] for r in seeded]
    assert sim.count(status=503) + sim.count(status=0) > 0
