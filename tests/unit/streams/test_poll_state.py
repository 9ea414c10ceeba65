"""Following rebalances: poll state is read back before a gained connection is polled."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from typing import NamedTuple

from streams.ownership import Ownership, partition_for
from streams.poll_state import follow_ownership

CONNECTIONS = ("acme", "fjord", "nord")


class TP(NamedTuple):
    topic: str
    partition: int


class FakeState:
    """Records the partitions read back and forgotten (stands in for the state topic)."""

    def __init__(self) -> None:
        self.read: list[list[int]] = []
        self.held: set[int] = set()
        self.owns_while_reading: list[bool] = []
        self.ownership: Ownership | None = None

    def loaded(self) -> frozenset[int]:
        return frozenset(self.held)

    async def load(self, partitions: Collection[int]) -> None:
        assert self.ownership is not None
        self.owns_while_reading.append(any(self.ownership.owns(c) for c in CONNECTIONS))
        self.read.append(sorted(partitions))
        self.held |= set(partitions)

    def forget(self, partitions: Iterable[int]) -> None:
        self.held -= set(partitions)


class FakeWatch:
    def __init__(self) -> None:
        self.forgotten = 0

    def forget(self) -> None:
        self.forgotten += 1


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_gained_partition_is_read_back_before_its_connection_is_polled():
    ownership = Ownership(CONNECTIONS, partitions=4, topic="changes")
    state = FakeState()
    state.ownership = ownership
    watches = {c: FakeWatch() for c in CONNECTIONS}
    follower = asyncio.ensure_future(follow_ownership(ownership, state, watches))
    try:
        acme = partition_for("acme", 4)
        ownership.assign({TP("changes", acme)})
        assert not ownership.owns("acme")
        await settle()
        assert state.read == [[acme]]
        assert state.owns_while_reading == [False]
        assert ownership.owns("acme")
        assert ownership.started.is_set()
        assert watches["acme"].forgotten == 1

        ownership.revoke({TP("changes", acme)})
        ownership.assign(set())
        await settle()
        assert not ownership.owns("acme")
        assert acme not in state.held
    finally:
        follower.cancel()


async def test_the_poll_loop_does_not_start_before_the_first_assignment():
    ownership = Ownership(CONNECTIONS, partitions=4, topic="changes")
    state = FakeState()
    state.ownership = ownership
    follower = asyncio.ensure_future(follow_ownership(ownership, state, {}))
    try:
        ownership.revoke(set())
        await settle()
        assert not ownership.started.is_set()
        ownership.assign(set())  # a worker with no partition at all still starts
        await settle()
        assert ownership.started.is_set()
    finally:
        follower.cancel()
