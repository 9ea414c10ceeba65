"""The worker's API clients: its share of the PowerOffice Go budget follows what it owns."""

from __future__ import annotations

import dataclasses

import pytest

from connectors.poweroffice.client import subscription_budget
from connectors.secrets import Secret
from connectors.transport import Priority
from streams.clients import ServedClients
from streams.config import ConnectionSettings, load_settings


def connections(count: int, subscription_key: str) -> list[ConnectionSettings]:
    one = load_settings({"POWEROFFICE_REQUESTS_PER_SECOND": "9"}).connections[0]
    poweroffice = dataclasses.replace(one.poweroffice, subscription_key=Secret(subscription_key))
    return [dataclasses.replace(one, id=f"c{n}", poweroffice=poweroffice) for n in range(count)]


def test_the_subscription_budget_follows_the_connections_owned():
    key = "test-clients-subscription-a"
    served = ServedClients(connections(12, key))
    bucket = subscription_budget(Secret(key), 9.0)

    served.share_poweroffice_budget({"c0", "c1", "c2", "c3"})
    assert bucket.rate == pytest.approx(3.0)

    served.share_poweroffice_budget({f"c{n}" for n in range(12)})
    assert bucket.rate == pytest.approx(9.0)


def test_owning_nothing_leaves_one_connections_part():
    key = "test-clients-subscription-b"
    served = ServedClients(connections(3, key))
    served.share_poweroffice_budget(set())
    assert subscription_budget(Secret(key), 9.0).rate == pytest.approx(3.0)


async def test_the_pollers_clients_give_way_to_writes_on_the_same_budget():
    key = "test-clients-subscription-c"
    served = ServedClients(connections(1, key))
    clients = served.by_id["c0"]
    try:
        assert clients.poweroffice.priority is Priority.WRITE
        assert clients.poweroffice_polls.priority is Priority.POLL
        assert clients.poweroffice_polls.bucket is clients.poweroffice.bucket
        assert clients.chargebee.priority is Priority.WRITE
        assert clients.chargebee_polls.priority is Priority.POLL
        assert clients.chargebee_polls.bucket is clients.chargebee.bucket
        assert clients.poweroffice_polls is clients.poweroffice_polls  # made once
    finally:
        await served.aclose()


async def test_the_polls_guaranteed_share_is_set_on_the_budgets_the_clients_spend():
    served = ServedClients(connections(1, "test-clients-subscription-e"), poll_share=0.3)
    clients = served.by_id["c0"]
    try:
        assert clients.poweroffice_polls.bucket.poll_share == pytest.approx(0.3)
        assert clients.chargebee_polls.bucket.poll_share == pytest.approx(0.3)
    finally:
        await served.aclose()


async def test_closing_a_polling_twin_leaves_the_clients_session_open():
    served = ServedClients(connections(1, "test-clients-subscription-d"))
    clients = served.by_id["c0"]
    try:
        await clients.poweroffice_polls.aclose()
        assert not clients.poweroffice._http.is_closed
    finally:
        await served.aclose()
    assert clients.poweroffice._http.is_closed


def test_knowing_every_workers_connections_deals_whole_requests():
    key = "test-clients-subscription-f"
    served = ServedClients(connections(20, key))
    bucket = subscription_budget(Secret(key), 9.0)
    members = [{f"c{n}" for n in range(0, 9)}, {f"c{n}" for n in range(9, 15)}]
    members.append({f"c{n}" for n in range(15, 20)})
    # In proportion 4.05, 2.7 and 2.25 requests/s: whole, 4, 3 and 2.
    dealt = []
    for me, owned in enumerate(members):
        served.share_poweroffice_budget(owned, members=members, me=me)
        dealt.append(bucket.rate)
    assert dealt == [4.0, 3.0, 2.0]
