"""The simulator's store: versions, deletes, events and the idempotency window."""

from __future__ import annotations

import pytest

from connectors.chargebee.sim.store import IDEMPOTENCY_WINDOW_SECONDS, ChargebeeStore, StoreError


class FrozenClock:
    def __init__(self, now: float = 1717500000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FrozenClock()


@pytest.fixture
def store(clock):
    return ChargebeeStore(clock=clock)


def test_resource_version_changes_on_every_update_even_within_one_millisecond(store):
    first = store.create_customer({"id": "c1"})
    second = store.update_customer("c1", {"first_name": "Kari"})
    third = store.update_customer("c1", {"first_name": "Kari"})
    assert first["resource_version"] < second["resource_version"] < third["resource_version"]


def test_timestamps_are_unix_seconds_and_version_milliseconds(store, clock):
    clock.now = 1717503600.123
    customer = store.create_customer({"id": "c1"})
    assert customer["created_at"] == customer["updated_at"] == 1717503600
    assert customer["resource_version"] == 1717503600123


def test_a_duplicate_id_is_refused_with_param_id(store):
    store.create_customer({"id": "c1"})
    with pytest.raises(StoreError) as caught:
        store.create_customer({"id": "c1"})
    assert (caught.value.status, caught.value.param) == (400, "id")


@pytest.mark.parametrize(
    ("param", "limit"),
    [("id", 50), ("email", 70), ("first_name", 150), ("last_name", 150), ("company", 250)],
)
def test_field_limits_are_enforced_with_param(store, param, limit):
    value = "x" * (limit - 5) + "@ex.no" if param == "email" else "x" * (limit + 1)
    with pytest.raises(StoreError) as caught:
        store.create_customer({"id": "c1", param: value} if param != "id" else {"id": value})
    assert caught.value.param == param


def test_a_deleted_customer_is_gone_for_retrieve_but_keeps_its_id(store):
    store.create_customer({"id": "c1"})
    store.delete_customer("c1")
    with pytest.raises(StoreError) as caught:
        store.retrieve_customer("c1")
    assert caught.value.status == 404
    assert store.get_customer("c1")["deleted"] is True


def test_each_change_emits_one_event_with_its_source(store):
    store.add_business_entity("be_oslo", "Oslo AS")
    store.create_customer({"id": "c1"})
    store.update_customer("c1", {"last_name": "N"})
    store.delete_customer("c1")
    store.rename_business_entity("be_oslo", "Oslo ASA")
    store.delete_business_entity("be_oslo")
    assert [(e["event_type"], e["source"]) for e in store.events()] == [
        ("business_entity_created", "admin_console"),
        ("customer_created", "api"),
        ("customer_changed", "api"),
        ("customer_deleted", "api"),
        ("business_entity_updated", "admin_console"),
        ("business_entity_deleted", "admin_console"),
    ]


def test_an_unknown_business_entity_is_refused_on_create(store):
    with pytest.raises(StoreError) as caught:
        store.create_customer({"id": "c1", "business_entity_id": "be_none"})
    assert caught.value.param == "business_entity_id"


def test_an_idempotency_key_is_forgotten_after_the_window(store, clock):
    store.remember("k1", 200, b"{}")
    clock.now += IDEMPOTENCY_WINDOW_SECONDS - 1
    assert store.recall("k1") is not None
    clock.now += 2
    assert store.recall("k1") is None


def test_seeded_customers_can_lack_updated_at(store):
    [customer] = store.seed_customers(1, missing_updated_at=True)
    assert "updated_at" not in customer


def test_reset_empties_everything(store):
    store.seed_customers(3)
    store.reset()
    assert store.customer_count(include_deleted=True) == 0
    assert store.events() == []
