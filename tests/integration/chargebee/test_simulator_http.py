"""The simulator's HTTP surface as the reference describes it, with a plain HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.chargebee.sim.server import build_app
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.simkit import start_simulator

from .conftest import API_KEY

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{simulator.root_url}/api/v2", auth=(API_KEY, "")
    ) as http:
        yield http


async def test_a_request_without_the_api_key_gets_chargebees_401_body(simulator):
    async with httpx.AsyncClient(base_url=f"{simulator.root_url}/api/v2") as http:
        response = await http.get("/customers")
    assert response.status_code == 401
    assert response.json()["api_error_code"] == "api_authentication_failed"


async def test_a_json_body_is_refused(api):
    response = await api.post("/customers", json={"id": "c1"})
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_request"


async def test_answers_are_wrapped_by_resource_name(api):
    response = await api.post("/customers", data={"id": "c1"})
    assert list(response.json()) == ["customer"]


async def test_lists_default_to_ten_items(api, store: ChargebeeStore):
    store.seed_customers(12)
    body = (await api.get("/customers")).json()
    assert len(body["list"]) == 10
    assert "next_offset" in body
    assert list(body["list"][0]) == ["customer"]


async def test_the_last_page_has_no_next_offset(api, store: ChargebeeStore):
    store.seed_customers(3)
    body = (await api.get("/customers", params={"limit": 3})).json()
    assert "next_offset" not in body


@pytest.mark.parametrize("limit", ["0", "101"])
async def test_a_limit_out_of_range_is_a_400_naming_limit(api, limit):
    response = await api.get("/customers", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["param"] == "limit"


async def test_a_field_over_its_limit_is_a_400_naming_the_field(api):
    response = await api.post("/customers", data={"first_name": "x" * 151})
    assert response.status_code == 400
    assert response.json()["param"] == "first_name"


async def test_an_id_over_50_characters_is_refused(api):
    response = await api.post("/customers", data={"id": "x" * 51})
    assert (response.status_code, response.json()["param"]) == (400, "id")


async def test_the_duplicate_id_error_body(api):
    await api.post("/customers", data={"id": "c1"})
    body = (await api.post("/customers", data={"id": "c1"})).json()
    assert body["http_status_code"] == 400
    assert (body["type"], body["api_error_code"], body["param"]) == (
        "invalid_request",
        "duplicate_entry",
        "id",
    )


async def test_the_business_entity_header_scopes_a_create(api, store: ChargebeeStore):
    store.add_business_entity("be_oslo", "Oslo AS")
    response = await api.post(
        "/customers", data={"id": "c1"}, headers={"chargebee-business-entity-id": "be_oslo"}
    )
    assert response.json()["customer"]["business_entity_id"] == "be_oslo"


async def test_the_business_entity_filter(api, store: ChargebeeStore):
    store.add_business_entity("be_oslo", "Oslo AS")
    store.seed_customers(2, id_prefix="oslo_", business_entity_id="be_oslo")
    store.seed_customers(2, id_prefix="none_")
    body = (await api.get("/customers", params={"business_entity_id[is]": "be_oslo"})).json()
    assert sorted(e["customer"]["id"] for e in body["list"]) == ["oslo_00000", "oslo_00001"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/business_entities"),
        ("POST", "/business_entities"),
        ("GET", "/business_entities/be_oslo"),
        ("POST", "/business_entities/be_oslo"),
    ],
)
async def test_there_is_no_business_entity_api(api, store: ChargebeeStore, method, path):
    store.add_business_entity("be_oslo", "Oslo AS")
    response = await api.request(method, path)
    assert response.status_code == 404


async def test_the_idempotency_key_is_at_most_100_characters(api):
    response = await api.post(
        "/customers", data={}, headers={"chargebee-idempotency-key": "k" * 101}
    )
    assert response.status_code == 400


async def test_a_replay_answers_the_first_result_with_the_replayed_header(api, store):
    headers = {"chargebee-idempotency-key": "same"}
    first = await api.post("/customers", data={"first_name": "A"}, headers=headers)
    again = await api.post("/customers", data={"first_name": "A"}, headers=headers)
    assert again.json() == first.json()
    assert again.headers["chargebee-idempotency-replayed"] == "true"
    assert "chargebee-idempotency-replayed" not in first.headers
    assert store.customer_count() == 1


async def test_the_rate_limit_answers_429_with_retry_after(site):
    running = await start_simulator(build_app(site=site, api_key=API_KEY, rate_limit_per_minute=2))
    try:
        async with httpx.AsyncClient(
            base_url=f"{running.root_url}/api/v2", auth=(API_KEY, "")
        ) as http:
            statuses = [(await http.get("/customers")).status_code for _ in range(3)]
            limited = await http.get("/customers")
    finally:
        await running.stop()
    assert statuses == [200, 200, 429]
    assert limited.json() == {
        "message": limited.json()["message"],
        "type": "operation_failed",
        "api_error_code": "api_request_limit_exceeded",
        "http_status_code": 429,
    }
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


async def test_admin_reset_empties_the_store(admin, store: ChargebeeStore):
    store.seed_customers(3)
    await admin.post("/_sim/reset")
    assert store.customer_count(include_deleted=True) == 0


async def test_admin_stand_in_refuses_a_second_entity_with_the_same_id(admin):
    await admin.post("/_sim/business_entities", json={"id": "be_1", "name": "A"})
    response = await admin.post("/_sim/business_entities", json={"id": "be_1", "name": "B"})
    assert response.status_code == 409


async def test_requests_are_counted_by_route_template(api, admin, store: ChargebeeStore):
    store.create_customer({"id": "c1"})
    await api.get("/customers/c1")
    stats = (await admin.get("/_sim/stats")).json()["requests"]
    assert {"method": "GET", "route": "/api/v2/customers/{id}", "status": 200, "count": 1} in stats
