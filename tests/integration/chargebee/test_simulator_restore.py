"""`POST /_sim/customers/{id}/restore`: a change behind the API's back (a restored backup,
a bulk import) that no poll, event or webhook can notice."""

from __future__ import annotations

import httpx
import pytest

from connectors.chargebee.sim.store import ChargebeeStore

pytestmark = pytest.mark.integration


async def test_a_restore_changes_fields_but_keeps_versions_and_emits_no_event(
    admin: httpx.AsyncClient, store: ChargebeeStore
):
    created = store.create_customer({"id": "c1", "first_name": "Kari", "last_name": "Ås"})
    events_before = len(store.events())
    response = await admin.post(
        "/_sim/customers/c1/restore", json={"first_name": "Gammel", "last_name": "Backup"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["customer"]["first_name"] == "Gammel"
    now = store.get_customer("c1")
    assert now is not None
    assert (now["first_name"], now["last_name"]) == ("Gammel", "Backup")
    assert now["resource_version"] == created["resource_version"]
    assert now["updated_at"] == created["updated_at"]
    assert len(store.events()) == events_before


async def test_a_restore_of_an_unknown_customer_is_chargebees_404(admin: httpx.AsyncClient):
    response = await admin.post("/_sim/customers/nobody/restore", json={"first_name": "X"})
    assert response.status_code == 404
    assert response.json()["api_error_code"] == "resource_not_found"


async def test_a_restore_checks_values_as_the_api_does(admin: httpx.AsyncClient, store):
    store.create_customer({"id": "c1"})
    response = await admin.post("/_sim/customers/c1/restore", json={"first_name": "x" * 151})
    assert response.status_code == 400
    assert response.json()["param"] == "first_name"
