"""Receiving Chargebee webhooks, the pure part: credentials, their check, and the event.

Each connection gets its own endpoint URL and its own HTTP Basic credentials, derived from
the one operator secret (`webhook_credentials`): user name ``ledgerlink-{connection}``,
password the hex HMAC-SHA256 of the connection id under the secret. A receiver recomputes
them, so nothing is stored, and one connection's credentials never open another's URL.

A Chargebee webhook body is the event object itself (what `GET /events/{id}` wraps as
``{"event": ...}``). Events carry no site name (the simulator's do not either), so the
per-connection URL and credentials are the check that an event belongs to the connection.
`change_events` turns an event into the `ChangeEvent` the poller would have produced for
the same record (the same conversion, `connectors.chargebee.poller`); event types
ledgerlink does not follow give none.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from connectors.chargebee.poller import (
    BUSINESS_ENTITY_EVENTS,
    business_entity_change,
    customer_change,
)
from connectors.events import ChangeEvent
from connectors.secrets import Secret

__all__ = [
    "CUSTOMER_EVENTS",
    "WEBHOOK_EVENTS",
    "WebhookEventError",
    "change_events",
    "credentials_match",
    "webhook_credentials",
    "webhook_path",
]

CUSTOMER_EVENTS = ("customer_created", "customer_changed", "customer_deleted")
#: The event types a ledgerlink endpoint asks for.
WEBHOOK_EVENTS: tuple[str, ...] = (*BUSINESS_ENTITY_EVENTS, *CUSTOMER_EVENTS)


class WebhookEventError(ValueError):
    """The body is not a Chargebee event ledgerlink can read."""


def webhook_path(connection: str) -> str:
    """Where a connection's webhooks arrive on the worker's web port."""
    return f"/ledgerlink/webhooks/chargebee/{connection}"


def webhook_credentials(secret: Secret, connection: str) -> tuple[str, Secret]:
    """The Basic (user name, password) of ``connection``'s endpoint, derived from ``secret``."""
    digest = hmac.new(secret.reveal().encode(), connection.encode(), hashlib.sha256).hexdigest()
    return f"ledgerlink-{connection}", Secret(digest)


def credentials_match(authorization: str | None, secret: Secret, connection: str) -> bool:
    """Whether an ``Authorization`` header carries ``connection``'s Basic credentials;
    compared in constant time."""
    user, password = webhook_credentials(secret, connection)
    expected = f"{user}:{password.reveal()}".encode()
    given = b""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() == "basic" and token:
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            given = b""
    # compare_digest is constant-time for equal lengths; compare even when nothing came.
    return hmac.compare_digest(given, expected) and bool(given)


def change_events(
    event: Mapping[str, Any], *, connection: str, observed_ms: int
) -> list[ChangeEvent]:
    """The change events of one webhook body (none for event types ledgerlink ignores)."""
    event_type = event.get("event_type")
    content = event.get("content")
    if not isinstance(event_type, str) or not isinstance(content, Mapping):
        raise WebhookEventError("expected a Chargebee event with event_type and content")
    try:
        if event_type in BUSINESS_ENTITY_EVENTS:
            return [business_entity_change(event, connection=connection, observed_ms=observed_ms)]
        if event_type in CUSTOMER_EVENTS:
            customer = content.get("customer")
            if not isinstance(customer, Mapping):
                raise WebhookEventError(f"{event_type} without content.customer")
            record = dict(customer)
            if event_type == "customer_deleted":
                record["deleted"] = True
            return [customer_change(record, connection=connection, observed_ms=observed_ms)]
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, WebhookEventError):
            raise
        raise WebhookEventError(f"malformed {event_type} event: {exc!r}") from None
    return []
