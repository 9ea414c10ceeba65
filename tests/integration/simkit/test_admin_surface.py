"""The /_sim/ admin surface every simulator shares, over real HTTP on loopback."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web

from connectors.simkit import build_simulator_app, start_simulator

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim():
    resets: list[bool] = []
    app = build_simulator_app("test", on_reset=lambda: resets.append(True))

    async def employee(_: web.Request) -> web.Response:
        return web.json_response({"Id": 1})

    app.router.add_get("/v2/Employees/{employeeId}", employee)
    running = await start_simulator(app)
    async with httpx.AsyncClient(base_url=running.root_url) as client:
        yield client, resets
    await running.stop()


async def test_health_answers_when_ready(sim):
    client, _ = sim
    assert (await client.get("/_sim/health")).status_code == 200


async def test_stats_count_requests_by_route_template(sim):
    client, _ = sim
    await client.get("/v2/Employees/1")
    await client.get("/v2/Employees/2")
    stats = (await client.get("/_sim/stats")).json()
    assert stats == {
        "requests": [
            {"method": "GET", "route": "/v2/Employees/{employeeId}", "status": 200, "count": 2}
        ],
        "most_in_flight": 1,  # one request after the other
    }
    await client.post("/_sim/stats/reset")
    assert (await client.get("/_sim/stats")).json()["requests"] == []


async def test_injected_errors_are_answered_and_counted(sim):
    client, _ = sim
    await client.post("/_sim/faults", json={"error_rate": 1.0, "status": 502})
    assert (await client.get("/v2/Employees/1")).status_code == 502
    await client.post("/_sim/faults", json={})
    assert (await client.get("/v2/Employees/1")).status_code == 200
    counted = {
        (r["status"], r["count"]) for r in (await client.get("/_sim/stats")).json()["requests"]
    }
    assert counted == {(502, 1), (200, 1)}


async def test_dropped_connections_reach_the_client_as_transport_errors(sim):
    client, _ = sim
    await client.post("/_sim/faults", json={"drop_rate": 1.0})
    with pytest.raises(httpx.TransportError):
        await client.get("/v2/Employees/1")
    stats = (await client.get("/_sim/stats")).json()["requests"]
    assert stats == [
        {"method": "GET", "route": "/v2/Employees/{employeeId}", "status": 0, "count": 1}
    ]


async def test_a_bad_fault_body_is_refused(sim):
    client, _ = sim
    response = await client.post("/_sim/faults", json={"error_rate": 2})
    assert response.status_code == 400
    assert "error_rate" in response.json()["error"]


async def test_reset_empties_the_simulator(sim):
    client, resets = sim
    await client.post("/_sim/faults", json={"error_rate": 1.0})
    await client.post("/_sim/reset")
    assert resets == [True]
    assert (await client.get("/v2/Employees/1")).status_code == 200
