"""The simulator's store: JSON Patch, create rules, one contact id space, change filter, order."""

from __future__ import annotations

import pytest

from connectors.poweroffice.resources import Resource
from connectors.poweroffice.sim.store import (
    ListQuery,
    PowerOfficeStore,
    Problem,
    apply_json_patch,
    parse_order_by,
)
from connectors.poweroffice.timestamps import parse_timestamp

T0 = parse_timestamp("2024-01-01T00:00:00Z")
EMPLOYEE = {"Id": 5, "FirstName": "Kari", "LastName": "Nordmann", "EmailAddress": None}


class FrozenClock:
    def __init__(self, ticks: int = T0) -> None:
        self.ticks = ticks

    def __call__(self) -> int:
        return self.ticks


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def store(clock: FrozenClock) -> PowerOfficeStore:
    return PowerOfficeStore(clock=clock)


# -- JSON Patch ------------------------------------------------------------------------------


def test_patch_replace_sets_the_field() -> None:
    ops = [{"op": "replace", "path": "/EmailAddress", "value": "k@x.no"}]
    assert apply_json_patch(Resource.EMPLOYEES, EMPLOYEE, ops)["EmailAddress"] == "k@x.no"


def test_patch_paths_match_case_insensitively() -> None:
    ops = [{"op": "replace", "path": "/firstname", "value": "Ola"}]
    assert apply_json_patch(Resource.EMPLOYEES, EMPLOYEE, ops)["FirstName"] == "Ola"


def test_patch_add_sets_the_field() -> None:
    ops = [{"op": "add", "path": "/PhoneNumber", "value": "2222 5555"}]
    assert apply_json_patch(Resource.EMPLOYEES, EMPLOYEE, ops)["PhoneNumber"] == "2222 5555"


def test_patch_remove_sets_the_field_to_null() -> None:
    record = {**EMPLOYEE, "EmailAddress": "k@x.no"}
    ops = [{"op": "remove", "path": "/EmailAddress"}]
    assert apply_json_patch(Resource.EMPLOYEES, record, ops)["EmailAddress"] is None


def test_patch_leaves_the_original_record_untouched() -> None:
    original = dict(EMPLOYEE)
    apply_json_patch(Resource.EMPLOYEES, original, [{"op": "remove", "path": "/FirstName"}])
    assert original == EMPLOYEE


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "path": "/Id", "value": 6}],
        [{"op": "replace", "path": "/LastChangedDateTimeOffset", "value": "x"}],
        [{"op": "replace", "path": "/NoSuchField", "value": 1}],
        [{"op": "replace", "path": "/MailAddress/City", "value": "Oslo"}],
        [{"op": "replace", "path": "FirstName", "value": "no slash"}],
        [{"op": "frobnicate", "path": "/FirstName", "value": "x"}],
        [{"op": "replace", "path": "/FirstName"}],
        [{"op": "replace", "path": "/FirstName", "value": 42}],
        [{"op": "test", "path": "/FirstName", "value": "Not Kari"}],
        ["not an operation"],
        {"op": "replace", "path": "/FirstName", "value": "not in an array"},
    ],
)
def test_patch_refuses_bad_documents_with_400(operations: object) -> None:
    with pytest.raises(Problem) as caught:
        apply_json_patch(Resource.EMPLOYEES, EMPLOYEE, operations)
    assert caught.value.status == 400


def test_store_patch_that_breaks_a_create_rule_is_refused(store: PowerOfficeStore) -> None:
    employee = store.add_employee(FirstName="Kari", LastName="Nordmann")
    with pytest.raises(Problem) as caught:
        store.patch(Resource.EMPLOYEES, employee["Id"], [{"op": "remove", "path": "/LastName"}])
    assert caught.value.status == 400
    assert store.get(Resource.EMPLOYEES, employee["Id"])["LastName"] == "Nordmann"


def test_store_patch_moves_last_changed(store: PowerOfficeStore, clock: FrozenClock) -> None:
    employee = store.add_employee(FirstName="Kari", LastName="Nordmann")
    clock.ticks += 10
    patched = store.patch(
        Resource.EMPLOYEES, employee["Id"], [{"op": "replace", "path": "/FirstName", "value": "O"}]
    )
    assert parse_timestamp(patched["LastChangedDateTimeOffset"]) == T0 + 10


def test_store_patch_that_changes_nothing_keeps_last_changed(
    store: PowerOfficeStore, clock: FrozenClock
) -> None:
    employee = store.add_employee(FirstName="Kari", LastName="Nordmann")
    clock.ticks += 10
    same = [{"op": "replace", "path": "/FirstName", "value": "Kari"}]
    patched = store.patch(Resource.EMPLOYEES, employee["Id"], same)
    assert parse_timestamp(patched["LastChangedDateTimeOffset"]) == T0


# -- create rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "body", "missing"),
    [
        (Resource.CUSTOMERS, {"IsPerson": False, "FirstName": "A", "LastName": "B"}, "Name"),
        (Resource.CUSTOMERS, {"IsPerson": True, "Name": "A B", "LastName": "B"}, "FirstName"),
        (Resource.EMPLOYEES, {"FirstName": "A"}, "LastName"),
        (Resource.DEPARTMENTS, {"Code": "X"}, "Name"),
    ],
)
def test_create_without_a_required_field_is_400_naming_it(
    store: PowerOfficeStore, resource: Resource, body: dict[str, object], missing: str
) -> None:
    with pytest.raises(Problem) as caught:
        store.create(resource, body)
    assert (caught.value.status, caught.value.field) == (400, missing)


