"""A value Chargebee cannot take (an e-mail of 71 characters; the limit is 70) goes to
the dead-letter topic with its reason and the event; the other records sync."""

from __future__ import annotations

import pytest

from .conftest import Harness, customer_values, expected_customer_values, person

pytestmark = pytest.mark.integration


async def test_an_email_of_71_characters_is_dead_lettered_and_its_neighbours_sync(
    harness: Harness,
):
    long_email = "kari.nordmann." + "x" * 45 + "@eksempel.no"
    assert len(long_email) == 71
    neighbours = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(4)]
    too_long = harness.po_store.add_employee(
        FirstName="Kari", LastName="Nordmann", EmailAddress=long_email
    )
    neighbours += [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(4, 8)]
    await harness.start_worker()
    status = await harness.wait_converged(within=60)

    record_key = f"poweroffice:Employee:{too_long['Id']}"
    letters = await harness.read_topic("deadletters", at_least=1)
    mine = [letter for letter in letters if letter["record_key"] == record_key]
    assert mine, f"no dead letter for {record_key}: {letters}"
    letter = mine[-1]
    assert letter["flow"] == "employee"
    reason = letter["reason"].lower()
    assert "70" in reason, letter["reason"]
    assert "email" in reason or "e-mail" in reason, letter["reason"]
    assert letter["event"]["source"]["id"] == str(too_long["Id"])
    assert letter["event"]["after"]["EmailAddress"] == long_email
    assert status["dead_letters"] == 1, status

    customers = [row.data for row in harness.cb_store.customer_rows(include_deleted=True)]
    assert long_email not in {c.get("email") for c in customers}
    assert len(customers) == len(neighbours)
    links = await harness.links_by_left()
    for record in neighbours:
        link = links[("Employee", str(record["Id"]))]
        assert link["state"] == "linked", link
        partner = harness.cb_store.get_customer(str(link["right"]["id"]))
        assert partner is not None
        assert customer_values(partner) == expected_customer_values(record)
    dead = links.get(("Employee", str(too_long["Id"])))
    assert dead is not None, f"no link for {record_key}"
    assert dead["state"] == "dead_letter", dead
