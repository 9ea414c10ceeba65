"""The webhook receiver: 404 for a connection not served, 401 without its credentials,
publish once per event id, 200 only after the publish returned."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import orjson

from connectors.chargebee.webhooks import webhook_credentials
from connectors.events import ChangeEvent
from connectors.polling.publisher import PublishError
from connectors.secrets import Secret
from streams.webhooks import WebhookHealth, WebhookReceiver, endpoint_url

SECRET = Secret("operator-secret")


class RecordingSink:
    def __init__(self, *, fail: bool = False) -> None:
        self.published: list[ChangeEvent] = []
        self.fail = fail

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        if self.fail:
            raise PublishError("Kafka away")
        self.published.extend(events)


def auth(connection: str, secret: Secret = SECRET) -> str:
    user, password = webhook_credentials(secret, connection)
    return "Basic " + base64.b64encode(f"{user}:{password.reveal()}".encode()).decode()


def body(event_id: str = "ev_1", version: int = 1_700_000_100_000) -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "occurred_at": 1_700_000_100,
            "event_type": "customer_changed",
            "content": {
                "customer": {
                    "id": "cus_1",
                    "created_at": 1_700_000_000,
                    "updated_at": 1_700_000_100,
                    "resource_version": version,
                }
            },
        }
    )


def receiver(sink: RecordingSink | None) -> WebhookReceiver:
    the = WebhookReceiver(served=["acme", "other"], secret=SECRET, clock_ms=lambda: 42, remember=2)
    the.sink = sink
    return the


async def test_a_delivery_with_its_credentials_is_published_keyed_by_connection():
    sink = RecordingSink()
    status, answer = await receiver(sink).receive("acme", auth("acme"), body())
    assert (status, answer) == (200, {"published": 1})
    [event] = sink.published
    assert event.connection == "acme"
    assert event.key == b"acme"
    assert event.source.id == "cus_1"
    assert event.observed_ms == 42


async def test_unknown_connection_is_404_and_bad_credentials_401_with_nothing_published():
    sink = RecordingSink()
    the = receiver(sink)
    assert (await the.receive("nobody", auth("nobody"), body()))[0] == 404
    assert (await the.receive("acme", None, body()))[0] == 401
    assert (await the.receive("acme", auth("other"), body()))[0] == 401
    assert (await the.receive("acme", auth("acme", Secret("guess")), body()))[0] == 401
    assert sink.published == []


async def test_a_repeated_event_id_is_published_once_within_the_remembered_window():
    sink = RecordingSink()
    the = receiver(sink)
    for _ in range(3):
        assert (await the.receive("acme", auth("acme"), body("ev_1")))[0] == 200
    assert len(sink.published) == 1
    await the.receive("acme", auth("acme"), body("ev_2"))
    await the.receive("acme", auth("acme"), body("ev_3"))  # ev_1 is forgotten (remember=2)
    await the.receive("acme", auth("acme"), body("ev_1"))
    assert len(sink.published) == 4


async def test_no_200_before_kafka_acknowledged():
    status, _ = await receiver(None).receive("acme", auth("acme"), body())
    assert status == 503
    failing = receiver(RecordingSink(fail=True))
    assert (await failing.receive("acme", auth("acme"), body()))[0] == 503
    failing.sink = RecordingSink()
    assert (await failing.receive("acme", auth("acme"), body()))[0] == 200  # not remembered


async def test_garbage_is_400_and_unfollowed_event_types_200_with_nothing_published():
    sink = RecordingSink()
    the = receiver(sink)
    assert (await the.receive("acme", auth("acme"), b"not json"))[0] == 400
    assert (await the.receive("acme", auth("acme"), b"[1]"))[0] == 400
    other = orjson.dumps({"id": "ev_9", "event_type": "invoice_generated", "content": {}})
    assert await the.receive("acme", auth("acme"), other) == (200, {"published": 0})
    assert sink.published == []


def test_endpoint_url():
    assert endpoint_url("https://h.example.no/", "acme") == (
        "https://h.example.no/ledgerlink/webhooks/chargebee/acme"
    )


class FakeEndpoints:
    """find/create/update as `ChargebeeClient` does them, in memory."""

    def __init__(self) -> None:
        self.endpoints: dict[str, dict[str, object]] = {}
        self.calls: list[str] = []

    async def find_webhook_endpoint(self, url: str) -> dict[str, object] | None:
        self.calls.append("find")
        return next((e for e in self.endpoints.values() if e["url"] == url), None)

    async def create_webhook_endpoint(self, name, url, *, basic_auth, enabled_events):
        self.calls.append("create")
        endpoint_id = f"whv2_{len(self.endpoints) + 1}"
        self.endpoints[endpoint_id] = {"id": endpoint_id, "url": url, "auth": basic_auth}
        return self.endpoints[endpoint_id]

    async def update_webhook_endpoint(self, endpoint_id, fields, *, basic_auth, enabled_events):
        self.calls.append("update")
        self.endpoints[endpoint_id].update(fields, auth=basic_auth)
        return self.endpoints[endpoint_id]


async def test_registration_creates_once_then_reuses_and_refreshes_credentials(caplog):
    from streams.webhooks import register_endpoint

    fake = FakeEndpoints()
    caplog.set_level("INFO")
    kwargs = {"base_url": "https://h.example.no", "secret": SECRET, "connection": "acme"}
    first = await register_endpoint(fake, **kwargs)  # type: ignore[arg-type]
    again = await register_endpoint(fake, **kwargs)  # type: ignore[arg-type]
    assert first == again
    assert list(fake.endpoints) == [first]
    assert fake.calls == ["find", "create", "find", "update"]
    assert fake.endpoints[first]["auth"] == webhook_credentials(SECRET, "acme")
    assert fake.endpoints[first]["disabled"] is False
    password = webhook_credentials(SECRET, "acme")[1].reveal()
    assert first in caplog.text
    assert password not in caplog.text


async def test_only_valid_deliveries_make_a_connections_webhooks_healthy_and_wake_it():
    now = [1_000]
    health = WebhookHealth(clock_ms=lambda: now[0], fresh_ms=60_000)
    woken: list[str] = []
    health.listeners.append(woken.append)
    the = WebhookReceiver(served=["acme"], secret=SECRET, clock_ms=lambda: 42, health=health)
    the.sink = RecordingSink()
    assert (await the.receive("acme", None, body()))[0] == 401
    assert not health.healthy("acme")
    assert woken == []
    assert (await the.receive("acme", auth("acme"), body()))[0] == 200
    assert health.healthy("acme")
    assert woken == ["acme"]
    now[0] += 60_001  # no delivery for longer than fresh_ms
    assert not health.healthy("acme")


def test_a_registered_endpoint_is_healthy_until_its_registration_fails():
    health = WebhookHealth(clock_ms=lambda: 0)
    health.record_registered("acme")
    assert health.healthy("acme")
    assert not health.healthy("other")
    health.record_failed("acme")
    assert not health.healthy("acme")


async def test_registered_endpoints_are_reported_healthy():
    from streams.webhooks import register_endpoints

    fake = FakeEndpoints()
    health = WebhookHealth(clock_ms=lambda: 0)
    await register_endpoints(
        lambda _connection: fake,  # type: ignore[arg-type,return-value]
        ["acme"],
        base_url="https://h.example.no",
        secret=SECRET,
        health=health,
    )
    assert health.healthy("acme")
    assert not health.healthy("other")
