"""Receiving Chargebee webhooks: derived credentials, their check, and the change events."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from connectors.chargebee.poller import BusinessEntityChangeSource, CustomerChangeSource
from connectors.chargebee.webhooks import (
    WebhookEventError,
    change_events,
    credentials_match,
    webhook_credentials,
    webhook_path,
)
from connectors.events import Op
from connectors.secrets import Secret

SECRET = Secret("operator-secret")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_credentials_are_derived_per_connection_and_stable():
    user, password = webhook_credentials(SECRET, "acme")
    assert user == "ledgerlink-acme"
    expected = hmac.new(b"operator-secret", b"acme", hashlib.sha256).hexdigest()
    assert password.reveal() == expected
    assert webhook_credentials(SECRET, "acme") == (user, password)
    assert webhook_credentials(SECRET, "other")[1] != password
    assert webhook_credentials(Secret("another"), "acme")[1] != password
    assert "operator-secret" not in repr(password)
    assert expected not in repr(password)


def test_only_the_connections_own_credentials_match():
    user, password = webhook_credentials(SECRET, "acme")
    assert credentials_match(basic(user, password.reveal()), SECRET, "acme")
    other_user, other_password = webhook_credentials(SECRET, "other")
    assert not credentials_match(basic(other_user, other_password.reveal()), SECRET, "acme")
    assert not credentials_match(basic(user, "wrong"), SECRET, "acme")
    assert not credentials_match(None, SECRET, "acme")
    assert not credentials_match("", SECRET, "acme")
    assert not credentials_match("Bearer abc", SECRET, "acme")
    assert not credentials_match("Basic !!!not-base64", SECRET, "acme")


def test_the_path_names_the_connection():
    assert webhook_path("acme") == "/ledgerlink/webhooks/chargebee/acme"


CUSTOMER = {
    "id": "cus_1",
    "first_name": "Åse",
    "created_at": 1_700_000_000,
    "updated_at": 1_700_000_100,
    "resource_version": 1_700_000_100_123,
    "deleted": False,
}


def event(event_type: str, resource: str, content: dict[str, object]) -> dict[str, object]:
    return {
        "id": "ev_1",
        "occurred_at": 1_700_000_100,
        "object": "event",
        "event_type": event_type,
        "content": {resource: content},
    }


def test_a_customer_event_becomes_what_the_poller_would_publish():
    [change] = change_events(
        event("customer_changed", "customer", CUSTOMER), connection="acme", observed_ms=5
    )
    polled = CustomerChangeSource(client=None).to_event(  # type: ignore[arg-type]
        CUSTOMER, connection="acme", observed_ms=5
    )
    assert change == polled
    assert change.op is Op.UPDATE
    assert change.source.version == 1_700_000_100_123


def test_a_customer_deleted_event_is_a_delete():
    [change] = change_events(
        event("customer_deleted", "customer", CUSTOMER), connection="acme", observed_ms=5
    )
    assert change.op is Op.DELETE
    assert change.after is None


def test_a_business_entity_event_becomes_what_the_poller_would_publish():
    body = event("business_entity_updated", "business_entity", {"id": "be_1", "name": "Acme"})
    [change] = change_events(body, connection="acme", observed_ms=5)
    polled = BusinessEntityChangeSource(client=None).to_event(  # type: ignore[arg-type]
        body, connection="acme", observed_ms=5
    )
    assert change == polled


def test_other_event_types_give_nothing_and_garbage_is_refused():
    assert (
        change_events(event("invoice_generated", "invoice", {}), connection="a", observed_ms=1)
        == []
    )
    with pytest.raises(WebhookEventError):
        change_events({"id": "ev_1"}, connection="a", observed_ms=1)
    with pytest.raises(WebhookEventError):
        change_events(event("customer_changed", "customer", {}), connection="a", observed_ms=1)