def test_contact_person_create_needs_first_and_last_name(store: PowerOfficeStore) -> None:
    customer = store.add_customer(Name="Acme AS")
    with pytest.raises(Problem) as caught:
        store.create(Resource.CONTACT_PERSONS, {"LastName": "B"}, contact_id=customer["Id"])
    assert caught.value.field == "FirstName"


def test_create_with_a_read_only_field_is_400(store: PowerOfficeStore) -> None:
    with pytest.raises(Problem) as caught:
        store.create(Resource.DEPARTMENTS, {"Name": "Salg", "Id": 3})
    assert caught.value.status == 400


# -- ids ---------------------------------------------------------------------------------------


def test_customers_and_employees_draw_ids_from_one_counter(store: PowerOfficeStore) -> None:
    customer = store.create(Resource.CUSTOMERS, {"Name": "Acme AS"})
    employee = store.create(Resource.EMPLOYEES, {"FirstName": "Kari", "LastName": "N"})
    assert employee["Id"] == customer["Id"] + 1


def test_an_employee_may_share_its_id_with_a_customer(store: PowerOfficeStore) -> None:
    store.add_customer(id=77, Name="Kari AS")
    store.add_employee(id=77, FirstName="Kari", LastName="Nordmann")
    assert store.get(Resource.CUSTOMERS, 77)["Name"] == "Kari AS"
    assert store.get(Resource.EMPLOYEES, 77)["FirstName"] == "Kari"


def test_seeding_an_explicit_id_moves_the_contact_counter_past_it(
    store: PowerOfficeStore,
) -> None:
    store.add_employee(id=50_000, FirstName="A", LastName="B")
    assert store.create(Resource.CUSTOMERS, {"Name": "Acme AS"})["Id"] == 50_001


# -- listing -----------------------------------------------------------------------------------


def test_change_filter_is_strictly_greater(store: PowerOfficeStore) -> None:
    store.seed_employees(3, last_changed=T0)
    store.seed_employees(2, last_changed=T0 + 1)
    assert len(store.list_page(Resource.EMPLOYEES, ListQuery(changed_after=T0))) == 2
    assert len(store.list_page(Resource.EMPLOYEES, ListQuery(changed_after=T0 - 1))) == 5
    assert store.list_page(Resource.EMPLOYEES, ListQuery(changed_after=T0 + 1)) == []


def test_default_order_is_last_changed_then_id(store: PowerOfficeStore) -> None:
    late = store.add_employee(FirstName="A", LastName="B", last_changed=T0 + 5)
    early_b = store.add_employee(FirstName="C", LastName="D", last_changed=T0)
    early_a = store.add_employee(id=1, FirstName="E", LastName="F", last_changed=T0)
    ids = [r["Id"] for r in store.list_page(Resource.EMPLOYEES, ListQuery())]
    assert ids == [early_a["Id"], early_b["Id"], late["Id"]]


def test_order_by_descending_breaks_ties_by_id(store: PowerOfficeStore) -> None:
    store.seed_employees(3, last_changed=T0)
    query = ListQuery(order_by=parse_order_by(Resource.EMPLOYEES, "lastChangedDateTimeOffset desc"))
    ids = [r["Id"] for r in store.list_page(Resource.EMPLOYEES, query)]
    assert ids == sorted(ids)


def test_order_by_unknown_field_is_400() -> None:
    with pytest.raises(Problem):
        parse_order_by(Resource.EMPLOYEES, "Salary desc")


def test_a_customer_does_not_change_when_its_contact_persons_do(
    store: PowerOfficeStore, clock: FrozenClock
) -> None:
    customer = store.add_customer(Name="Acme AS")
    clock.ticks += 100
    person = store.create(
        Resource.CONTACT_PERSONS, {"FirstName": "A", "LastName": "B"}, contact_id=customer["Id"]
    )
    store.patch(
        Resource.CONTACT_PERSONS,
        person["Id"],
        [{"op": "replace", "path": "/EmailAddress", "value": "a@b.no"}],
        contact_id=customer["Id"],
    )
    assert store.list_page(Resource.CUSTOMERS, ListQuery(changed_after=T0)) == []


def test_deleting_a_customer_with_contact_persons_is_409(store: PowerOfficeStore) -> None:
    customer = store.add_customer(Name="Acme AS")
    store.seed_contact_persons(customer["Id"], 1)
    with pytest.raises(Problem) as caught:
        store.delete(Resource.CUSTOMERS, customer["Id"])
    assert caught.value.status == 409


def test_a_contact_person_is_not_found_under_another_contact(store: PowerOfficeStore) -> None:
    first = store.add_customer(Name="A AS")
    other = store.add_customer(Name="B AS")
    (person,) = store.seed_contact_persons(first["Id"], 1)
    with pytest.raises(Problem) as caught:
        store.get(Resource.CONTACT_PERSONS, person["Id"], contact_id=other["Id"])
    assert caught.value.status == 404
