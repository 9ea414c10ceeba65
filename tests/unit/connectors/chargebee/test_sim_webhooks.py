"""The pure parts of the simulator's webhooks: retry schedule, who wants an event, what
counts as delivered, the Basic header, and the store's endpoint rules."""

from __future__ import annotations

import base64

import pytest

from connectors.chargebee.sim.store import ChargebeeStore, StoreError, WebhookTarget
from connectors.chargebee.sim.webhooks import (
    WebhookDeliverer,
    basic_authorization,
    is_delivered,
    retry_delay,
    wanted_by,
)

SECRET = "s3cr3t-pass"


@pytest.mark.parametrize(
    ("delays", "attempt", "expected"),
    [
        ((1, 2, 4), 1, 1.0),
        ((1, 2, 4), 2, 2.0),
        ((1, 2, 4), 3, 4.0),
        ((1, 2, 4), 4, None),
        ((), 1, None),
    ],
)
def test_retry_delay_follows_the_schedule_then_gives_up(delays, attempt, expected):
    assert retry_delay(delays, attempt) == expected


def test_retry_delay_counts_attempts_from_one():
    with pytest.raises(ValueError, match="from 1"):
        retry_delay((1,), 0)


@pytest.mark.parametrize(
    ("status", "delivered"), [(200, True), (204, True), (299, True), (301, False), (500, False)]
)
def test_only_a_2xx_answer_delivers(status, delivered):
    assert is_delivered(status) is delivered


def test_basic_authorization_encodes_user_and_password():
    scheme, token = basic_authorization("ll", SECRET).split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == f"ll:{SECRET}"


def target(
    endpoint_id: str, *, disabled: bool = False, events: tuple[str, ...] = ()
) -> WebhookTarget:
    return WebhookTarget(endpoint_id, "https://example.no", disabled, events, None)


@pytest.mark.parametrize(
    ("targets", "event_type", "wanted"),
    [
        ([target("a")], "customer_created", ["a"]),
        ([target("a", disabled=True)], "customer_created", []),
        ([target("a", events=("customer_changed",))], "customer_created", []),
        ([target("a", events=("customer_changed",))], "customer_changed", ["a"]),
        ([target("b"), target("a", events=("x",)), target("c")], "customer_created", ["b", "c"]),
    ],
)
def test_wanted_by_keeps_enabled_endpoints_whose_events_match(targets, event_type, wanted):
    assert [t.endpoint_id for t in wanted_by(targets, event_type)] == wanted


def test_a_target_repr_hides_the_credentials():
    shown = repr(WebhookTarget("a", "https://example.no", False, (), ("ll", SECRET)))
    assert SECRET not in shown


def test_the_deliverer_refuses_negative_delays():
    with pytest.raises(ValueError, match="negative"):
        WebhookDeliverer(ChargebeeStore(), retry_delays=(1, -1))


# -- the store's endpoint rules -----------------------------------------------------------


def test_credentials_are_kept_for_delivery_but_never_answered():
    store = ChargebeeStore()
    created = store.create_webhook_endpoint(
        {
            "name": "ll",
            "url": "https://example.no",
            "basic_auth_username": "ll",
            "basic_auth_password": SECRET,
        }
    )
    assert SECRET not in str(created)
    assert SECRET not in str(store.retrieve_webhook_endpoint(created["id"]))
    delivery = store.webhook_target(created["id"])
    assert delivery is not None
    assert delivery.basic_auth == ("ll", SECRET)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"name": "a", "url": "ftp://example.no"}, "url"),
        ({"name": "a", "url": "example.no"}, "url"),
        ({"name": "a" * 51, "url": "https://example.no"}, "name"),
        ({"name": "a", "url": "https://example.no", "api_version": "v3"}, "api_version"),
        ({"name": "a", "url": "https://example.no", "disabled": "maybe"}, "disabled"),
        (
            {"name": "a", "url": "https://example.no", "enabled_events": ["Bad Type"]},
            "enabled_events",
        ),
        (
            {"name": "a", "url": "https://example.no", "chargebee_response_schema_type": "x"},
            "chargebee_response_schema_type",
        ),
    ],
)
def test_create_refuses_bad_parameters_naming_them(params, param):
    with pytest.raises(StoreError) as caught:
        ChargebeeStore().create_webhook_endpoint(params)
    assert (caught.value.status, caught.value.param) == (400, param)


def test_a_refused_update_changes_nothing():
    store = ChargebeeStore()
    created = store.create_webhook_endpoint({"name": "a", "url": "https://example.no"})
    with pytest.raises(StoreError):
        store.update_webhook_endpoint(created["id"], {"name": "b", "url": "nope"})
    assert store.retrieve_webhook_endpoint(created["id"]) == created


def test_events_say_scheduled_only_when_an_enabled_endpoint_wants_them():
    store = ChargebeeStore()
    store.create_customer({"id": "c0"})
    store.create_webhook_endpoint(
        {"name": "a", "url": "https://example.no", "enabled_events": ["customer_changed"]}
    )
    store.create_customer({"id": "c1"})
    store.update_customer("c1", {"first_name": "Kari"})
    assert [e["webhook_status"] for e in store.events()] == [
        "not_configured",
        "not_configured",
        "scheduled",
    ]


def test_listeners_hear_each_event_until_unsubscribed():
    store = ChargebeeStore()
    heard: list[str] = []

    def listen(event: dict[str, object]) -> None:
        heard.append(str(event["event_type"]))

    store.subscribe(listen)
    store.create_customer({"id": "c1"})
    store.unsubscribe(listen)
    store.update_customer("c1", {"first_name": "Kari"})
    assert heard == ["customer_created"]
