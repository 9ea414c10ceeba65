"""The official `chargebee` Python SDK, unchanged, against the simulator.

The SDK is synchronous, so each call runs in a worker thread while the simulator serves
from the test's event loop.
"""

from __future__ import annotations

import asyncio

import chargebee
import pytest

from connectors.chargebee.sim.store import ChargebeeStore

pytestmark = pytest.mark.integration


async def test_sdk_creates_a_customer_with_a_chosen_id(sdk, store: ChargebeeStore):
    result = await asyncio.to_thread(
        sdk.Customer.create,
        {"id": "cus_42", "first_name": "Kari", "last_name": "Nordmann", "email": "kari@example.no"},
    )
    assert result.customer.id == "cus_42"
    assert result.customer.email == "kari@example.no"
    assert store.get_customer("cus_42") is not None


async def test_sdk_update_changes_fields_and_resource_version(sdk):
    created = await asyncio.to_thread(sdk.Customer.create, {"id": "cus_1", "first_name": "Kari"})
    updated = await asyncio.to_thread(sdk.Customer.update, "cus_1", {"first_name": "Kåre"})
    assert updated.customer.first_name == "Kåre"
    assert updated.customer.resource_version > created.customer.resource_version


async def test_sdk_retrieves_a_customer(sdk, store: ChargebeeStore):
    store.create_customer({"id": "cus_1", "email": "kari@example.no"})
    result = await asyncio.to_thread(sdk.Customer.retrieve, "cus_1")
    assert result.customer.email == "kari@example.no"
    assert result.customer.object == "customer"


async def test_sdk_lists_with_filters_and_follows_next_offset(sdk, store: ChargebeeStore):
    store.seed_customers(7, id_prefix="keep_")
    store.seed_customers(3, id_prefix="skip_")
    seen: list[str] = []
    offset = None
    pages = 0
    while True:
        params = {"limit": 3, "id": {"starts_with": "keep_"}, "sort_by": {"asc": "updated_at"}}
        if offset:
            params["offset"] = offset
        result = await asyncio.to_thread(sdk.Customer.list, params)
        seen.extend(entry.customer.id for entry in result.list)
        pages += 1
        offset = result.next_offset
        if not offset:
            break
    assert sorted(seen) == [f"keep_{i:05d}" for i in range(7)]
    assert pages == 3


async def test_sdk_list_filter_in_reaches_the_simulator(sdk, store: ChargebeeStore):
    store.seed_customers(5)
    result = await asyncio.to_thread(
        sdk.Customer.list, {"id": {"in": ["cus_seed_00001", "cus_seed_00003"]}}
    )
    assert sorted(entry.customer.id for entry in result.list) == [
        "cus_seed_00001",
        "cus_seed_00003",
    ]
    assert result.next_offset is None


async def test_sdk_deletes_a_customer(sdk, store: ChargebeeStore):
    store.create_customer({"id": "cus_1"})
    result = await asyncio.to_thread(sdk.Customer.delete, "cus_1")
    assert result.customer.deleted is True
    listed = await asyncio.to_thread(sdk.Customer.list, {"include_deleted": True})
    assert [(e.customer.id, e.customer.deleted) for e in listed.list] == [("cus_1", True)]


async def test_sdk_raises_invalid_request_error_with_param_id_for_a_duplicate(sdk, store):
    store.create_customer({"id": "cus_1"})
    with pytest.raises(chargebee.InvalidRequestError) as caught:
        await asyncio.to_thread(sdk.Customer.create, {"id": "cus_1"})
    assert caught.value.param == "id"
    assert caught.value.http_status_code == 400


async def test_sdk_raises_a_404_api_error_for_a_missing_customer(sdk):
    with pytest.raises(chargebee.APIError) as caught:
        await asyncio.to_thread(sdk.Customer.retrieve, "nobody")
    assert caught.value.http_status_code == 404
    assert caught.value.api_error_code == "resource_not_found"


async def test_sdk_is_refused_with_a_wrong_api_key(simulator, sdk):
    wrong = chargebee.Chargebee(
        api_key="wrong", site="127", chargebee_domain=f"0.0.1:{simulator.port}", protocol="http"
    )
    with pytest.raises(chargebee.APIError) as caught:
        await asyncio.to_thread(wrong.Customer.list, {})
    assert caught.value.http_status_code == 401


async def test_sdk_sees_its_idempotent_replay(sdk):
    headers = {"chargebee-idempotency-key": "key-1"}
    first = await asyncio.to_thread(sdk.Customer.create, {"first_name": "A"}, headers)
    second = await asyncio.to_thread(sdk.Customer.create, {"first_name": "A"}, dict(headers))
    assert second.customer.id == first.customer.id
    assert second.is_idempotency_replayed is True


async def test_sdk_lists_events(sdk, store: ChargebeeStore):
    store.add_business_entity("be_oslo", "Oslo AS")
    store.create_customer({"id": "cus_1"})
    result = await asyncio.to_thread(
        sdk.Event.list,
        {"event_type": {"in": ["customer_created"]}, "sort_by": {"asc": "occurred_at"}},
    )
    assert [e.event.event_type for e in result.list] == ["customer_created"]
    assert result.list[0].event.content["customer"]["id"] == "cus_1"
