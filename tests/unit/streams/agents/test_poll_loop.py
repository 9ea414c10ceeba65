"""The poll loop around the schedule, with fake sources and a recording sink (no broker,
no HTTP): every lane polled, ownership asked, a webhook's safety net, rounds counted, and a
permanent error stops the loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from connectors.exceptions import AuthenticationError, PermanentApiError, TransientApiError
from connectors.polling.cursor import RecordMark
from connectors.polling.cursor_store import FileCursorStore
from connectors.polling.schedule import ScheduleSettings
from streams.agents.poll_loop import ConnectionPoll, PollLoop
from streams.runtime import Runtime
from streams.webhooks import WebhookHealth


class FakeSource:
    """One entity of one system; ``records`` are served once each (position = id)."""

    def __init__(self, system: str, entity: str, records: int = 0, error: Exception | None = None):
        self.system = system
        self.entity = entity
        self.overlap = 0
        self.records = [{"id": i} for i in range(1, records + 1)]
        self.error = error
        self.reads = 0

    async def read_pages(self, since: int | None) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        self.reads += 1
        if self.error is not None:
            raise self.error
        yield [r for r in self.records if since is None or r["id"] > since]

    def mark(self, record: Mapping[str, Any]) -> RecordMark:
        return RecordMark(id=str(record["id"]), version=record["id"], position=record["id"])

    def to_event(self, record: Mapping[str, Any], *, connection: str, observed_ms: int):
        return ChangeEvent(
            connection=connection,
            op=Op.READ,
            source=Source(self.system, self.entity, str(record["id"]), record["id"], 0),
            after=dict(record),
            origin=Origin(self.system),
            observed_ms=observed_ms,
        )


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.events.extend(events)


def connection(name: str, records: int = 0) -> tuple[ConnectionPoll, dict[str, FakeSource]]:
    sources = {
        "business_entity": FakeSource("chargebee", "business_entity"),
        "Employee": FakeSource("poweroffice", "Employee", records),
        "Customer": FakeSource("poweroffice", "Customer"),
        "customer": FakeSource("chargebee", "customer"),
    }
    return ConnectionPoll(name, list(sources.values())), sources


def loop_of(polls: list[ConnectionPoll], tmp_path, **kwargs: Any) -> PollLoop:
    kwargs.setdefault("sink", RecordingSink())
    return PollLoop(polls, store=FileCursorStore(tmp_path), interval=0.01, **kwargs)


@contextlib.asynccontextmanager
async def running(loop: PollLoop) -> AsyncIterator[None]:
    task = asyncio.create_task(loop.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def wait_until(check, what: str, within: float = 20.0) -> None:
    for _ in range(int(within / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(what)


async def test_once_polls_every_source_of_every_connection_and_returns_them_in_order(tmp_path):
    (a, a_sources), (b, b_sources) = connection("a", records=3), connection("b", records=2)
    sink = RecordingSink()
    loop = loop_of([a, b], tmp_path, sink=sink)
    results = await loop.run(once=True)
    assert all(s.reads == 1 for s in [*a_sources.values(), *b_sources.values()])
    assert [(r.system, r.entity) for r in results] == [
        ("chargebee", "business_entity"),
        ("chargebee", "customer"),
        ("poweroffice", "Employee"),
        ("poweroffice", "Customer"),
    ] * 2
    assert sorted(e.source.id for e in sink.events if e.connection == "a") == ["1", "2", "3"]


async def test_a_connection_this_process_does_not_own_is_never_polled(tmp_path):
    (a, a_sources), (b, b_sources) = connection("a"), connection("b")
    asked: list[str] = []

    def owns(name: str) -> bool:
        asked.append(name)
        return name == "a"

    loop = loop_of([a, b], tmp_path, owns=owns)
    await loop.run(once=True)
    assert a_sources["Employee"].reads == 1
    assert all(s.reads == 0 for s in b_sources.values())
    assert "b" in asked


async def test_healthy_webhooks_leave_chargebee_to_a_slow_safety_net(tmp_path):
    conn, sources = connection("a")
    health = WebhookHealth(clock_ms=lambda: 0)
    health.record_registered("a")
    runtime = Runtime()
    loop = loop_of(
        [conn],
        tmp_path,
        runtime=runtime,
        schedule=ScheduleSettings(interval=0.01, idle_backoff=1.0, safety_interval=3600.0),
        webhooks=health,
    )
    async with running(loop):
        await wait_until(lambda: sources["Employee"].reads >= 5, "PowerOffice Go kept its cadence")
        assert sources["customer"].reads == 1  # polled once, then only every hour
        assert runtime.schedule["a"]["chargebee"].mode == "safety-net"
        assert runtime.schedule["a"]["chargebee"].target_seconds == 3600.0


async def test_a_webhook_wakes_an_idle_connection(tmp_path):
    conn, _ = connection("a")
    health = WebhookHealth(clock_ms=lambda: 0)
    loop = loop_of(
        [conn],
        tmp_path,
        schedule=ScheduleSettings(interval=0.01, idle_backoff=8.0),
        webhooks=health,
    )
    async with running(loop):
        lane = next(lane for lane in loop.schedule.lanes if lane.system == "poweroffice")
        await wait_until(lambda: lane.idle_factor == 8.0, "an idle lane backs off")
        health.record_event("a")
        assert lane.idle_factor == 1.0
        assert loop.schedule.mode(lane) == "active"


async def test_rounds_are_quiet_only_when_every_lane_answered_with_nothing_new(tmp_path):
    conn, sources = connection("a", records=2)
    sources["customer"].error = TransientApiError("unavailable", system="chargebee", status=503)
    runtime = Runtime()
    loop = loop_of(
        [conn],
        tmp_path,
        runtime=runtime,
    )
    async with running(loop):
        await wait_until(lambda: runtime.cycles >= 3, "rounds end")
        assert runtime.idle_cycles == 0  # one source keeps failing
        sources["customer"].error = None
        await wait_until(lambda: runtime.idle_cycles >= 2, "quiet rounds once it answers")
        schedule = runtime.schedule["a"]
        assert set(schedule) == {"poweroffice", "chargebee"}
        assert schedule["poweroffice"].cycle_seconds is not None


async def test_a_permanent_error_stops_the_loop(tmp_path):
    conn, sources = connection("a")
    sources["Customer"].error = PermanentApiError(
        "check the keys", system="poweroffice", status=401
    )
    loop = loop_of([conn], tmp_path)
    with pytest.raises(PermanentApiError):
        await asyncio.wait_for(loop.run(), 20)


async def test_a_round_does_not_wait_for_a_connection_that_moved_away(tmp_path):
    (a, _), (b, b_sources) = connection("a"), connection("b")
    owned = {"a", "b"}
    b_sources["Employee"].error = TransientApiError("unavailable", system="poweroffice")
    runtime = Runtime()
    loop = loop_of(
        [a, b],
        tmp_path,
        runtime=runtime,
        owns=lambda name: name in owned,
    )
    async with running(loop):
        await wait_until(lambda: runtime.cycles >= 2, "rounds end")
        assert runtime.idle_cycles == 0  # b keeps failing
        owned.discard("b")  # b's partition went to another worker
        await wait_until(lambda: runtime.idle_cycles >= 2, "quiet rounds of a alone")


def a_refused_among_two(
    tmp_path, *, refused_retry: float
) -> tuple[PollLoop, Runtime, dict[str, FakeSource], dict[str, FakeSource]]:
    """Connections "a", whose PowerOffice Go client key is refused, and "b"."""
    (a, a_sources), (b, b_sources) = connection("a"), connection("b")
    a_sources["Employee"].error = AuthenticationError(
        "invalid_client", system="poweroffice", status=401
    )
    runtime = Runtime()
    loop = loop_of(
        [a, b],
        tmp_path,
        runtime=runtime,
        describe_refusal=lambda conn, exc: f"{conn} refused: check {conn.upper()}_PO",
        refused_retry=refused_retry,
    )
    return loop, runtime, a_sources, b_sources


async def test_one_connections_refused_keys_pause_its_lane_and_the_others_go_on(tmp_path, caplog):
    loop, _, a_sources, b_sources = a_refused_among_two(tmp_path, refused_retry=3600.0)
    async with running(loop):
        await wait_until(lambda: b_sources["Employee"].reads >= 5, "b polled again and again")
        assert a_sources["Employee"].reads == 1  # paused, not retried at once
        assert a_sources["Customer"].reads == 0  # the lane stopped at the refusal
        assert a_sources["customer"].reads >= 2  # its Chargebee lane is not a's keys' problem
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("a refused: check A_PO" in message for message in errors), errors


async def test_refused_keys_of_the_only_connection_stop_the_loop(tmp_path):
    conn, sources = connection("a")
    sources["Employee"].error = AuthenticationError("invalid_client", system="poweroffice")
    with pytest.raises(AuthenticationError):
        await asyncio.wait_for(loop_of([conn], tmp_path).run(), 20)


async def test_a_refused_lane_shows_in_the_runtime_until_a_poll_is_answered_again(tmp_path):
    loop, runtime, a_sources, _ = a_refused_among_two(tmp_path, refused_retry=0.5)
    async with running(loop):
        await wait_until(lambda: "a" in runtime.refused, "a's refusal recorded")
        keys = runtime.refused["a"]["poweroffice"]
        assert set(runtime.refused["a"]) == {"poweroffice"}  # its Chargebee keys work
        assert keys.message == "a refused: check A_PO"
        assert keys.retry_at_ms > keys.since_ms
        assert "b" not in runtime.refused
        a_sources["Employee"].error = None  # the keys were put right
        await wait_until(lambda: "a" not in runtime.refused, "a's refusal cleared")
