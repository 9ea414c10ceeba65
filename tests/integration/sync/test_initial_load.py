"""Initial load (issue 3): 200 contact persons, 100 employees, 100 person customers,
50 companies and 20 departments → exactly 400 Chargebee customers with the right values;
companies and departments linked to pre-created business entities of the same
(normalised) name, or reported as `create_business_entity` action items, which resolve
once a person creates the entity in Chargebee."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Harness, customer_values, expected_customer_values, latest_by_id
from .seeding import Seeded, seed_world

pytestmark = pytest.mark.integration

MATCHED_COMPANIES = 30
MATCHED_DEPARTMENTS = 10


def seed_initial_load(harness: Harness) -> Seeded:
    seeded = seed_world(
        harness.po_store,
        harness.cb_store,
        companies=50,
        departments=20,
        persons=100,
        employees=100,
        contacts_per_company=3,  # 150 under companies
        contacts_per_person=0,
        matched_companies=MATCHED_COMPANIES,
        matched_departments=MATCHED_DEPARTMENTS,
    )
    # 50 more contact persons under person customers: 200 in all.
    for owner in seeded.persons[:50]:
        seeded.contact_persons.append(
            harness.po_store.add_contact_person(
                owner["Id"],
                FirstName="Kontakt",
                LastName=f"for {owner['FirstName']} {owner['LastName']}",
                EmailAddress=f"kontakt.{owner['Id']}@kunde.no",
            )
        )
    assert len(seeded.contact_persons) == 200
    return seeded


async def test_initial_load_creates_one_chargebee_customer_per_person_with_its_values(
    harness: Harness,
):
    seeded = seed_initial_load(harness)
    await harness.start_worker()
    status = await harness.wait_converged(within=120)

    assert harness.cb_store.customer_count(include_deleted=True) == 400
    links = await harness.links_by_left()
    partners: dict[str, tuple[str, str]] = {}
    for entity, record in seeded.people():
        key = (entity, str(record["Id"]))
        link = links.get(key)
        assert link is not None, f"no link for {key}"
        assert link["state"] == "linked", link
        assert link["right"]["system"] == "chargebee", link
        assert link["right"]["entity"] == "customer", link
        customer_id = str(link["right"]["id"])
        assert customer_id not in partners, f"{key} and {partners[customer_id]} share one"
        partners[customer_id] = key
        customer = harness.cb_store.get_customer(customer_id)
        assert customer is not None, f"{key} is linked to {customer_id}, which does not exist"
        assert customer_values(customer) == expected_customer_values(record), key
    rows = harness.cb_store.customer_rows(include_deleted=True)
    assert {row.data["id"] for row in rows} == set(partners)

    flows = status["flows"]
    assert flows["contact_person"]["linked"] == 200
    assert flows["employee"]["linked"] == 100
    assert flows["person_customer"]["linked"] == 100


async def test_initial_load_links_companies_and_departments_to_entities_of_the_same_name(
    harness: Harness,
):
    seeded = seed_initial_load(harness)
    await harness.start_worker()
    status = await harness.wait_converged(within=120)

    links = await harness.links_by_left()
    matched = {**seeded.company_entities, **seeded.department_entities}
    for entity, records in (("Customer", seeded.companies), ("Department", seeded.departments)):
        for record in records:
            link = links.get((entity, str(record["Id"])))
            assert link is not None, f"no link for {entity} {record['Id']} ({record['Name']})"
            if record["Id"] in matched:
                assert link["state"] == "linked", link
                assert link["right"]["entity"] == "business_entity", link
                assert link["right"]["id"] == matched[record["Id"]], (record["Name"], link)
            else:
                assert link["state"] == "awaiting_entity", (record["Name"], link)
    assert status["flows"]["company"]["linked"] == MATCHED_COMPANIES
    assert status["flows"]["department"]["linked"] == MATCHED_DEPARTMENTS
    # The entities were known before the companies arrived: no action item was raised
    # for a matched record, not even one resolved a moment later.
    assert status["actions"] == {"open": 30, "resolved": 0}, status["actions"]
    # Nothing was written to Chargebee for them: business entities have no API.
    assert harness.cb_store.customer_count(include_deleted=True) == 400


async def test_unmatched_companies_and_departments_become_open_action_items(harness: Harness):
    seeded = seed_initial_load(harness)
    await harness.start_worker()
    status = await harness.wait_converged(within=120)

    unmatched = {
        f"poweroffice:Customer:{r['Id']}": r["Name"]
        for r in seeded.companies
        if r["Id"] not in seeded.company_entities
    } | {
        f"poweroffice:Department:{r['Id']}": r["Name"]
        for r in seeded.departments
        if r["Id"] not in seeded.department_entities
    }
    assert len(unmatched) == 30

    items = latest_by_id(await harness.read_topic("actions", at_least=len(unmatched)))
    open_creates = {
        item["record_key"]: item
        for item in items.values()
        if item["kind"] == "create_business_entity" and not item["resolved"]
    }
    assert set(open_creates) == set(unmatched)
    for record_key, item in open_creates.items():
        assert item["name"] == unmatched[record_key]
        assert unmatched[record_key] in item["message"]
        assert item["flow"] == ("company" if ":Customer:" in record_key else "department")

    assert status["actions"]["open"] == len(unmatched)
    listed = [i for i in status["action_items"] if i["kind"] == "create_business_entity"]
    assert {i["id"] for i in listed} >= {item["id"] for item in open_creates.values()}


async def test_an_entity_created_in_chargebee_later_is_linked_and_resolves_its_action(
    harness: Harness,
):
    seeded = seed_initial_load(harness)
    await harness.start_worker()
    before = await harness.wait_converged(within=120)
    company = seeded.companies[MATCHED_COMPANIES]  # the first one without an entity
    assert company["Id"] not in seeded.company_entities
    record_key = f"poweroffice:Customer:{company['Id']}"
    items = latest_by_id(await harness.read_topic("actions", at_least=30))
    (action,) = [i for i in items.values() if i["record_key"] == record_key]
    assert action["resolved"] is False

    # A person creates the entity in Chargebee's web app (the simulator's stand-in).
    async with httpx.AsyncClient(base_url=harness.cb.root_url) as admin:
        created = await admin.post(
            "/_sim/business_entities", json={"id": "be_made_later", "name": company["Name"]}
        )
        assert created.status_code == 200, created.text
    after = await harness.wait_converged(within=60)

    link = (await harness.links_by_left())[("Customer", str(company["Id"]))]
    assert link["state"] == "linked", link
    assert link["right"]["id"] == "be_made_later"
    items = latest_by_id(await harness.read_topic("actions", at_least=31))
    assert items[action["id"]]["resolved"] is True
    assert after["actions"]["open"] == before["actions"]["open"] - 1
    assert after["actions"]["resolved"] == before["actions"]["resolved"] + 1
    assert after["flows"]["company"]["linked"] == MATCHED_COMPANIES + 1
