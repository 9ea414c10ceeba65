"""Edits after the initial load (issue 3): an edit on either side reaches the other with
exactly one write and no echo; concurrent edits of one field converge to the later one."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from connectors.poweroffice.resources import Resource

from .conftest import Harness, customer_values
from .seeding import seed_world

pytestmark = pytest.mark.integration


def seed_small(harness: Harness):
    return seed_world(
        harness.po_store,
        harness.cb_store,
        companies=2,
        departments=2,
        persons=5,
        employees=5,
        contacts_per_company=2,
        matched_companies=2,
        matched_departments=2,
    )


async def partner_of(harness: Harness, entity: str, record_id: int) -> str:
    link = (await harness.links_by_left())[(entity, str(record_id))]
    assert link["state"] == "linked", link
    return str(link["right"]["id"])


async def test_one_edit_on_each_side_makes_exactly_one_write_and_no_echo(harness: Harness):
    seeded = seed_small(harness)
    await harness.start_worker()
    await harness.wait_converged(within=60)
    employee = seeded.employees[1]
    person = seeded.persons[2]
    employee_partner = await partner_of(harness, "Employee", employee["Id"])
    person_partner = await partner_of(harness, "Customer", person["Id"])
    await harness.reset_stats()

    # A person edits an e-mail in PowerOffice Go's web app ...
    harness.po_store.edit(Resource.EMPLOYEES, employee["Id"], EmailAddress="ny.epost@firma.no")
    # ... and another edits a last name in Chargebee's (not through the API: no request
    # of ours should show up in the counts).
    harness.cb_store.update_customer(
        person_partner, {"last_name": "Sæther-Ødegård"}, source="admin_console"
    )
    await harness.wait_converged(within=60)
    await harness.wait_poll_cycles(3)

    cb_customer = harness.cb_store.get_customer(employee_partner)
    assert cb_customer is not None
    assert customer_values(cb_customer) == {
        "first_name": employee["FirstName"],
        "last_name": employee["LastName"],
        "email": "ny.epost@firma.no",
    }
    po_person = harness.po_store.get(Resource.CUSTOMERS, person["Id"])
    assert po_person["LastName"] == "Sæther-Ødegård"
    assert po_person["FirstName"] == person["FirstName"]
    assert po_person["EmailAddress"] == person["EmailAddress"]

    cb_writes = await harness.writes("chargebee")
    po_writes = await harness.writes("poweroffice")
    details = (
        f"chargebee: {await harness.sim_stats('chargebee')}\n"
        f"poweroffice: {await harness.sim_stats('poweroffice')}"
    )
    assert cb_writes == Counter({("POST", "/api/v2/customers/{id}"): 1}), details
    assert po_writes == Counter({("PATCH", "/v2/Customers/{id}"): 1}), details


async def test_concurrent_edits_of_one_field_converge_to_the_later_edit_on_both_sides(
    harness: Harness,
):
    """Both orders at once, on two employees: while the worker is stopped (so that both
    sides' edits fall between the same two poll cycles), employee A is edited in
    PowerOffice Go first and in Chargebee later, employee B the other way round."""
    seeded = seed_small(harness)
    await harness.start_worker()
    await harness.wait_converged(within=60)
    a, b = seeded.employees[0], seeded.employees[3]
    a_partner = await partner_of(harness, "Employee", a["Id"])
    b_partner = await partner_of(harness, "Employee", b["Id"])
    await harness.stop_worker()

    harness.po_store.edit(Resource.EMPLOYEES, a["Id"], LastName="Først-i-PowerOffice")
    harness.cb_store.update_customer(
        b_partner, {"last_name": "Først-i-Chargebee"}, source="admin_console"
    )
    # Chargebee's timestamps have whole seconds: leave no doubt which edit is later.
    await asyncio.sleep(1.5)
    harness.cb_store.update_customer(
        a_partner, {"last_name": "Sist-i-Chargebee"}, source="admin_console"
    )
    harness.po_store.edit(Resource.EMPLOYEES, b["Id"], LastName="Sist-i-PowerOffice")

    await harness.start_worker()
    status = await harness.wait_converged(within=90)

    a_customer = harness.cb_store.get_customer(a_partner)
    b_customer = harness.cb_store.get_customer(b_partner)
    assert a_customer is not None
    assert b_customer is not None
    assert a_customer["last_name"] == "Sist-i-Chargebee"
    assert harness.po_store.get(Resource.EMPLOYEES, a["Id"])["LastName"] == "Sist-i-Chargebee"
    assert b_customer["last_name"] == "Sist-i-PowerOffice"
    assert harness.po_store.get(Resource.EMPLOYEES, b["Id"])["LastName"] == "Sist-i-PowerOffice"
    # One conflict per employee: each side edited last_name since the last sync.
    assert status["conflicts"] == 2, status
