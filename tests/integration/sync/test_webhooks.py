"""Chargebee webhooks (issue 7, item 5): with LEDGERLINK_WEBHOOK_URL set the worker
registers one endpoint for its connection (and reuses it after a restart), a Chargebee
edit reaches PowerOffice Go through it long before the next poll, and a delivery without
the connection's credentials is refused and publishes nothing."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import pytest

from connectors.chargebee.webhooks import webhook_credentials
from connectors.poweroffice.resources import Resource
from connectors.secrets import Secret

from .conftest import Harness
from .seeding import seed_world

pytestmark = pytest.mark.integration

SECRET = "webhook-test-secret"
POLL_INTERVAL = 30.0
PATH = "/ledgerlink/webhooks/chargebee/default"


def endpoints_for(harness: Harness, url: str) -> list[Mapping[str, Any]]:
    return [row.data for row in harness.cb_store.webhook_endpoint_rows() if row.data["url"] == url]


async def wait_for(
    check: Callable[[], Awaitable[bool]], within: float, what: str, harness: Harness
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} within {within:.0f} s; log tail:\n{harness.log_tail()}")


async def endpoint_updates(harness: Harness) -> int:
    return sum(
        int(row["count"])
        for row in await harness.sim_stats("chargebee")
        if row["method"] == "POST"
        and row["route"] == "/api/v2/webhook_endpoints/{id}"
        and 200 <= int(row["status"]) < 300
    )


async def test_webhooks_register_once_carry_an_edit_fast_and_refuse_strangers(harness: Harness):
    url = f"http://127.0.0.1:{harness.web_port}{PATH}"
    harness.poll_interval = POLL_INTERVAL
    harness.extra_env.update(
        {
            "LEDGERLINK_WEBHOOK_URL": f"http://127.0.0.1:{harness.web_port}",
            "LEDGERLINK_WEBHOOK_SECRET": SECRET,
        }
    )
    seeded = seed_world(
        harness.po_store,
        harness.cb_store,
        companies=1,
        departments=1,
        persons=3,
        employees=1,
        contacts_per_company=1,
        matched_companies=1,
        matched_departments=1,
    )
    await harness.start_worker()

    async def registered() -> bool:
        return len(endpoints_for(harness, url)) == 1

    await wait_for(registered, 20, "no webhook endpoint registered", harness)
    await harness.wait_converged(within=60, fresh_polls=0)
    person = seeded.persons[1]
    link = (await harness.links_by_left())[("Customer", str(person["Id"]))]
    assert link["state"] == "linked", link
    partner = str(link["right"]["id"])
    polls_before = Harness._poll_marks(await harness.status())

    # An edit in Chargebee's web app reaches PowerOffice Go through the webhook ...
    started = time.monotonic()
    harness.cb_store.update_customer(
        partner, {"last_name": "Webhook-Ødegård"}, source="admin_console"
    )

    async def arrived() -> bool:
        record = harness.po_store.get(Resource.CUSTOMERS, person["Id"])
        return bool(record["LastName"] == "Webhook-Ødegård")

    await wait_for(arrived, 10, "the Chargebee edit did not reach PowerOffice Go", harness)
    took = time.monotonic() - started
    # ... with no poll in between (the interval is 30 s).
    assert Harness._poll_marks(await harness.status()) == polls_before, took
    assert took < 10

    # Without the connection's credentials: 401 and nothing on `changes`.
    forged = orjson.dumps(
        {
            "id": "ev_forged",
            "occurred_at": int(time.time()),
            "event_type": "customer_changed",
            "content": {"customer": {"id": "cus_forged", "updated_at": 1, "created_at": 0}},
        }
    )
    other_user, other_password = webhook_credentials(Secret("a guess"), "default")
    wrong = base64.b64encode(f"{other_user}:{other_password.reveal()}".encode()).decode()
    for headers in ({}, {"Authorization": f"Basic {wrong}"}):
        response = await harness.http.post(PATH, content=forged, headers=headers)
        assert response.status_code == 401, response.text
    assert (
        await harness.http.post("/ledgerlink/webhooks/chargebee/nobody", content=forged)
    ).status_code == 404
    changes = await harness.read_topic("changes", at_least=1)
    assert not [c for c in changes if c["source"]["id"] == "cus_forged"]

    # A restart reuses the endpoint (and sets its credentials again).
    updates = await endpoint_updates(harness)
    await harness.stop_worker()
    await harness.start_worker()

    async def reused() -> bool:
        return await endpoint_updates(harness) > updates

    await wait_for(reused, 20, "the endpoint was not updated after the restart", harness)
    assert len(endpoints_for(harness, url)) == 1
    assert SECRET not in harness.log_path.read_text(errors="replace")
    password = webhook_credentials(Secret(SECRET), "default")[1].reveal()
    assert password not in harness.log_path.read_text(errors="replace")
