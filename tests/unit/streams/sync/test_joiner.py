"""The join decision over a dict-backed link table: creates, echoes, edits, entities, deletes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from mappings import load_flows
from streams.sync.ids import chargebee_customer_id
from streams.sync.joiner import Joiner
from streams.sync.links import LinkState, LinkTable
from streams.sync.reports import ReportBook

CONN = "acme"


class World:
    def __init__(self) -> None:
        self.table: dict[str, Any] = {}
        self.reports_table: dict[str, Any] = {}
        self.links = LinkTable(self.table)
        self.reports = ReportBook(self.reports_table)
        self.joiner = Joiner(load_flows(), self.links, self.reports, clock_ms=lambda: 1000)

    def join(self, event: ChangeEvent):
        return self.joiner.join(event)


def po_event(entity: str, rid: int, version: int, op: Op = Op.UPDATE, **fields: Any):
    record = {"Id": rid, **fields}
    return ChangeEvent(
        connection=CONN,
        op=op,
        source=Source("poweroffice", entity, str(rid), version, version // 10_000),
        after=record,
        origin=Origin("poweroffice"),
        observed_ms=0,
    )


def cb_event(entity: str, rid: str, version: int, op: Op = Op.UPDATE, **fields: Any):
    record = {"id": rid, **fields}
    return ChangeEvent(
        connection=CONN,
        op=op,
        source=Source("chargebee", entity, rid, version, version),
        after=None if op is Op.DELETE else record,
        before=record if op is Op.DELETE else None,
        origin=Origin("chargebee"),
        observed_ms=0,
    )


def employee(rid: int = 7, version: int = 10_000_000, **changes: Any):
    fields: dict[str, Any] = {
        "FirstName": "Åse",
        "LastName": "Bjørnstad",
        "EmailAddress": "ase@fjord.no",
    }
    fields.update(changes)
    return po_event("Employee", rid, version, **fields)


def confirm(world: World, left_key: str, right_version: int) -> None:
    """What the Chargebee sink records after a successful write."""
    link = world.links.get(CONN, left_key)
    assert link is not None
    assert link.right is not None
    values = link.left.values
    world.links.put(
        replace(
            link,
            state=LinkState.LINKED,
            synced=values,
            right=replace(link.right, version=right_version, ts_ms=right_version, values=values),
        )
    )


@pytest.fixture
def world() -> World:
    return World()


def test_a_new_employee_becomes_a_create_with_a_deterministic_id(world):
    result = world.join(employee())
    [upsert] = result.upserts
    assert upsert.create
    assert upsert.target == "chargebee"
    assert upsert.record_id == chargebee_customer_id(CONN, "Employee", "7")
    assert upsert.fields == {"email": "ase@fjord.no", "first_name": "Åse", "last_name": "Bjørnstad"}
    assert world.links.get(CONN, "poweroffice:Employee:7").state is LinkState.CREATING


def test_a_customer_and_an_employee_sharing_an_id_get_different_customers(world):
    person = po_event(
        "Customer", 7, 1, IsPerson=True, FirstName="Kari", LastName="Ås", EmailAddress="kari@as.no"
    )
    a = world.join(person).upserts[0]
    b = world.join(employee(7)).upserts[0]
    assert a.record_id != b.record_id
    assert a.flow == "person_customer"
    assert b.flow == "employee"


def test_a_replayed_create_is_sent_again_while_still_creating(world):
    world.join(employee())
    again = world.join(employee())
    assert [u.create for u in again.upserts] == [True]


def test_the_echo_of_our_own_write_is_dropped(world):
    world.join(employee())
    confirm(world, "poweroffice:Employee:7", right_version=500)
    echo = cb_event(
        "customer",
        chargebee_customer_id(CONN, "Employee", "7"),
        500,
        email="ase@fjord.no",
        first_name="Åse",
        last_name="Bjørnstad",
    )
    assert world.join(echo).upserts == []


def test_a_later_version_with_the_same_values_is_not_a_change(world):
    world.join(employee())
    confirm(world, "poweroffice:Employee:7", right_version=500)
    same = cb_event(
        "customer",
        chargebee_customer_id(CONN, "Employee", "7"),
        900,
        email="ase@fjord.no",
        first_name="Åse",
        last_name="Bjørnstad",
    )
    result = world.join(same)
    assert result.upserts == []


def test_an_edit_in_poweroffice_sends_only_the_changed_field(world):
    world.join(employee())
    confirm(world, "poweroffice:Employee:7", right_version=500)
    result = world.join(employee(version=20_000_000, EmailAddress="ny@fjord.no"))
    [upsert] = result.upserts
    assert upsert.fields == {"email": "ny@fjord.no"}
    assert not upsert.create


def test_an_edit_of_an_unmapped_field_sends_nothing(world):
    world.join(employee())
    confirm(world, "poweroffice:Employee:7", right_version=500)
    result = world.join(employee(version=20_000_000, DateOfBirth="1980-01-01"))
    assert result.upserts == []
    assert result.dropped == "no mapped change"


def test_an_edit_in_chargebee_becomes_a_patch_for_poweroffice(world):
    world.join(employee())
    confirm(world, "poweroffice:Employee:7", right_version=500)
    edit = cb_event(
        "customer",
        chargebee_customer_id(CONN, "Employee", "7"),
        900,
        email="ase@fjord.no",
        first_name="Åse",
        last_name="Bjørnstad-Ås",
    )
    [upsert] = world.join(edit).upserts
    assert upsert.target == "poweroffice"
    assert upsert.entity == "Employee"
    assert upsert.record_id == "7"
    assert upsert.fields == {"last_name": "Bjørnstad-Ås"}


def test_an_old_chargebee_version_is_dropped(world):
    world.join(employee())
    confirm(world, "poweroffice:Employee:7", right_version=500)
    stale = cb_event(
        "customer",
        chargebee_customer_id(CONN, "Employee", "7"),
        400,
        email="old@fjord.no",
        first_name="Åse",
        last_name="Bjørnstad",
    )
    assert world.join(stale).upserts == []


def test_an_email_over_70_characters_is_a_dead_letter(world):
    long_email = "a" * 59 + "@fjord.no.no"
    assert len(long_email) == 71
    result = world.join(employee(EmailAddress=long_email))
    assert result.upserts == []
    [letter] = result.dead_letters
    assert "email is 71 characters" in letter.reason
    assert letter.event["source"]["id"] == "7"
    assert world.links.get(CONN, "poweroffice:Employee:7").state is LinkState.DEAD_LETTER


def test_a_dead_lettered_record_is_created_once_its_values_are_fixed(world):
    world.join(employee(EmailAddress="x" * 80))
    result = world.join(employee(version=20_000_000, EmailAddress="kort@fjord.no"))
    assert [u.create for u in result.upserts] == [True]


def test_a_company_is_linked_to_an_entity_of_the_same_normalised_name(world):
    world.join(cb_event("business_entity", "be_1", 5, Op.CREATE, name="fjordkraft  as"))
    result = world.join(po_event("Customer", 3, 1, IsPerson=False, Name="Fjordkraft AS"))
    assert result.upserts == []
    link = world.links.get(CONN, "poweroffice:Customer:3")
    assert link.state is LinkState.LINKED
    assert link.right.id == "be_1"


def test_a_company_without_an_entity_becomes_an_action_item_and_links_when_it_appears(world):
    result = world.join(po_event("Department", 4, 1, Name="Salg Sør"))
    [action] = result.actions
    assert action.kind == "create_business_entity"
    assert action.message == "create business entity 'Salg Sør' in Chargebee"
    assert world.links.get(CONN, "poweroffice:Department:4").state is LinkState.AWAITING_ENTITY
    appeared = world.join(cb_event("business_entity", "be_9", 5, Op.CREATE, name="Salg sør"))
    assert [a.resolved for a in appeared.actions] == [True]
    link = world.links.get(CONN, "poweroffice:Department:4")
    assert link.state is LinkState.LINKED
    assert link.right.id == "be_9"


def test_an_entity_links_only_one_record(world):
    world.join(cb_event("business_entity", "be_1", 5, Op.CREATE, name="Drift"))
    world.join(po_event("Department", 1, 1, Name="Drift"))
    result = world.join(po_event("Customer", 2, 1, IsPerson=False, Name="Drift"))
    assert [a.kind for a in result.actions] == ["create_business_entity"]


def test_a_rename_in_chargebee_is_patched_into_poweroffice(world):
    world.join(cb_event("business_entity", "be_1", 5, Op.CREATE, name="Nordlys AS"))
    world.join(po_event("Customer", 3, 1, IsPerson=False, Name="Nordlys AS"))
    result = world.join(cb_event("business_entity", "be_1", 9, Op.UPDATE, name="Nordlys Øst AS"))
    [upsert] = result.upserts
    assert upsert.target == "poweroffice"
    assert upsert.entity == "Customer"
    assert upsert.fields == {"name": "Nordlys Øst AS"}


def test_a_rename_in_poweroffice_of_a_linked_entity_is_an_action_item(world):
    world.join(cb_event("business_entity", "be_1", 5, Op.CREATE, name="Nordlys AS"))
    world.join(po_event("Customer", 3, 1, IsPerson=False, Name="Nordlys AS"))
    result = world.join(po_event("Customer", 3, 2, IsPerson=False, Name="Nordlys Vest AS"))
    assert result.upserts == []
    [action] = result.actions
    assert action.kind == "rename_business_entity"
    assert action.message == (
        "rename business entity 'Nordlys AS' to 'Nordlys Vest AS' in Chargebee"
    )
    done = world.join(cb_event("business_entity", "be_1", 9, Op.UPDATE, name="Nordlys Vest AS"))
    assert done.upserts == []
    assert [a.resolved for a in done.actions] == [True]


def test_a_deleted_chargebee_customer_is_unlinked_and_reported(world):
    world.join(employee())
    confirm(world, "poweroffice:Employee:7", right_version=500)
    customer_id = chargebee_customer_id(CONN, "Employee", "7")
    result = world.join(cb_event("customer", customer_id, 900, Op.DELETE, email="ase@fjord.no"))
    [action] = result.actions
    assert action.kind == "record_deleted"
    assert world.links.get(CONN, "poweroffice:Employee:7").state is LinkState.UNLINKED
    assert world.join(employee(version=20_000_000, EmailAddress="ny@fjord.no")).upserts == []


def test_unlinked_chargebee_customers_are_ignored(world):
    result = world.join(cb_event("customer", "cus_foreign", 1, email="x@y.no"))
    assert result.upserts == []
    assert "not linked" in (result.dropped or "")


def test_a_record_deleted_in_poweroffice_is_unlinked_and_its_partner_stays(world):
    world.join(employee())
    confirm(world, "poweroffice:Employee:7", right_version=500)
    gone = ChangeEvent(
        connection=CONN,
        op=Op.DELETE,
        source=Source("poweroffice", "Employee", "7", 99_000_000, 9_900),
        after=None,
        before={"Id": 7},
        origin=Origin("poweroffice"),
        observed_ms=0,
    )
    result = world.join(gone)
    [action] = result.actions
    assert action.kind == "record_deleted"
    assert action.message.startswith("PowerOffice Go Employee 7 was deleted; Chargebee customer")
    assert world.links.get(CONN, "poweroffice:Employee:7").state is LinkState.UNLINKED
    customer_id = chargebee_customer_id(CONN, "Employee", "7")
    assert world.links.left_for(CONN, f"chargebee:customer:{customer_id}") is None
    assert result.upserts == []
