"""Chargebee webhooks on the worker (issue 7, item 5): registering one endpoint per
connection at start, and the page that receives them.

With ``LEDGERLINK_WEBHOOK_URL`` set, each connection's endpoint is
``{LEDGERLINK_WEBHOOK_URL}/ledgerlink/webhooks/chargebee/{connection}`` with the Basic
credentials `connectors.chargebee.webhooks.webhook_credentials` derives from
``LEDGERLINK_WEBHOOK_SECRET``. `register_endpoint` reuses the endpoint a previous start
registered for that URL; Chargebee never answers an endpoint's credentials back, so they
(and the event types, and ``disabled=false``) are set again on every start, which also
carries a rotated secret over. The password is never logged.

`WebhookReceiver` is what the page does with a delivery. Any worker may receive any
connection's webhook (behind one load balancer), so it only publishes change events to
``changes``, keyed by connection like the pollers', and answers 200 once Kafka acknowledged
them; the join, on the partition that owns the connection, does the rest. Ordering: a
webhook may come twice or late; the join drops a version older than (or equal to) the one
it knows (`resource_version`), so nothing is buffered or reordered here. Deliveries
already published are remembered by event id in a bounded LRU and answered 200 without
publishing again; one that slips past it (another worker, after a restart) is dropped by
the join in the same way.

`WebhookHealth` is the small signal the poll scheduler reads: a connection's webhooks are
healthy once its endpoint was registered or a valid delivery came, and while they are,
its Chargebee site is polled only as a slow safety net; each valid delivery also tells the
scheduler that the connection is active.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any

import faust
import orjson
from faust.web import View

from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.webhooks import (
    WEBHOOK_EVENTS,
    WebhookEventError,
    change_events,
    credentials_match,
    webhook_credentials,
    webhook_path,
)
from connectors.exceptions import PermanentApiError, TransientApiError
from connectors.polling.publisher import EventSink, PublishError
from connectors.secrets import Secret

__all__ = [
    "WebhookHealth",
    "WebhookReceiver",
    "add_webhook_page",
    "endpoint_url",
    "register_endpoint",
    "register_endpoints",
]

log = logging.getLogger(__name__)

#: How many delivered event ids are remembered for de-duplication.
REMEMBERED_EVENTS = 10_000


def endpoint_url(base_url: str, connection: str) -> str:
    return f"{base_url.rstrip('/')}{webhook_path(connection)}"


async def register_endpoint(
    client: ChargebeeClient, *, base_url: str, secret: Secret, connection: str
) -> str:
    """Create ``connection``'s endpoint, or bring the one registered before up to date;
    returns its id."""
    url = endpoint_url(base_url, connection)
    auth = webhook_credentials(secret, connection)
    existing = await client.find_webhook_endpoint(url)
    if existing is None:
        created = await client.create_webhook_endpoint(
            f"ledgerlink-{connection}", url, basic_auth=auth, enabled_events=WEBHOOK_EVENTS
        )
        endpoint_id = str(created["id"])
        log.info("%s: webhook endpoint %s registered at %s", connection, endpoint_id, url)
        return endpoint_id
    endpoint_id = str(existing["id"])
    await client.update_webhook_endpoint(
        endpoint_id, {"disabled": False}, basic_auth=auth, enabled_events=WEBHOOK_EVENTS
    )
    log.info("%s: webhook endpoint %s at %s reused", connection, endpoint_id, url)
    return endpoint_id


async def register_endpoints(
    clients: Callable[[str], ChargebeeClient],
    connections: Collection[str],
    *,
    base_url: str,
    secret: Secret,
    retry_seconds: float = 5.0,
    health: WebhookHealth | None = None,
) -> None:
    """Register every connection's endpoint; a transient failure is retried (doubling up
    to a minute), a permanent one is logged and leaves that connection to its poller.
    ``health`` hears which registrations succeeded."""
    for connection in connections:
        delay = retry_seconds
        while True:
            try:
                await register_endpoint(
                    clients(connection), base_url=base_url, secret=secret, connection=connection
                )
                if health is not None:
                    health.record_registered(connection)
                break
            except TransientApiError as exc:
                log.warning(
                    "%s: registering the webhook endpoint failed, retrying in %.0f s: %s",
                    connection,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
            except PermanentApiError as exc:
                log.error(
                    "%s: the webhook endpoint could not be registered; changes arrive by "
                    "polling only: %s",
                    connection,
                    exc,
                )
                if health is not None:
                    health.record_failed(connection)
                break


class WebhookHealth:
    """Which connections' webhooks work, for the poll scheduler (`streams.agents.poll_loop`).

    Healthy: the endpoint was registered in this process, or a valid delivery came within
    the last ``fresh_ms``. ``listeners`` are called with the connection of each valid
    delivery (the scheduler polls an active connection's other system sooner)."""

    def __init__(self, *, clock_ms: Callable[[], int], fresh_ms: int = 3_600_000) -> None:
        self._clock_ms = clock_ms
        self._fresh_ms = fresh_ms
        self._registered: set[str] = set()
        self._last_event_ms: dict[str, int] = {}
        self.listeners: list[Callable[[str], None]] = []

    def record_registered(self, connection: str) -> None:
        self._registered.add(connection)

    def record_failed(self, connection: str) -> None:
        """Registration failed for good: only a delivery makes the connection healthy."""
        self._registered.discard(connection)

    def record_event(self, connection: str) -> None:
        self._last_event_ms[connection] = self._clock_ms()
        for listener in list(self.listeners):
            listener(connection)

    def healthy(self, connection: str) -> bool:
        if connection in self._registered:
            return True
        last = self._last_event_ms.get(connection)
        return last is not None and self._clock_ms() - last <= self._fresh_ms


class WebhookReceiver:
    """Checks and publishes one webhook delivery; ``sink`` is set while the worker's
    publisher runs (before that, deliveries get 503 and Chargebee retries them).
    ``health`` (optional) hears of every valid delivery."""

    def __init__(
        self,
        *,
        served: Collection[str],
        secret: Secret,
        clock_ms: Callable[[], int],
        remember: int = REMEMBERED_EVENTS,
        health: WebhookHealth | None = None,
    ) -> None:
        self.served = frozenset(served)
        self.health = health
        self.sink: EventSink | None = None
        self._secret = secret
        self._clock_ms = clock_ms
        self._remember = remember
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def receive(
        self, connection: str, authorization: str | None, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON answer) for one delivery."""
        if connection not in self.served:
            return 404, {"error": f"unknown connection {connection!r}"}
        if not credentials_match(authorization, self._secret, connection):
            return 401, {"error": "wrong or missing credentials"}
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            return 400, {"error": "the body is not JSON"}
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            return 400, {"error": "expected a Chargebee event object with an id"}
        key = (connection, event["id"])
        if key in self._seen:
            self._seen.move_to_end(key)
            return 200, {"published": 0, "duplicate": True}
        try:
            changes = change_events(event, connection=connection, observed_ms=self._clock_ms())
        except WebhookEventError as exc:
            return 400, {"error": str(exc)}
        if changes:
            if self.sink is None:
                return 503, {"error": "not ready to publish yet"}
            try:
                await self.sink.publish(changes)
            except PublishError as exc:
                log.warning("%s: webhook %s not published: %s", connection, event["id"], exc)
                return 503, {"error": "Kafka did not acknowledge; deliver again"}
        self._seen[key] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        if self.health is not None:
            self.health.record_event(connection)
        return 200, {"published": len(changes)}


def add_webhook_page(app: faust.App, receiver: WebhookReceiver) -> None:
    """``POST /ledgerlink/webhooks/chargebee/{connection}``: `WebhookReceiver.receive`."""

    @app.page(webhook_path("{connection}"))
    class ChargebeeWebhook(View):
        async def post(self, request: Any, **params: Any) -> Any:
            status, answer = await receiver.receive(
                str(params.get("connection", "")),
                request.headers.get("Authorization"),
                await request.read(),
            )
            return self.json(answer, status=status)
