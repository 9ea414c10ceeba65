"""Our `ChargebeeClient` against the simulator over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from connectors.chargebee.client import ChargebeeClient, Page
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.exceptions import AuthenticationError, DuplicateIdError, NotFoundError

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, now: float = 1717500000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> ChargebeeStore:
    return ChargebeeStore(clock=clock)


async def test_create_with_a_chosen_id_returns_the_unwrapped_customer(client, store):
    customer = await client.create_customer(
        {"first_name": "Kari", "email": "kari@example.no"}, customer_id="cus_42"
    )
    assert customer["id"] == "cus_42"
    assert customer["object"] == "customer"
    assert store.get_customer("cus_42")["email"] == "kari@example.no"


async def test_create_without_an_id_gets_a_generated_one(client):
    customer = await client.create_customer({"first_name": "Kari"})
    assert customer["id"]


async def test_create_in_a_business_entity(client, store):
    store.add_business_entity("be_oslo", "Oslo AS")
    customer = await client.create_customer(
        {"first_name": "Kari"}, customer_id="c1", business_entity_id="be_oslo"
    )
    assert customer["business_entity_id"] == "be_oslo"


async def test_create_with_nested_fields_sends_bracketed_keys(client):
    customer = await client.create_customer(
        {"billing_address": {"city": "Oslo"}, "meta_data": {"pog_id": 7}}, customer_id="c1"
    )
    assert customer["billing_address"]["city"] == "Oslo"
    assert customer["meta_data"] == {"pog_id": 7}


async def test_a_duplicate_id_raises_duplicate_id_error(client, store):
    store.create_customer({"id": "cus_1"})
    with pytest.raises(DuplicateIdError) as caught:
        await client.create_customer({}, customer_id="cus_1")
    assert caught.value.param == "id"


async def test_update_changes_only_the_given_fields(client, store, clock):
    store.create_customer({"id": "c1", "first_name": "Kari", "last_name": "Nordmann"})
    clock.now += 10
    customer = await client.update_customer("c1", {"first_name": "Kåre"})
    assert (customer["first_name"], customer["last_name"]) == ("Kåre", "Nordmann")
    assert customer["updated_at"] == 1717500010


async def test_retrieve_returns_the_customer(client, store):
    store.create_customer({"id": "c1", "email": "kari@example.no"})
    assert (await client.retrieve_customer("c1"))["email"] == "kari@example.no"


async def test_retrieve_of_a_missing_customer_raises_not_found(client):
    with pytest.raises(NotFoundError):
        await client.retrieve_customer("nobody")


async def test_delete_marks_the_customer_deleted(client, store):
    store.create_customer({"id": "c1"})
    deleted = await client.delete_customer("c1")
    assert deleted["deleted"] is True
    with pytest.raises(NotFoundError):
        await client.retrieve_customer("c1")


async def test_a_wrong_api_key_raises_authentication_error(simulator, make_client):
    async with make_client(simulator, api_key="wrong") as wrong:
        with pytest.raises(AuthenticationError):
            await wrong.retrieve_customer("c1")


async def test_updated_after_is_strict(client, store, clock):
    store.create_customer({"id": "at_100"})
    clock.now += 1
    store.create_customer({"id": "at_101"})
    page = await client.list_customers_page(updated_after=int(clock.now) - 1)
    assert [c["id"] for c in page.items] == ["at_101"]


async def test_deleted_customers_are_listed_only_when_asked(client, store):
    store.create_customer({"id": "alive"})
    store.create_customer({"id": "gone"})
    store.delete_customer("gone")
    default = await client.list_customers_page()
    everyone = await client.list_customers_page(include_deleted=True)
    assert [c["id"] for c in default.items] == ["alive"]
    assert {(c["id"], c["deleted"]) for c in everyone.items} == {("alive", False), ("gone", True)}


async def test_sorting_by_updated_at_puts_the_oldest_change_first(client, store, clock):
    for name in ("a", "b", "c"):
        store.create_customer({"id": name})
        clock.now += 1
    store.update_customer("a", {"first_name": "later"})
    page = await client.list_customers_page(sort_by_updated_at=True)
    assert [c["id"] for c in page.items] == ["b", "c", "a"]


async def test_extra_filters_are_passed_through(client, store):
    store.create_customer({"id": "c1", "email": "kari@example.no"})
    store.create_customer({"id": "c2", "email": "ola@example.no"})
    page = await client.list_customers_page(filters={"email[is]": "ola@example.no"})
    assert [c["id"] for c in page.items] == ["c2"]


async def test_a_page_reports_the_next_offset_until_the_last_page(client, store):
    store.seed_customers(5)
    first = await client.list_customers_page(limit=3)
    last = await client.list_customers_page(limit=3, offset=first.next_offset)
    assert isinstance(first, Page)
    assert (len(first.items), first.next_offset is not None) == (3, True)
    assert (len(last.items), last.next_offset) == (2, None)


async def test_iter_customers_walks_every_page_once_even_with_equal_timestamps(client, store):
    store.seed_customers(250, updated_at=1717500000)
    ids = [c["id"] async for c in client.iter_customers(limit=100)]
    assert sorted(ids) == [f"cus_seed_{i:05d}" for i in range(250)]
    assert len(ids) == 250


async def test_a_replayed_create_returns_the_first_customer_and_creates_no_second(
    simulator, make_client, store
):
    replayed: list[str] = []

    async def note(response: httpx.Response) -> None:
        replayed.append(response.headers.get("chargebee-idempotency-replayed", "false"))

    async with httpx.AsyncClient(event_hooks={"response": [note]}) as http:
        client: ChargebeeClient = make_client(simulator, http=http)
        first = await client.create_customer({"first_name": "Kari"}, idempotency_key="k-1")
        second = await client.create_customer({"first_name": "Kari"}, idempotency_key="k-1")
    assert second == first
    assert store.customer_count() == 1
    assert replayed == ["false", "true"]


async def test_events_for_customer_changes_come_oldest_first(client, store, clock):
    store.create_customer({"id": "c1"})
    clock.now += 1
    await client.update_customer("c1", {"first_name": "Kari"})
    clock.now += 1
    await client.delete_customer("c1")
    events = [e async for e in client.iter_events(limit=1)]
    assert [e["event_type"] for e in events] == [
        "customer_created",
        "customer_changed",
        "customer_deleted",
    ]
    assert [e["source"] for e in events] == ["api", "api", "api"]
    assert events[1]["content"]["customer"]["first_name"] == "Kari"


async def test_events_for_business_entity_changes_come_from_the_admin_stand_in(
    client, admin, clock
):
    assert (
        await admin.post("/_sim/business_entities", json={"id": "be_1", "name": "A"})
    ).is_success
    clock.now += 1
    assert (await admin.post("/_sim/business_entities/be_1", json={"name": "B"})).is_success
    clock.now += 1
    assert (await admin.post("/_sim/business_entities/be_1/delete")).is_success
    page = await client.list_events_page(
        event_types=[
            "business_entity_created",
            "business_entity_updated",
            "business_entity_deleted",
        ]
    )
    assert [(e["event_type"], e["source"]) for e in page.items] == [
        ("business_entity_created", "admin_console"),
        ("business_entity_updated", "admin_console"),
        ("business_entity_deleted", "admin_console"),
    ]
    assert page.items[1]["content"]["business_entity"]["name"] == "B"


async def test_occurred_after_is_strict(client, store, clock):
    store.create_customer({"id": "c1"})
    clock.now += 1
    store.create_customer({"id": "c2"})
    page = await client.list_events_page(occurred_after=int(clock.now) - 1)
    assert [e["content"]["customer"]["id"] for e in page.items] == ["c2"]
