"""The Chargebee change sources: customers by updated_at, business entities from events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.chargebee.paging import Page
from connectors.chargebee.poller import BusinessEntityChangeSource, CustomerChangeSource
from connectors.events import ChangeEvent, Op
from connectors.polling.cursor_store import FileCursorStore
from connectors.polling.runner import poll_once


def customer(i: int, updated: int, *, deleted: bool = False) -> dict[str, Any]:
    return {
        "id": f"cus_{i}",
        "first_name": "Kari",
        "last_name": "Nordmann",
        "email": f"kari{i}@example.no",
        "created_at": 1_700_000_000,
        "updated_at": updated,
        "resource_version": updated * 1000 + i,
        "deleted": deleted,
        "object": "customer",
    }


class FakeChargebee:
    def __init__(self, customers: list[dict[str, Any]], events: list[dict[str, Any]]):
        self.customers = customers
        self.events = events
        self.customer_calls: list[dict[str, Any]] = []
        self.event_calls: list[dict[str, Any]] = []

    @staticmethod
    def _page(rows: list[dict[str, Any]], limit: int, offset: str | None) -> Page:
        start = int(offset or 0)
        end = start + limit
        return Page(items=rows[start:end], next_offset=str(end) if end < len(rows) else None)

    async def list_customers_page(
        self,
        *,
        updated_after: int | None = None,
        include_deleted: bool = False,
        sort_by_updated_at: bool = True,
        limit: int = 100,
        offset: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Page:
        self.customer_calls.append(
            {"updated_after": updated_after, "include_deleted": include_deleted}
        )
        rows = sorted(
            (
                c
                for c in self.customers
                if (updated_after is None or c["updated_at"] > updated_after)
                and (include_deleted or not c["deleted"])
            ),
            key=lambda c: c["updated_at"],
        )
        return self._page(rows, limit, offset)

    async def list_events_page(
        self,
        *,
        occurred_after: int | None = None,
        event_types: Sequence[str] | None = None,
        limit: int = 100,
        offset: str | None = None,
    ) -> Page:
        self.event_calls.append({"occurred_after": occurred_after, "types": event_types})
        rows = [
            e
            for e in self.events
            if (occurred_after is None or e["occurred_at"] > occurred_after)
            and (not event_types or e["event_type"] in event_types)
        ]
        return self._page(rows, limit, offset)


class Sink:
    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.events.extend(events)


async def test_customers_are_read_with_deleted_ones_across_pages(tmp_path):
    rows = [customer(i, 1_700_000_000 + i // 7) for i in range(25)]
    rows.append(customer(99, 1_700_000_100, deleted=True))
    client = FakeChargebee(rows, [])
    sink = Sink()
    await poll_once(
        CustomerChangeSource(client, page_size=10),
        connection="c",
        store=FileCursorStore(tmp_path),
        sink=sink,
    )
    assert len(sink.events) == 26
    assert all(call["include_deleted"] for call in client.customer_calls)
    deleted = [e for e in sink.events if e.source.id == "cus_99"]
    assert deleted[0].op is Op.DELETE
    assert deleted[0].after is None


async def test_customers_sharing_the_cursor_second_are_not_lost_or_repeated(tmp_path):
    store = FileCursorStore(tmp_path)
    client = FakeChargebee([customer(1, 100), customer(2, 100)], [])
    source = CustomerChangeSource(client, overlap=2)
    await poll_once(source, connection="c", store=store, sink=Sink())
    client.customers.append(customer(3, 100))  # committed late, same second
    sink = Sink()
    await poll_once(source, connection="c", store=store, sink=sink)
    assert [e.source.id for e in sink.events] == ["cus_3"]
    assert client.customer_calls[-1]["updated_after"] == 98


def be_event(n: int, kind: str, name: str, occurred: int) -> dict[str, Any]:
    return {
        "id": f"ev_{n}",
        "occurred_at": occurred,
        "source": "admin_console",
        "object": "event",
        "api_version": "v2",
        "event_type": kind,
        "content": {
            "business_entity": {
                "id": "be_oslo",
                "name": name,
                "status": "active",
                "resource_version": occurred * 1000 + n,
                "object": "business_entity",
            }
        },
    }


async def test_business_entities_are_learnt_from_their_events(tmp_path):
    events = [
        be_event(1, "business_entity_created", "Fjord AS", 10),
        be_event(2, "business_entity_updated", "Fjordøy AS", 11),
        be_event(3, "business_entity_deleted", "Fjordøy AS", 12),
    ]
    client = FakeChargebee([], events)
    sink = Sink()
    await poll_once(
        BusinessEntityChangeSource(client),
        connection="c",
        store=FileCursorStore(tmp_path),
        sink=sink,
    )
    assert [e.op for e in sink.events] == [Op.CREATE, Op.UPDATE, Op.DELETE]
    assert sink.events[1].after == events[1]["content"]["business_entity"]
    assert {e.record_key for e in sink.events} == {"chargebee:business_entity:be_oslo"}
    assert set(client.event_calls[0]["types"]) == {
        "business_entity_created",
        "business_entity_updated",
        "business_entity_deleted",
    }


async def test_an_event_read_twice_in_the_overlap_is_published_once(tmp_path):
    store = FileCursorStore(tmp_path)
    client = FakeChargebee([], [be_event(1, "business_entity_created", "Fjord AS", 10)])
    source = BusinessEntityChangeSource(client, overlap=5)
    await poll_once(source, connection="c", store=store, sink=Sink())
    sink = Sink()
    await poll_once(source, connection="c", store=store, sink=sink)
    assert sink.events == []


async def test_a_customer_without_updated_at_is_read_on_the_first_poll(tmp_path):
    old = customer(5, 1_600_000_000)
    del old["updated_at"]
    client = FakeChargebee([], [])
    client.customers = [old]
    sink = Sink()
    source = CustomerChangeSource(client)
    client.list_customers_page = _first_page_only(old)  # type: ignore[method-assign]
    await poll_once(source, connection="c", store=FileCursorStore(tmp_path), sink=sink)
    assert [e.source.id for e in sink.events] == ["cus_5"]
    assert sink.events[0].source.ts_ms == old["created_at"] * 1000


def _first_page_only(record: dict[str, Any]):
    async def list_page(**_: Any) -> Page:
        return Page(items=[record], next_offset=None)

    return list_page
