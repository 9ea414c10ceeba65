"""Webhook endpoints in the simulator: the official SDK, unchanged, manages them, and every
event reaches the endpoints that want it, with their Basic credentials, retried on failure.

The SDK is synchronous, so each call runs in a worker thread while the simulator serves
from the test's event loop. Receivers are small aiohttp servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import chargebee
import httpx
import pytest
from aiohttp import web

from connectors.chargebee.sim.server import build_app
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.simkit import RunningSimulator, start_simulator
from tests.integration.chargebee.conftest import API_KEY

pytestmark = pytest.mark.integration

FAST_DELAYS = (0.05, 0.1, 0.2)
SECRET = "s3cr3t-pass"


@pytest.fixture
async def simulator(site: str, store: ChargebeeStore) -> AsyncIterator[RunningSimulator]:
    """The shared simulator, with retries in fractions of a second."""
    app = build_app(
        site=site,
        api_key=API_KEY,
        store=store,
        webhook_retry_delays=FAST_DELAYS,
        webhook_timeout=2.0,
    )
    running = await start_simulator(app)
    yield running
    await running.stop()


async def call(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(function, *args)


# -- managing endpoints with the official SDK ---------------------------------------------


async def test_sdk_creates_an_endpoint_with_defaults_and_no_password_in_the_answer(sdk):
    result = await call(
        sdk.WebhookEndpoint.create,
        {
            "name": "ledgerlink",
            "url": "https://example.no/hooks",
            "basic_auth_username": "ledgerlink",
            "basic_auth_password": SECRET,
        },
    )
    endpoint = result.webhook_endpoint
    assert endpoint.id.startswith("whv2_")
    assert (endpoint.name, endpoint.url) == ("ledgerlink", "https://example.no/hooks")
    assert (endpoint.api_version, endpoint.disabled, endpoint.primary_url) == ("v2", False, False)
    assert endpoint.chargebee_response_schema_type == "items"
    assert SECRET not in str(endpoint.raw_data)
    assert not any(key.startswith("basic_auth") for key in endpoint.raw_data)


async def test_sdk_sends_enums_and_enabled_events_the_simulator_keeps(sdk):
    from chargebee.models import enums

    result = await call(
        sdk.WebhookEndpoint.create,
        {
            "name": "customers only",
            "url": "http://127.0.0.1:9/hooks",
            "api_version": sdk.WebhookEndpoint.ApiVersion.V2,
            "chargebee_response_schema_type": enums.ChargebeeResponseSchemaType.ITEMS,
            "enabled_events": [enums.EventType.CUSTOMER_CREATED, enums.EventType.CUSTOMER_CHANGED],
            "send_card_resource": True,
        },
    )
    endpoint = result.webhook_endpoint
    assert endpoint.enabled_events == ["customer_created", "customer_changed"]
    assert endpoint.send_card_resource is True


async def test_sdk_retrieves_an_endpoint(sdk, store: ChargebeeStore):
    created = store.create_webhook_endpoint({"name": "a", "url": "https://example.no/a"})
    result = await call(sdk.WebhookEndpoint.retrieve, created["id"])
    assert result.webhook_endpoint.id == created["id"]
    assert result.webhook_endpoint.url == "https://example.no/a"


async def test_sdk_lists_endpoints_oldest_first_across_pages(sdk, store: ChargebeeStore):
    ids = [
        store.create_webhook_endpoint({"name": f"e{i}", "url": f"https://example.no/{i}"})["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    offset = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if offset:
            params["offset"] = offset
        result = await call(sdk.WebhookEndpoint.list, params)
        seen.extend(entry.webhook_endpoint.id for entry in result.list)
        offset = result.next_offset
        if not offset:
            break
    assert seen == ids


async def test_sdk_updates_only_the_given_fields(sdk, store: ChargebeeStore):
    created = store.create_webhook_endpoint({"name": "a", "url": "https://example.no/a"})
    result = await call(
        sdk.WebhookEndpoint.update, created["id"], {"url": "https://example.no/b", "disabled": True}
    )
    endpoint = result.webhook_endpoint
    assert (endpoint.name, endpoint.url, endpoint.disabled) == ("a", "https://example.no/b", True)


async def test_sdk_deletes_an_endpoint_and_it_is_gone(sdk, store: ChargebeeStore):
    created = store.create_webhook_endpoint({"name": "a", "url": "https://example.no/a"})
    result = await call(sdk.WebhookEndpoint.delete, created["id"])
    assert result.webhook_endpoint.id == created["id"]
    with pytest.raises(chargebee.APIError) as caught:
        await call(sdk.WebhookEndpoint.retrieve, created["id"])
    assert caught.value.http_status_code == 404
    assert caught.value.api_error_code == "resource_not_found"


async def test_sdk_is_refused_a_create_without_a_url(sdk):
    with pytest.raises(chargebee.InvalidRequestError) as caught:
        await call(sdk.WebhookEndpoint.create, {"name": "a"})
    assert caught.value.param == "url"


async def test_a_password_without_a_user_name_is_refused(sdk):
    with pytest.raises(chargebee.InvalidRequestError) as caught:
        await call(
            sdk.WebhookEndpoint.create,
            {"name": "a", "url": "https://example.no/a", "basic_auth_password": SECRET},
        )
    assert caught.value.param == "basic_auth_username"


async def test_primary_url_moves_to_the_endpoint_that_last_claimed_it(sdk, store):
    first = store.create_webhook_endpoint(
        {"name": "a", "url": "https://example.no/a", "primary_url": "true"}
    )
    second = await call(
        sdk.WebhookEndpoint.create,
        {"name": "b", "url": "https://example.no/b", "primary_url": True},
    )
    assert second.webhook_endpoint.primary_url is True
    assert store.retrieve_webhook_endpoint(first["id"])["primary_url"] is False


# -- delivery ------------------------------------------------------------------------------


class Receiver:
    """An aiohttp server that records what it gets; answers 500 to the first ``fail_first``."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.calls = 0
        self.arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        self.authorizations.append(request.headers.get("Authorization"))
        if self.calls <= self.fail_first:
            return web.Response(status=500)
        body = await request.json()
        async with self.arrived:
            self.received.append(body)
            self.arrived.notify_all()
        return web.Response(status=200)

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(5.0), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)
        return self.received


