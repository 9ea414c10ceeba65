"""Which connections this worker polls: those on the partitions of `changes` that Faust
assigned to it, and the share of the PowerOffice Go budget that goes with them.

Every worker of a consumer group reads the same connections file; Kafka spreads the
partitions of `changes` over the workers, and a connection belongs to the worker that
holds its partition (`partition_for`). `Ownership` follows Faust's rebalances
(`follow_rebalances`): on a revocation the worker stops polling at once; on an assignment
it owns the new set, but polls a connection only once its poll state (cursors, known ids)
was read back from Kafka (`mark_ready`, done by `streams.poll_state`).

The PowerOffice Go budget belongs to one subscription key, shared by every worker, so
each worker takes the part of it that its connections are of all connections,
recomputed on every assignment. Faust tells every member the whole group's assignment
(`member_partitions`), so the workers deal the budget out in whole requests per second
(`dealt_budget`): proportional shares are seldom whole, and a share of 1.6/s sends two
requests in some seconds, so fractional shares could together exceed the budget by up
to one request per worker in a second. `budget_share` is the proportional share, used
when the group's assignment is not known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

from connectors.polling.state_codec import partition_for

__all__ = [
    "Ownership",
    "budget_share",
    "dealt_budget",
    "follow_rebalances",
    "member_partitions",
    "owned_connections",
    "partition_for",
]

log = logging.getLogger(__name__)


class TopicPartitionLike(Protocol):
    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...


def owned_connections(
    connections: Iterable[str], assigned: Collection[int], partitions: int
) -> frozenset[str]:
    """The connections whose partition is one of ``assigned``."""
    return frozenset(c for c in connections if partition_for(c, partitions) in assigned)


def budget_share(total_rate: float, owned: int, total: int) -> float:
    """This worker's part of a budget of ``total_rate`` shared by ``total`` connections,
    ``owned`` of which it serves: ``total_rate * owned / total``, and never less than one
    connection's part (a worker between assignments, or owning none, still has a budget;
    it spends nothing without connections, so the workers together stay within the
    total)."""
    if total <= 0:
        return total_rate
    return total_rate * min(max(owned, 1), total) / total


def dealt_budget(total_rate: float, owned: Sequence[int]) -> list[int]:
    """Whole requests/s of a budget of ``total_rate`` for members that own ``owned[i]``
    connections each: in proportion, rounded down, and the requests left over dealt to the
    largest remainders (ties: the earlier member; every worker lists the members in the
    same order). They add up to the budget rounded down, so the members together never
    send more than it in any second. A member may get 0 when there are more members with
    connections than whole requests."""
    whole = int(total_rate)
    total = sum(owned)
    if total <= 0:
        return [0] * len(owned)
    exact = [whole * n / total for n in owned]
    dealt = [int(x) for x in exact]
    left = whole - sum(dealt)
    by_remainder = sorted(range(len(owned)), key=lambda i: (dealt[i] - exact[i], i))
    for i in by_remainder[:left]:
        dealt[i] += 1
    return dealt


def member_partitions(
    distribution: Mapping[str, Mapping[str, Iterable[int]]], topic: str, me: str
) -> tuple[list[frozenset[int]], int] | None:
    """Every group member's partitions of ``topic``, by member URL in sorted order, and the
    index of ``me`` among them, from Faust's view of the whole group's assignment (its
    assignor's ``external_topics_metadata()``). None when ``me`` is not in it."""
    urls = sorted(distribution)
    if me not in urls:
        return None
    parts = [frozenset(distribution[url].get(topic, ())) for url in urls]
    return parts, urls.index(me)


class Ownership:
    """The partitions of ``topic`` this worker holds, and the connections on them."""

    def __init__(
        self,
        connections: Collection[str],
        *,
        partitions: int,
        topic: str,
        on_assigned: Callable[[frozenset[str]], None] | None = None,
    ) -> None:
        self.connections = tuple(connections)
        self.partitions = partitions
        self.topic = topic
        self.assigned: frozenset[int] = frozenset()
        self.ready: frozenset[int] = frozenset()
        self.assigned_once = False
        #: Set whenever the assignment changed; `streams.poll_state` waits on it.
        self.changed = asyncio.Event()
        #: Set once the first assignment's poll state is loaded (even an empty one): the
        #: poll loop waits for it, so that its first cycle (with the deletion watch's
        #: listing) covers the connections this worker owns.
        self.started = asyncio.Event()
        self._on_assigned = on_assigned
        self._partition = {c: partition_for(c, partitions) for c in self.connections}

    def partition_of(self, connection: str) -> int:
        return self._partition.get(connection, partition_for(connection, self.partitions))

    def owned(self) -> frozenset[str]:
        """Connections on the assigned partitions (their state may still be loading)."""
        return frozenset(c for c in self.connections if self._partition[c] in self.assigned)

    def owns(self, connection: str) -> bool:
        """Whether this worker polls ``connection`` now: its partition is assigned here and
        its poll state was read back."""
        return self.partition_of(connection) in self.ready

    def assign(self, assignment: Iterable[TopicPartitionLike]) -> None:
        """The whole new assignment (Faust's `on_partitions_assigned`)."""
        self.assigned = frozenset(tp.partition for tp in assignment if tp.topic == self.topic)
        self.assigned_once = True
        self.ready &= self.assigned
        owned = self.owned()
        log.info(
            "polling %d of %d connection(s): partitions %s of %s",
            len(owned),
            len(self.connections),
            sorted(self.assigned),
            self.topic,
        )
        if self._on_assigned is not None:
            self._on_assigned(owned)
        self.changed.set()

    def revoke(self, revoked: Iterable[TopicPartitionLike]) -> None:
        """Partitions taken away (Faust's `on_partitions_revoked`): stop polling them now."""
        gone = {tp.partition for tp in revoked if tp.topic == self.topic}
        if gone:
            self.assigned -= gone
            self.ready -= gone
            self.changed.set()

    def mark_ready(self, partitions: Iterable[int]) -> None:
        """The poll state of ``partitions`` is loaded; those still assigned are polled."""
        self.ready |= frozenset(partitions) & self.assigned


def follow_rebalances(app: Any, ownership: Ownership) -> None:
    """Keep ``ownership`` up to date with the Faust ``app``'s assignment."""

    async def on_assigned(sender: Any, assigned: Any, **_: Any) -> None:
        ownership.assign(assigned)

    async def on_revoked(sender: Any, revoked: Any, **_: Any) -> None:
        ownership.revoke(revoked)

    app.on_partitions_assigned.connect(on_assigned)
    app.on_partitions_revoked.connect(on_revoked)
