"""Which connections a worker polls, and its share of the PowerOffice Go budget."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from streams.ownership import (
    Ownership,
    budget_share,
    dealt_budget,
    member_partitions,
    owned_connections,
    partition_for,
)

CONNECTIONS = tuple(f"tenant-{n:02d}" for n in range(12))


class TP(NamedTuple):
    topic: str
    partition: int


def assignment(*partitions: int, topic: str = "p.changes") -> set[TP]:
    return {TP(topic, p) for p in partitions} | {TP("p.upserts.chargebee", p) for p in partitions}


def test_a_connection_is_owned_where_its_partition_is_assigned():
    by_partition = {c: partition_for(c, 12) for c in CONNECTIONS}
    some = {by_partition["tenant-03"], by_partition["tenant-07"]}
    owned = owned_connections(CONNECTIONS, some, 12)
    assert owned == {c for c, p in by_partition.items() if p in some}
    assert {"tenant-03", "tenant-07"} <= owned


def test_workers_splitting_the_partitions_own_every_connection_once():
    workers = [set(range(0, 12, 3)), set(range(1, 12, 3)), set(range(2, 12, 3))]
    owned = [owned_connections(CONNECTIONS, w, 12) for w in workers]
    assert sum(len(o) for o in owned) == len(CONNECTIONS)
    assert set().union(*owned) == set(CONNECTIONS)


@pytest.mark.parametrize(
    ("owned", "total", "share"),
    [(12, 12, 8.0), (4, 12, 8.0 / 3), (6, 12, 4.0), (1, 12, 8.0 / 12), (0, 12, 8.0 / 12)],
)
def test_the_budget_is_split_in_proportion_to_the_connections_owned(owned, total, share):
    assert budget_share(8.0, owned, total) == pytest.approx(share)


def test_the_shares_of_workers_splitting_the_connections_add_up_to_the_budget():
    splits = [(5, 4, 3), (12, 0, 0), (1, 1, 10)]
    for split in splits:
        working = [n for n in split if n]  # a worker with no connection makes no calls
        assert sum(budget_share(9.0, n, 12) for n in working) == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("budget", "owned", "dealt"),
    [
        (8.0, [4, 8, 8], [2, 3, 3]),  # 1.6, 3.2, 3.2: the largest remainder gets the spare one
        (9.0, [9, 6, 5], [4, 3, 2]),  # 4.05, 2.7, 2.25
        (8.0, [20], [8]),
        (8.0, [4, 4, 4], [3, 3, 2]),  # a tie goes to the earlier member
        (8.0, [0, 10, 10], [0, 4, 4]),
        (8.5, [1, 1], [4, 4]),  # whole requests only
        (2.0, [1, 1, 1], [1, 1, 0]),  # more workers than requests: one gets none
    ],
)
def test_the_budget_is_dealt_in_whole_requests(budget, owned, dealt):
    assert dealt_budget(budget, owned) == dealt


@pytest.mark.parametrize("owned", [[4, 8, 8], [9, 6, 5], [1, 2, 3, 4, 5, 5], [7, 13]])
def test_whole_requests_never_add_up_to_more_than_the_budget(owned):
    """Shares of 1.6/s each send two requests in some seconds: three workers' fractional
    shares can meet in one second above the budget; whole ones cannot."""
    dealt = dealt_budget(8.0, owned)
    assert sum(dealt) == 8
    floors = [int(8 * n / sum(owned)) for n in owned]
    assert all(d in (f, f + 1) for d, f in zip(dealt, floors, strict=True))


def test_members_are_listed_in_one_order_on_every_worker():
    distribution = {
        "http://b:6066": {"p.changes": [1, 4], "p.upserts.chargebee": [1, 4]},
        "http://a:6066": {"p.changes": [0, 2]},
        "http://c:6066": {},
    }
    found = member_partitions(distribution, "p.changes", "http://b:6066")
    assert found == ([frozenset({0, 2}), frozenset({1, 4}), frozenset()], 1)
    assert member_partitions(distribution, "p.changes", "http://d:6066") is None


def test_with_no_connections_the_whole_budget_stays():
    assert budget_share(8.0, 0, 0) == 8.0


def test_a_connection_is_polled_only_once_its_state_is_loaded():
    ownership = Ownership(CONNECTIONS, partitions=12, topic="p.changes")
    tenant = "tenant-05"
    mine = partition_for(tenant, 12)
    ownership.assign(assignment(mine))
    assert tenant in ownership.owned()
    assert not ownership.owns(tenant)
    ownership.mark_ready([mine])
    assert ownership.owns(tenant)


def test_only_partitions_of_the_changes_topic_count():
    ownership = Ownership(CONNECTIONS, partitions=12, topic="p.changes")
    ownership.assign({TP("p.upserts.chargebee", p) for p in range(12)})
    assert ownership.owned() == frozenset()


def test_a_revoked_partition_stops_polling_at_once():
    ownership = Ownership(CONNECTIONS, partitions=12, topic="p.changes")
    tenant = "tenant-01"
    mine = partition_for(tenant, 12)
    ownership.assign(assignment(*range(12)))
    ownership.mark_ready(range(12))
    ownership.changed.clear()
    ownership.revoke(assignment(mine))
    assert not ownership.owns(tenant)
    assert ownership.changed.is_set()


def test_a_partition_that_moved_away_during_loading_is_not_marked_ready():
    ownership = Ownership(CONNECTIONS, partitions=12, topic="p.changes")
    ownership.assign(assignment(0, 1))
    ownership.assign(assignment(1))  # rebalanced while partition 0 was being read
    ownership.mark_ready([0, 1])
    assert ownership.ready == {1}


def test_each_assignment_reports_the_connections_owned():
    reported: list[frozenset[str]] = []
    ownership = Ownership(
        CONNECTIONS, partitions=12, topic="p.changes", on_assigned=reported.append
    )
    ownership.assign(assignment(*range(12)))
    ownership.assign(assignment())
    assert reported == [frozenset(CONNECTIONS), frozenset()]


def test_revoking_nothing_is_no_change():
    ownership = Ownership(CONNECTIONS, partitions=12, topic="p.changes")
    ownership.revoke(set())  # Faust's first rebalance revokes the empty assignment
    assert not ownership.changed.is_set()
    assert not ownership.assigned_once