@pytest.fixture
async def serve_receiver() -> AsyncIterator[Callable[[Receiver], Awaitable[str]]]:
    running: list[RunningSimulator] = []

    async def serve(receiver: Receiver) -> str:
        app = web.Application()
        app.router.add_post("/ledgerlink/webhooks/chargebee/main", receiver.handle)
        server = await start_simulator(app)
        running.append(server)
        return f"{server.root_url}/ledgerlink/webhooks/chargebee/main"

    yield serve
    for server in running:
        await server.stop()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_customer_events_arrive_in_order_with_basic_credentials(
    sdk, store: ChargebeeStore, serve_receiver
):
    receiver = Receiver()
    url = await serve_receiver(receiver)
    await call(
        sdk.WebhookEndpoint.create,
        {"name": "ll", "url": url, "basic_auth_username": "ll", "basic_auth_password": SECRET},
    )
    await call(sdk.Customer.create, {"id": "cus_1", "first_name": "Kari"})
    await call(sdk.Customer.update, "cus_1", {"first_name": "Kåre"})
    await call(sdk.Customer.delete, "cus_1")

    received = await receiver.wait_for(3)
    assert [event["event_type"] for event in received] == [
        "customer_created",
        "customer_changed",
        "customer_deleted",
    ]
    assert [event["id"] for event in received] == [event["id"] for event in store.events()]
    assert received[1]["content"]["customer"]["first_name"] == "Kåre"
    assert set(receiver.authorizations) == {basic("ll", SECRET)}


async def test_the_payload_is_the_event_as_the_events_api_returns_it(
    sdk, store: ChargebeeStore, serve_receiver
):
    receiver = Receiver()
    url = await serve_receiver(receiver)
    store.create_webhook_endpoint({"name": "ll", "url": url})
    await call(sdk.Customer.create, {"id": "cus_1"})
    (payload,) = await receiver.wait_for(1)
    listed = await call(sdk.Event.retrieve, payload["id"])
    assert payload == listed.event.raw_data
    assert payload["object"] == "event"
    assert receiver.authorizations == [None]


async def test_a_failing_receiver_gets_the_event_again_after_backoff(
    simulator, store: ChargebeeStore, serve_receiver
):
    receiver = Receiver(fail_first=2)
    url = await serve_receiver(receiver)
    endpoint = store.create_webhook_endpoint({"name": "ll", "url": url})
    store.create_customer({"id": "cus_1"})

    (event,) = await receiver.wait_for(1)
    assert event["event_type"] == "customer_created"
    async with httpx.AsyncClient(base_url=simulator.root_url) as admin:
        answer = await admin.get("/_sim/webhook_deliveries", params={"endpoint_id": endpoint["id"]})
    attempts = [(d["attempt"], d["status"], d["http_status"]) for d in answer.json()["deliveries"]]
    assert attempts == [(1, "failed", 500), (2, "failed", 500), (3, "succeeded", 200)]
    times = [d["at"] for d in answer.json()["deliveries"]]
    assert times[1] - times[0] >= FAST_DELAYS[0] * 0.9
    assert times[2] - times[1] >= FAST_DELAYS[1] * 0.9


