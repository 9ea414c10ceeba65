"""Business entities after the initial load: Chargebee has no API to create or rename
them, so a rename in Chargebee (by a person in its web app) is patched into PowerOffice
Go, and a rename in PowerOffice Go becomes an action item instead of a write."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from connectors.poweroffice.resources import Resource

from .conftest import Harness, latest_by_id
from .seeding import seed_world

pytestmark = pytest.mark.integration


def seed_entities(harness: Harness):
    return seed_world(
        harness.po_store,
        harness.cb_store,
        companies=3,
        departments=3,
        persons=0,
        employees=2,
        contacts_per_company=0,
        matched_companies=3,
        matched_departments=3,
    )


async def test_a_business_entity_renamed_in_chargebee_is_patched_into_poweroffice(
    harness: Harness,
):
    seeded = seed_entities(harness)
    await harness.start_worker()
    await harness.wait_converged(within=60)
    company, department = seeded.companies[1], seeded.departments[2]
    await harness.reset_stats()

    async with httpx.AsyncClient(base_url=harness.cb.root_url) as admin:
        for entity_id, name in (
            (seeded.company_entities[company["Id"]], "Bjørkås Sjømat AS"),
            (seeded.department_entities[department["Id"]], "Avdeling Ålesund Sentrum"),
        ):
            renamed = await admin.post(f"/_sim/business_entities/{entity_id}", json={"name": name})
            assert renamed.status_code == 200, renamed.text
    await harness.wait_converged(within=60)
    await harness.wait_poll_cycles(3)

    assert harness.po_store.get(Resource.CUSTOMERS, company["Id"])["Name"] == "Bjørkås Sjømat AS"
    assert (
        harness.po_store.get(Resource.DEPARTMENTS, department["Id"])["Name"]
        == "Avdeling Ålesund Sentrum"
    )
    assert await harness.writes("poweroffice") == Counter(
        {("PATCH", "/v2/Customers/{id}"): 1, ("PATCH", "/v2/Departments/{id}"): 1}
    ), await harness.sim_stats("poweroffice")
    assert await harness.writes("chargebee") == Counter()


async def test_a_linked_company_renamed_in_poweroffice_becomes_a_rename_action_item(
    harness: Harness,
):
    seeded = seed_entities(harness)
    await harness.start_worker()
    await harness.wait_converged(within=60)
    company = seeded.companies[0]
    await harness.reset_stats()

    harness.po_store.edit(Resource.CUSTOMERS, company["Id"], Name="Fjordkraft Rådgivning AS")
    status = await harness.wait_converged(within=60)

    record_key = f"poweroffice:Customer:{company['Id']}"
    items = latest_by_id(await harness.read_topic("actions", at_least=1))
    renames = [i for i in items.values() if i["kind"] == "rename_business_entity"]
    assert [i["record_key"] for i in renames] == [record_key], items
    assert renames[0]["resolved"] is False
    assert "Fjordkraft Rådgivning AS" in renames[0]["message"]
    assert any(i["kind"] == "rename_business_entity" for i in status["action_items"]), status
    link = (await harness.links_by_left())[("Customer", str(company["Id"]))]
    assert link["state"] == "linked", link
    assert link["right"]["id"] == seeded.company_entities[company["Id"]]
    assert await harness.writes("chargebee") == Counter()
    assert await harness.writes("poweroffice") == Counter()
