"""A Customer person and an Employee sharing one PowerOffice Go Id (contacts share an id
space) are two records: they become two Chargebee customers, each with its own values."""

from __future__ import annotations

import pytest

from .conftest import Harness, customer_values, expected_customer_values

pytestmark = pytest.mark.integration

SHARED_ID = 20_001


async def test_a_customer_and_an_employee_sharing_an_id_become_two_chargebee_customers(
    harness: Harness,
):
    customer = harness.po_store.add_customer(
        id=SHARED_ID,
        IsPerson=True,
        FirstName="Ingrid",
        LastName="Kvåle",
        EmailAddress="ingrid.kvale@kunde.no",
    )
    employee = harness.po_store.add_employee(
        id=SHARED_ID, FirstName="Håkon", LastName="Ødegård", EmailAddress="hakon@firma.no"
    )
    await harness.start_worker()
    await harness.wait_converged(within=60)

    links = await harness.links_by_left()
    as_customer = links[("Customer", str(SHARED_ID))]
    as_employee = links[("Employee", str(SHARED_ID))]
    assert (as_customer["flow"], as_customer["state"]) == ("person_customer", "linked")
    assert (as_employee["flow"], as_employee["state"]) == ("employee", "linked")
    assert as_customer["right"]["id"] != as_employee["right"]["id"]
    assert harness.cb_store.customer_count(include_deleted=True) == 2
    for link, record in ((as_customer, customer), (as_employee, employee)):
        partner = harness.cb_store.get_customer(str(link["right"]["id"]))
        assert partner is not None, link
        assert customer_values(partner) == expected_customer_values(record)