async def test_delivery_gives_up_after_the_last_retry(
    store: ChargebeeStore, serve_receiver, simulator
):
    receiver = Receiver(fail_first=100)
    url = await serve_receiver(receiver)
    store.create_webhook_endpoint({"name": "ll", "url": url})
    store.create_customer({"id": "cus_1"})
    async with httpx.AsyncClient(base_url=simulator.root_url) as admin:
        for _ in range(100):
            deliveries = (await admin.get("/_sim/webhook_deliveries")).json()["deliveries"]
            if deliveries and not deliveries[-1]["will_retry"]:
                break
            await asyncio.sleep(0.05)
    assert [d["attempt"] for d in deliveries] == [1, 2, 3, 4]
    assert deliveries[-1]["will_retry"] is False
    assert receiver.calls == 1 + len(FAST_DELAYS)


async def test_a_disabled_endpoint_gets_nothing(store: ChargebeeStore, serve_receiver, simulator):
    off, on = Receiver(), Receiver()
    store.create_webhook_endpoint(
        {"name": "off", "url": await serve_receiver(off), "disabled": "true"}
    )
    store.create_webhook_endpoint({"name": "on", "url": await serve_receiver(on)})
    store.create_customer({"id": "cus_1"})
    await on.wait_for(1)
    await asyncio.sleep(0.1)
    assert off.calls == 0


async def test_enabled_events_limit_what_an_endpoint_gets(
    store: ChargebeeStore, serve_receiver, simulator
):
    receiver = Receiver()
    store.create_webhook_endpoint(
        {
            "name": "ll",
            "url": await serve_receiver(receiver),
            "enabled_events": ["customer_changed"],
        }
    )
    store.create_customer({"id": "cus_1"})
    store.update_customer("cus_1", {"first_name": "Kari"})
    received = await receiver.wait_for(1)
    await asyncio.sleep(0.1)
    assert [event["event_type"] for event in received] == ["customer_changed"]


async def test_an_unreachable_endpoint_does_not_hold_up_requests(sdk, store, simulator):
    # Port 9 (discard) is closed on 127.0.0.1: every delivery fails at once and is retried.
    store.create_webhook_endpoint({"name": "dead", "url": "http://127.0.0.1:9/hooks"})
    for i in range(5):
        await call(sdk.Customer.create, {"id": f"cus_{i}"})
    assert store.customer_count() == 5


async def test_a_retried_event_arrives_after_later_ones(
    store: ChargebeeStore, serve_receiver, simulator
):
    receiver = Receiver(fail_first=1)
    store.create_webhook_endpoint({"name": "ll", "url": await serve_receiver(receiver)})
    store.create_customer({"id": "cus_1"})
    store.update_customer("cus_1", {"first_name": "Kari"})
    received = await receiver.wait_for(2)
    assert [event["event_type"] for event in received] == ["customer_changed", "customer_created"]


def delivery_tasks() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith(("webhooks ", "retry ")) and not task.done()
    ]


async def test_stopping_the_simulator_cancels_pending_deliveries(
    site: str, store: ChargebeeStore, serve_receiver
):
    receiver = Receiver(fail_first=100)
    app = build_app(site=site, api_key=API_KEY, store=store, webhook_retry_delays=(60,))
    running = await start_simulator(app)
    store.create_webhook_endpoint({"name": "ll", "url": await serve_receiver(receiver)})
    store.create_customer({"id": "cus_1"})
    for _ in range(100):
        if receiver.calls:
            break
        await asyncio.sleep(0.02)
    assert delivery_tasks()
    await running.stop()
    assert delivery_tasks() == []


async def test_reset_forgets_deliveries_and_pending_retries(
    store: ChargebeeStore, serve_receiver, simulator
):
    receiver = Receiver(fail_first=100)
    store.create_webhook_endpoint({"name": "ll", "url": await serve_receiver(receiver)})
    store.create_customer({"id": "cus_1"})
    async with httpx.AsyncClient(base_url=simulator.root_url) as admin:
        for _ in range(100):
            if (await admin.get("/_sim/webhook_deliveries")).json()["deliveries"]:
                break
            await asyncio.sleep(0.02)
        await admin.post("/_sim/reset")
        await asyncio.sleep(0.3)
        assert (await admin.get("/_sim/webhook_deliveries")).json() == {"deliveries": []}
    assert delivery_tasks() == []


async def settled() -> None:
    for _ in range(100):
        if not delivery_tasks():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"deliveries still running: {delivery_tasks()}")


async def test_an_idle_endpoint_leaves_no_worker_behind(
    store: ChargebeeStore, serve_receiver, simulator
):
    receiver = Receiver()
    store.create_webhook_endpoint({"name": "ll", "url": await serve_receiver(receiver)})
    store.create_customer({"id": "cus_1"})
    await receiver.wait_for(1)
    await settled()


async def test_a_deleted_endpoint_gets_no_more_events(
    store: ChargebeeStore, serve_receiver, simulator
):
    receiver = Receiver()
    endpoint = store.create_webhook_endpoint({"name": "ll", "url": await serve_receiver(receiver)})
    store.create_customer({"id": "cus_1"})
    await receiver.wait_for(1)
    store.delete_webhook_endpoint(endpoint["id"])
    store.update_customer("cus_1", {"first_name": "Kari"})
    await settled()
    assert receiver.calls == 1
