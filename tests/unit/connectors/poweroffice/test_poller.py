"""The PowerOffice Go change source: keyset paging over equal timestamps, events per record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from connectors.events import ChangeEvent, Op
from connectors.polling.cursor_store import FileCursorStore
from connectors.polling.runner import poll_once
from connectors.poweroffice.paging import EndlessListingError, PageRequest
from connectors.poweroffice.poller import (
    ORDER_BY,
    PowerOfficeChangeSource,
    poweroffice_sources,
    restart_after_last_change,
)
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.timestamps import format_timestamp

BASE = 17_000_000_000_000_000  # ticks


class FakeLister:
    """Serves records like the API: strictly after `changed_after`, ordered, paged."""

    def __init__(self, records: list[dict[str, Any]]):
        self.records = records
        self.calls: list[tuple[int | None, int, int, str | None]] = []

    async def list_page(
        self,
        resource: Resource,
        *,
        changed_after: int | None = None,
        page_number: int = 1,
        page_size: int = 5000,
        order_by: str | None = None,
        contact_ids: Sequence[int] | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        self.calls.append((changed_after, page_number, page_size, order_by))
        rows = sorted(
            (r for r in self.records if changed_after is None or r["_ticks"] > changed_after),
            key=lambda r: (r["_ticks"], r["Id"]),
        )
        start = (page_number - 1) * page_size
        return [
            {k: v for k, v in r.items() if k != "_ticks"} for r in rows[start : start + page_size]
        ]


def employee(i: int, ticks: int) -> dict[str, Any]:
    stamp = format_timestamp(ticks)
    return {
        "Id": i,
        "FirstName": "Åse",
        "LastName": f"Ørnes {i}",
        "EmailAddress": f"ase{i}@example.no",
        "LastChangedDateTimeOffset": stamp,
        "EmployeeCreatedDateTimeOffset": stamp,
        "_ticks": ticks,
    }


class Sink:
    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.events.extend(events)


def shared_run(total: int, run: range) -> list[dict[str, Any]]:
    return [employee(i, BASE + (500 if i in run else i)) for i in range(1, total + 1)]


async def test_a_run_of_equal_timestamps_longer_than_a_page_is_read_completely(tmp_path):
    # 120 records; 45 share one timestamp (ids 30..74), with pages of 20.
    lister = FakeLister(shared_run(120, range(30, 75)))
    sink = Sink()
    source = PowerOfficeChangeSource(lister, Resource.EMPLOYEES, page_size=20)
    await poll_once(source, connection="c", store=FileCursorStore(tmp_path), sink=sink)
    assert sorted(int(e.source.id) for e in sink.events) == list(range(1, 121))


async def test_paging_restarts_from_the_last_timestamp_rather_than_counting_pages(tmp_path):
    lister = FakeLister([employee(i, BASE + i) for i in range(1, 51)])
    source = PowerOfficeChangeSource(lister, Resource.EMPLOYEES, page_size=20)
    await poll_once(source, connection="c", store=FileCursorStore(tmp_path), sink=Sink())
    assert [(after, page) for after, page, _, _ in lister.calls] == [
        (None, 1),
        (BASE + 19, 1),  # page 1 held ids 1..20: restart just below id 20's timestamp
        (BASE + 38, 1),  # page 2 held ids 20..39
    ]
    assert {order for *_, order in lister.calls} == {ORDER_BY}


async def test_the_next_poll_starts_one_overlap_before_the_high_water(tmp_path):
    lister = FakeLister([employee(i, BASE + i) for i in range(1, 6)])
    store = FileCursorStore(tmp_path)
    source = PowerOfficeChangeSource(lister, Resource.EMPLOYEES, page_size=20, overlap=3)
    await poll_once(source, connection="c", store=store, sink=Sink())
    sink = Sink()
    await poll_once(source, connection="c", store=store, sink=sink)
    assert lister.calls[-1][0] == BASE + 5 - 3
    assert sink.events == []


def test_a_record_becomes_an_event_keyed_by_entity_type_and_id():
    source = PowerOfficeChangeSource(FakeLister([]), Resource.EMPLOYEES)
    record = {k: v for k, v in employee(7, BASE + 7).items() if k != "_ticks"}
    event = source.to_event(record, connection="acme", observed_ms=1)
    assert event.record_key == "poweroffice:Employee:7"
    assert event.op is Op.CREATE
    assert event.source.version == BASE + 7
    assert event.after is not None
    assert event.after["LastName"] == "Ørnes 7"


def test_a_changed_record_is_an_update():
    source = PowerOfficeChangeSource(FakeLister([]), Resource.EMPLOYEES)
    record = {k: v for k, v in employee(7, BASE + 70).items() if k != "_ticks"}
    record["EmployeeCreatedDateTimeOffset"] = format_timestamp(BASE + 7)
    assert source.to_event(record, connection="acme", observed_ms=1).op is Op.UPDATE


def test_there_is_one_source_per_resource_and_entity_names_differ():
    sources = poweroffice_sources(FakeLister([]))
    assert sorted(s.entity for s in sources) == [
        "ContactPerson",
        "Customer",
        "Department",
        "Employee",
    ]


@pytest.mark.parametrize(
    ("request_", "last_ticks", "expected"),
    [
        (PageRequest(None, 1), BASE + 9, PageRequest(BASE + 8, 1)),
        (PageRequest(BASE, 1), BASE + 9, PageRequest(BASE + 8, 1)),
        (PageRequest(BASE + 8, 1), BASE + 9, PageRequest(BASE + 8, 2)),
        (PageRequest(BASE + 8, 2), BASE + 9, PageRequest(BASE + 8, 3)),
    ],
)
def test_after_a_full_page_the_filter_moves_up_unless_the_page_shares_one_timestamp(
    request_, last_ticks, expected
):
    page = [{"LastChangedDateTimeOffset": format_timestamp(t)} for t in (BASE + 1, last_ticks)]
    assert restart_after_last_change(request_, page) == expected


async def test_a_server_ignoring_the_page_number_stops_the_poll_with_a_clear_error(tmp_path):
    class IgnoresPageNumber(FakeLister):
        async def list_page(self, resource, *, changed_after=None, page_size=5000, **_):
            return await super().list_page(
                resource, changed_after=changed_after, page_size=page_size
            )

    lister = IgnoresPageNumber(shared_run(10, range(1, 11)))  # ten records, one timestamp
    source = PowerOfficeChangeSource(lister, Resource.EMPLOYEES, page_size=5)
    with pytest.raises(EndlessListingError, match="repeated"):
        await poll_once(source, connection="c", store=FileCursorStore(tmp_path), sink=Sink())
