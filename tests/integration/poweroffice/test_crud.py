"""Create, get, patch, delete and list each of the four resources over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.exceptions import ConflictError, InvalidRequestError, NotFoundError
from connectors.poweroffice.resources import Resource

pytestmark = pytest.mark.integration

NEW: dict[Resource, dict[str, Any]] = {
    Resource.CUSTOMERS: {"IsPerson": False, "Name": "Fjord Fisk AS"},
    Resource.CONTACT_PERSONS: {"FirstName": "Kari", "LastName": "Nordmann"},
    Resource.EMPLOYEES: {"FirstName": "Ola", "LastName": "Hansen", "EmailAddress": "ola@x.no"},
    Resource.DEPARTMENTS: {"Code": "SALG", "Name": "Salg"},
}
EDIT: dict[Resource, tuple[str, str]] = {
    Resource.CUSTOMERS: ("/name", "Fjord Fisk og Vilt AS"),
    Resource.CONTACT_PERSONS: ("/emailAddress", "kari@fjordfisk.no"),
    Resource.EMPLOYEES: ("/EmailAddress", "ola.hansen@x.no"),
    Resource.DEPARTMENTS: ("/Name", "Salg og marked"),
}


def _contact(sim, resource: Resource) -> int | None:
    if resource is Resource.CONTACT_PERSONS:
        return int(sim.store.add_customer(Name="Fjord Fisk AS")["Id"])
    return None


@pytest.mark.parametrize("resource", list(Resource))
async def test_create_returns_the_new_record_with_an_id(sim, client, resource) -> None:
    created = await client.create(resource, NEW[resource], contact_id=_contact(sim, resource))
    assert isinstance(created["Id"], int)
    assert all(created[k] == v for k, v in NEW[resource].items())


@pytest.mark.parametrize("resource", list(Resource))
async def test_get_returns_what_create_stored(sim, client, resource) -> None:
    contact_id = _contact(sim, resource)
    created = await client.create(resource, NEW[resource], contact_id=contact_id)
    assert await client.get(resource, created["Id"], contact_id=contact_id) == created


@pytest.mark.parametrize("resource", list(Resource))
async def test_patch_returns_the_updated_record(sim, client, resource) -> None:
    contact_id = _contact(sim, resource)
    created = await client.create(resource, NEW[resource], contact_id=contact_id)
    path, value = EDIT[resource]
    updated = await client.patch(
        resource,
        created["Id"],
        [{"op": "replace", "path": path, "value": value}],
        contact_id=contact_id,
    )
    field = next(k for k in updated if k.lower() == path[1:].lower())
    assert updated[field] == value
    assert await client.get(resource, created["Id"], contact_id=contact_id) == updated


@pytest.mark.parametrize("resource", list(Resource))
async def test_delete_removes_the_record(sim, client, resource) -> None:
    contact_id = _contact(sim, resource)
    created = await client.create(resource, NEW[resource], contact_id=contact_id)
    await client.delete(resource, created["Id"], contact_id=contact_id)
    with pytest.raises(NotFoundError):
        await client.get(resource, created["Id"], contact_id=contact_id)


@pytest.mark.parametrize("resource", list(Resource))
async def test_list_contains_the_created_record(sim, client, resource) -> None:
    contact_id = _contact(sim, resource)
    created = await client.create(resource, NEW[resource], contact_id=contact_id)
    assert created in await client.list_page(resource)


async def test_patch_is_sent_as_json_patch(sim) -> None:
    (employee,) = sim.store.seed_employees(1)
    response = await sim.raw(
        "PATCH",
        f"/Employees/{employee['Id']}",
        json=[{"op": "replace", "path": "/FirstName", "value": "X"}],
    )
    assert response.status_code == 415


async def test_patching_a_read_only_field_is_an_invalid_request(sim, client) -> None:
    (employee,) = sim.store.seed_employees(1)
    with pytest.raises(InvalidRequestError):
        await client.patch(
            Resource.EMPLOYEES, employee["Id"], [{"op": "replace", "path": "/Id", "value": 1}]
        )


async def test_create_missing_a_required_field_names_it(client) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await client.create(Resource.CUSTOMERS, {"IsPerson": True, "FirstName": "Kari"})
    assert caught.value.param == "LastName"


async def test_deleting_a_customer_with_contact_persons_is_a_conflict(sim, client) -> None:
    customer = sim.store.add_customer(Name="Acme AS")
    sim.store.seed_contact_persons(customer["Id"], 1)
    with pytest.raises(ConflictError):
        await client.delete(Resource.CUSTOMERS, customer["Id"])


async def test_an_id_can_be_both_a_customer_and_an_employee(sim, client) -> None:
    sim.store.add_customer(id=4242, IsPerson=True, FirstName="Kari", LastName="Kunde")
    sim.store.add_employee(id=4242, FirstName="Kari", LastName="Ansatt")
    customer = await client.get(Resource.CUSTOMERS, 4242)
    employee = await client.get(Resource.EMPLOYEES, 4242)
    assert (customer["LastName"], employee["LastName"]) == ("Kunde", "Ansatt")


async def test_customer_is_not_listed_as_changed_when_its_contact_person_changes(
    sim, client
) -> None:
    customer = sim.store.add_customer(Name="Acme AS", last_changed=1)
    person = await client.create(
        Resource.CONTACT_PERSONS, {"FirstName": "A", "LastName": "B"}, contact_id=customer["Id"]
    )
    await client.patch(
        Resource.CONTACT_PERSONS,
        person["Id"],
        [{"op": "replace", "path": "/LastName", "value": "C"}],
        contact_id=customer["Id"],
    )
    assert await client.list_page(Resource.CUSTOMERS, changed_after=1) == []
    assert [p["Id"] for p in await client.list_page(Resource.CONTACT_PERSONS, changed_after=1)] == [
        person["Id"]
    ]
