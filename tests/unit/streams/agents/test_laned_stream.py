"""A stream carried out in lanes, driven by a stand-in for a Faust stream (no broker):
messages are acknowledged in offset order once done, failures are tried again, revoked
partitions' messages are never acknowledged, and each job sees its own event as Faust's
current event (which picks the changelog partition of its table writes)."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import faust

from streams.agents.laned_stream import LanedStream
from streams.agents.plumbing import Received
from tests.unit.streams.agents.fakes import Event, FakeStream, Message

TOPIC = "upserts.chargebee"


def event(record: str, offset: int, partition: int = 0) -> Event:
    return Event(Message(TOPIC, partition, offset, b"acme", record.encode()))


class Work:
    """Carries out a message when its gate (by offset) opens; records the order."""

    def __init__(self) -> None:
        self.gates: dict[int, asyncio.Event] = {}
        self.started: list[int] = []
        self.finished: list[int] = []
        self.failures: dict[int, int] = {}
        self.seen_events: dict[int, object] = {}

    def gate(self, offset: int) -> asyncio.Event:
        return self.gates.setdefault(offset, asyncio.Event())

    async def __call__(self, received: Received) -> None:
        self.started.append(received.offset)
        self.seen_events[received.offset] = faust.current_event()
        await self.gate(received.offset).wait()
        if self.failures.get(received.offset, 0) > 0:
            self.failures[received.offset] -= 1
            raise RuntimeError("Kafka is away")
        self.finished.append(received.offset)


def by_record(received: Received) -> Hashable:
    return received.value


def laned(work: Work, done: list[int], *, limit: int = 8) -> LanedStream:
    return LanedStream(
        name="test",
        limit=limit,
        key_of=by_record,
        work=work,
        done=lambda received: done.append(received.offset),
        drain_timeout=0.05,
        pauses=(0.0,),
    )


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_messages_are_acknowledged_in_offset_order_once_done() -> None:
    stream = FakeStream([event("a", 0), event("b", 1), event("c", 2)])
    stream.finish.clear()
    work, done = Work(), list[int]()
    agent = asyncio.create_task(laned(work, done).run(stream))
    await settle()
    assert sorted(work.started) == [0, 1, 2]  # all three at once: different records
    work.gate(2).set()
    work.gate(1).set()
    await settle()
    assert work.finished == [2, 1]
    assert stream.acked == []
    assert done == []
    work.gate(0).set()
    await settle()
    assert stream.acked == [(0, 0), (0, 1), (0, 2)]
    assert done == [0, 1, 2]
    stream.finish.set()
    await agent


async def test_commands_of_one_record_are_carried_out_in_order() -> None:
    stream = FakeStream([event("a", 0), event("a", 1), event("b", 2)])
    stream.finish.clear()
    work, done = Work(), list[int]()
    agent = asyncio.create_task(laned(work, done).run(stream))
    await settle()
    assert sorted(work.started) == [0, 2]
    work.gate(1).set()
    await settle()
    assert 1 not in work.started
    work.gate(0).set()
    work.gate(2).set()
    await settle()
    assert work.finished == [0, 2, 1] or work.finished == [2, 0, 1]
    assert work.started.index(1) > work.finished.index(0)
    stream.finish.set()
    await agent


async def test_a_failed_message_is_tried_again_and_holds_back_later_acks() -> None:
    stream = FakeStream([event("a", 0), event("b", 1)])
    stream.finish.clear()
    work, done = Work(), list[int]()
    work.failures[0] = 2
    work.gate(0).set()
    work.gate(1).set()
    agent = asyncio.create_task(laned(work, done).run(stream))
    for _ in range(20):
        await settle()
    assert work.started.count(0) == 3
    assert stream.acked == [(0, 0), (0, 1)]
    stream.finish.set()
    await agent


async def test_no_more_than_the_limit_is_in_flight() -> None:
    stream = FakeStream([event(f"r{n}", n) for n in range(6)])
    work, done = Work(), list[int]()
    agent_stream = laned(work, done, limit=2)
    agent = asyncio.create_task(agent_stream.run(stream))
    await settle()
    assert sorted(work.started) == [0, 1]
    for n in range(6):
        work.gate(n).set()
    await agent
    assert agent_stream.lanes.most_in_flight == 2
    assert [offset for _, offset in stream.acked] == list(range(6))


async def test_messages_of_a_revoked_partition_are_never_acknowledged() -> None:
    stream = FakeStream([event("a", 0, partition=0), event("b", 5, partition=1)])
    stream.finish.clear()
    work, done = Work(), list[int]()
    agent_stream = laned(work, done)
    agent = asyncio.create_task(agent_stream.run(stream))
    await settle()
    await agent_stream.revoke([(TOPIC, 0)])
    work.gate(0).set()
    work.gate(5).set()
    await settle()
    stream.finish.set()
    await agent
    assert stream.acked == [(1, 5)]
    assert done == [5]


async def test_stopping_the_agent_acknowledges_no_unfinished_message() -> None:
    stream = FakeStream([event("a", 0), event("b", 1)])
    work, done = Work(), list[int]()
    work.gate(1).set()
    await laned(work, done).run(stream)  # the stream ends while offset 0 hangs
    assert work.finished == [1]
    assert stream.acked == []
    assert done == []


async def test_each_job_sees_its_own_event_as_faust_s_current_event() -> None:
    events = [event("a", 0), event("a", 1), event("b", 2)]
    stream = FakeStream(events)
    work, done = Work(), list[int]()
    for n in range(3):
        work.gate(n).set()
    await laned(work, done).run(stream)
    assert work.seen_events == {0: events[0], 1: events[1], 2: events[2]}


async def test_a_message_that_keeps_failing_is_given_up_and_then_acknowledged() -> None:
    stream = FakeStream([event("a", 0), event("b", 1)])
    work, done, given_up = Work(), list[int](), list[tuple[int, str]]()
    work.failures[0] = 99
    work.gate(0).set()
    work.gate(1).set()

    async def give_up(received: Received, reason: str) -> None:
        given_up.append((received.offset, reason))

    laned_stream = LanedStream(
        name="test",
        limit=8,
        key_of=by_record,
        work=work,
        done=lambda received: done.append(received.offset),
        give_up=give_up,
        attempts=3,
        pauses=(0.0,),
    )
    await laned_stream.run(stream)
    assert work.started.count(0) == 3
    assert [offset for offset, _ in given_up] == [0]
    assert "failed 3 times" in given_up[0][1]
    assert stream.acked == [(0, 0), (0, 1)]
