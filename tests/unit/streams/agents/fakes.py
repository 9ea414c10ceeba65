"""Fakes the agent and sink tests share: API clients, an outbox, the writers, and a
stand-in for a Faust stream (also used by benchmarks/sinks.py)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

from faust.streams import _current_event

from connectors.exceptions import DuplicateIdError, InvalidRequestError, NotFoundError
from connectors.poweroffice.timestamps import format_timestamp


class FakeChargebee:
    """Customers in a dict. ``failures`` are raised, in order, by the next calls."""

    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[str] = []
        self.failures: list[Exception] = []
        self.version = 1_000
        self.reject: str | None = None

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.failures:
            raise self.failures.pop(0)

    def _stamp(self, record: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        record["resource_version"] = self.version
        record["updated_at"] = self.version // 1000
        return dict(record)

    async def create_customer(
        self, fields, *, customer_id=None, idempotency_key=None, business_entity_id=None
    ):
        self._call("create_customer")
        if self.reject:
            raise InvalidRequestError(self.reject, system="chargebee", status=400)
        if customer_id in self.customers:
            raise DuplicateIdError("exists", system="chargebee", status=400, param="id")
        self.writes.append(("create", dict(fields)))
        self.customers[customer_id] = {"id": customer_id, **fields}
        return self._stamp(self.customers[customer_id])

    async def update_customer(self, customer_id, fields, *, idempotency_key=None):
        self._call("update_customer")
        self.writes.append(("update", dict(fields)))
        self.customers[customer_id].update(fields)
        return self._stamp(self.customers[customer_id])

    async def retrieve_customer(self, customer_id):
        self._call("retrieve_customer")
        if customer_id not in self.customers:
            raise NotFoundError("gone", system="chargebee", status=404)
        return dict(self.customers[customer_id])


class FakePowerOffice:
    """Records by id. ``failures`` are raised, in order, by the next calls."""

    def __init__(self, records: dict[int, dict[str, Any]]) -> None:
        self.records = records
        self.patches: list[list[dict[str, Any]]] = []
        self.calls: list[str] = []
        self.failures: list[Exception] = []
        self.ticks = 20_000_000_000

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.failures:
            raise self.failures.pop(0)

    async def get(self, resource, record_id, *, contact_id=None):
        self._call("get")
        if record_id not in self.records:
            raise NotFoundError("gone", system="poweroffice", status=404)
        return dict(self.records[record_id])

    async def patch(self, resource, record_id, operations, *, contact_id=None):
        self._call("patch")
        self.patches.append(list(operations))
        for op in operations:
            self.records[record_id][op["path"].strip("/")] = op["value"]
        self.ticks += 10_000_000
        self.records[record_id]["LastChangedDateTimeOffset"] = format_timestamp(self.ticks)
        return dict(self.records[record_id])


def employee_record(ticks: int = 10_000_000_000, **changes: Any) -> dict[str, Any]:
    record = {
        "Id": 7,
        "FirstName": "Åse",
        "LastName": "Bjørnstad",
        "EmailAddress": "ase@fjord.no",
        "LastChangedDateTimeOffset": format_timestamp(ticks),
    }
    record.update(changes)
    return record


@dataclass
class FakeWriters:
    """The `WriterSource` of a sink agent: the same fake clients for every connection."""

    chargebee_client: FakeChargebee
    poweroffice_client: FakePowerOffice
    asked: list[tuple[str, str]] = field(default_factory=list)

    def chargebee(self, connection: str) -> FakeChargebee:
        self.asked.append(("chargebee", connection))
        return self.chargebee_client

    def poweroffice(self, connection: str) -> FakePowerOffice:
        self.asked.append(("poweroffice", connection))
        return self.poweroffice_client


@dataclass(slots=True)
class Delivered:
    topic: str
    partition: int
    offset: int


class FakeOutbox:
    """Records every (topic, key, value); each delivery resolves at once with the next
    offset of its topic (partition 0)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self._next: dict[str, int] = {}

    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Delivered]:
        self.sent.append((topic, key, value))
        offset = self._next.get(topic, 0)
        self._next[topic] = offset + 1
        delivery: asyncio.Future[Delivered] = asyncio.get_running_loop().create_future()
        delivery.set_result(Delivered(topic, 0, offset))
        return delivery

    def topics(self) -> list[str]:
        return [topic for topic, _, _ in self.sent]

    def values(self, topic: str) -> list[bytes]:
        return [value for sent_to, _, value in self.sent if sent_to == topic]


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


@dataclass(eq=False)
class Event:
    message: Message


class FakeStream:
    """What the agent uses of a Faust stream; sets the current event as Faust does."""

    def __init__(self, events: list[Event]) -> None:
        self._events = events
        self.acked: list[tuple[int, int]] = []
        self.manual = False
        self.finish = asyncio.Event()
        self.finish.set()

    def noack(self) -> FakeStream:
        self.manual = True
        return self

    async def events(self) -> AsyncIterator[Event]:
        for event in self._events:
            _current_event.set(weakref.ref(event))  # type: ignore[arg-type]
            yield event
        await self.finish.wait()

    async def ack(self, event: Event) -> bool:
        assert self.manual, "acks must be manual"
        self.acked.append((event.message.partition, event.message.offset))
        return True
