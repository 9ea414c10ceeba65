"""Our `ChargebeeClient`'s webhook endpoint methods against the simulator over real HTTP."""

from __future__ import annotations

import logging

import pytest

from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.exceptions import NotFoundError, PermanentApiError
from connectors.secrets import Secret

pytestmark = pytest.mark.integration

RECEIVER = "https://ledgerlink.example.no/ledgerlink/webhooks/chargebee/main"
SECRET = "s3cr3t-pass"


async def test_create_registers_the_receiver_with_credentials_and_events(
    client: ChargebeeClient, store: ChargebeeStore
):
    endpoint = await client.create_webhook_endpoint(
        "ledgerlink main",
        RECEIVER,
        basic_auth=("ledgerlink", Secret(SECRET)),
        enabled_events=["customer_created", "customer_changed"],
        fields={"api_version": "v2"},
    )
    assert (endpoint["name"], endpoint["url"]) == ("ledgerlink main", RECEIVER)
    assert endpoint["enabled_events"] == ["customer_created", "customer_changed"]
    assert SECRET not in str(endpoint)
    target = store.webhook_target(endpoint["id"])
    assert target is not None
    assert target.basic_auth == ("ledgerlink", SECRET)


async def test_retrieve_returns_the_endpoint(client: ChargebeeClient, store: ChargebeeStore):
    created = store.create_webhook_endpoint({"name": "a", "url": RECEIVER})
    assert await client.retrieve_webhook_endpoint(created["id"]) == created


async def test_retrieve_of_a_missing_endpoint_raises_not_found(client: ChargebeeClient):
    with pytest.raises(NotFoundError):
        await client.retrieve_webhook_endpoint("whv2_nobody")


async def test_update_changes_the_given_settings_and_credentials(
    client: ChargebeeClient, store: ChargebeeStore
):
    created = store.create_webhook_endpoint({"name": "a", "url": RECEIVER, "disabled": "true"})
    endpoint = await client.update_webhook_endpoint(
        created["id"], {"disabled": False}, basic_auth=("ll", Secret("new-pass"))
    )
    assert (endpoint["name"], endpoint["disabled"]) == ("a", False)
    target = store.webhook_target(created["id"])
    assert target is not None
    assert target.basic_auth == ("ll", "new-pass")


async def test_a_refused_create_raises_a_permanent_error(client: ChargebeeClient):
    with pytest.raises(PermanentApiError) as caught:
        await client.create_webhook_endpoint("a", "not a url")
    assert caught.value.param == "url"


async def test_iter_follows_pages_oldest_first(client: ChargebeeClient, store: ChargebeeStore):
    ids = [
        store.create_webhook_endpoint({"name": f"e{i}", "url": f"{RECEIVER}/{i}"})["id"]
        for i in range(5)
    ]
    page = await client.list_webhook_endpoints_page(limit=2)
    assert len(page.items) == 2
    assert page.next_offset is not None
    assert [e["id"] async for e in client.iter_webhook_endpoints(limit=2)] == ids


async def test_find_reuses_the_endpoint_registered_for_the_url(
    client: ChargebeeClient, store: ChargebeeStore
):
    store.create_webhook_endpoint({"name": "other", "url": f"{RECEIVER}-other"})
    ours = store.create_webhook_endpoint({"name": "ours", "url": RECEIVER})
    assert await client.find_webhook_endpoint(RECEIVER) == ours
    assert await client.find_webhook_endpoint(f"{RECEIVER}/nope") is None


async def test_the_password_never_reaches_a_log_line(
    client: ChargebeeClient, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    endpoint = await client.create_webhook_endpoint(
        "a", RECEIVER, basic_auth=("ll", Secret(SECRET))
    )
    await client.update_webhook_endpoint(endpoint["id"], {}, basic_auth=("ll", Secret(SECRET)))
    assert caplog.records
    assert SECRET not in caplog.text
