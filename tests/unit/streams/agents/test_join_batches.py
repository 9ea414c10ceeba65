"""The join agent's batches: a batch decides what the same messages one at a time would,
and writes nothing to the tables before everything it sent is acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import faust

from streams.agents.event_scope import as_current
from streams.sync.links import LinkTable
from tests.unit.streams.agents.fakes import Delivered, FakeOutbox
from tests.unit.streams.agents.test_join_agent import (
    CONN,
    World,
    employee_event,
    received,
)


def three_edits_and_a_bad_message() -> list[bytes]:
    return [
        employee_event().to_bytes(),
        employee_event(FirstName="Åsa").to_bytes(),
        b"not json",
        employee_event(rid="8", FirstName="Per").to_bytes(),
        employee_event(FirstName="Åshild").to_bytes(),
    ]


async def test_a_batch_sends_and_writes_what_the_messages_one_at_a_time_would():
    values = three_edits_and_a_bad_message()
    single, batched = World(), World()
    for offset, value in enumerate(values):
        await single.handle(value, offset=offset)
    await batched.agent.handle_batch(
        [(received(value, offset=offset), None) for offset, value in enumerate(values)],
        replay=False,
    )
    assert len(single.upserts()) >= 3  # the comparison below is not of two empty lists
    assert batched.outbox.sent == single.outbox.sent
    assert batched.links == single.links
    assert batched.reports == single.reports
    assert batched.runtime.done == single.runtime.done == {("changes", 0): 4}


class HeldOutbox(FakeOutbox):
    """Deliveries resolve only when `release` is called."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[asyncio.Future[Delivered], Delivered]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Delivered]:
        done = await super().send(topic, key, value)
        held: asyncio.Future[Delivered] = asyncio.get_running_loop().create_future()
        self.held.append((held, await done))
        return held

    def release(self) -> None:
        for future, delivery in self.held:
            future.set_result(delivery)


async def test_no_table_write_before_every_message_of_the_batch_is_acknowledged():
    world = World()
    world.outbox = world.agent.outbox = HeldOutbox()
    batch = [(received(employee_event(rid=str(n)).to_bytes(), offset=n), None) for n in range(3)]
    handling = asyncio.create_task(world.agent.handle_batch(batch, replay=False))
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(world.outbox.held) == 3
    assert world.links == {}
    assert world.runtime.done == {}
    world.outbox.release()
    await asyncio.wait_for(handling, timeout=1)
    assert LinkTable(world.links).get(CONN, "poweroffice:Employee:2") is not None
    assert world.runtime.done == {("changes", 0): 2}


def test_as_current_makes_the_event_current_only_inside_the_block():
    class Event:  # stands for a Faust event: anything that can be weakly referenced
        pass

    first: Any = Event()
    second: Any = Event()
    with as_current(first):
        assert faust.current_event() is first
        with as_current(second):
            assert faust.current_event() is second
        assert faust.current_event() is first
    assert faust.current_event() is None
    with as_current(None):
        assert faust.current_event() is None
