"""The worker's API clients: its share of the PowerOffice Go budget follows what it owns."""

from __future__ import annotations

import dataclasses

import pytest

from connectors.poweroffice.client import subscription_budget
from connectors.secrets import Secret
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


def test_knowing_every_workers_connections_deals_whole_requests():
    key = "test-clients-subscription-c"
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
