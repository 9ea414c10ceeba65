"""A record deleted on one side is unlinked and reported; its partner stays."""

from __future__ import annotations

import pytest

from connectors.poweroffice.resources import Resource

from .conftest import Harness, latest_by_id, person

pytestmark = pytest.mark.integration


async def test_a_chargebee_customer_deleted_unlinks_and_reports_it_and_keeps_the_employee(
    harness: Harness,
):
    employees = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(3)]
    await harness.start_worker()
    await harness.wait_converged(within=60)
    gone = employees[1]
    link = (await harness.links_by_left())[("Employee", str(gone["Id"]))]
    partner = str(link["right"]["id"])

    harness.cb_store.delete_customer(partner, source="admin_console")
    status = await harness.wait_converged(within=60)
    await harness.wait_poll_cycles(2)

    link = (await harness.links_by_left())[("Employee", str(gone["Id"]))]
    assert link["state"] == "unlinked", link
    # The partner stays in PowerOffice Go, unchanged, and nothing is created again.
    assert harness.po_store.get(Resource.EMPLOYEES, gone["Id"]) == gone
    assert harness.cb_store.customer_count() == 2

    keys = {f"poweroffice:Employee:{gone['Id']}", f"chargebee:customer:{partner}"}
    items = latest_by_id(await harness.read_topic("actions", at_least=1))
    deleted = [i for i in items.values() if i["kind"] == "record_deleted"]
    assert [i["record_key"] in keys for i in deleted] == [True], items
    assert any(i["kind"] == "record_deleted" for i in status["action_items"]), status


async def test_a_poweroffice_record_deleted_is_found_unlinked_and_reported_and_its_customer_stays(
    harness: Harness,
):
    harness.extra_env["LEDGERLINK_RECONCILE_INTERVAL"] = "0"  # list ids on every cycle
    employees = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(3)]
    await harness.start_worker()
    await harness.wait_converged(within=60)
    gone = employees[0]
    partner = str((await harness.links_by_left())[("Employee", str(gone["Id"]))]["right"]["id"])

    harness.po_store.remove(Resource.EMPLOYEES, gone["Id"])  # a hard delete, as in the web app
    await harness.wait_poll_cycles(2)
    status = await harness.wait_converged(within=60)

    link = (await harness.links_by_left())[("Employee", str(gone["Id"]))]
    assert link["state"] == "unlinked", link
    assert harness.cb_store.get_customer(partner) is not None  # the partner stays
    assert harness.cb_store.customer_count() == 3
    messages = [i["message"] for i in status["action_items"] if i["kind"] == "record_deleted"]
    assert messages == [
        f"PowerOffice Go Employee {gone['Id']} was deleted; Chargebee customer {partner} stays "
        "and is no longer synced"
    ], status
