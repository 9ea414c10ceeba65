"""Finding PowerOffice Go deletes by listing ids: what vanished, what was only just made."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from connectors.poweroffice.deletions import DeletionWatch, FileIdSetStore, vanished
from connectors.poweroffice.paging import EndlessListingError
from connectors.poweroffice.resources import Resource


class Lister:
    def __init__(self, ids: dict[Resource, list[int]]) -> None:
        self.ids = ids
        self.calls: list[tuple[Resource, Sequence[str] | None]] = []
        self.pages: list[tuple[int, int]] = []

    async def list_page(
        self,
        resource,
        *,
        changed_after=None,
        page_number=1,
        page_size=5000,
        order_by=None,
        contact_ids=None,
        fields=None,
    ) -> list[dict[str, Any]]:
        self.calls.append((resource, fields))
        self.pages.append((page_number, page_size))
        rows = [{"Id": i} for i in self.ids.get(resource, [])]
        start = (page_number - 1) * page_size
        return rows[start : start + page_size]


class Sink:
    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.events.extend(events)


def test_vanished_ids_are_the_known_ones_not_listed():
    assert vanished({"1", "2", "10"}, {"2", "3"}) == ["1", "10"]


async def test_the_first_listing_reports_nothing_and_the_next_reports_deletes(tmp_path):
    lister = Lister({Resource.EMPLOYEES: [1, 2, 3]})
    watch = DeletionWatch(lister, FileIdSetStore(tmp_path), "acme", resources=[Resource.EMPLOYEES])
    sink = Sink()
    assert await watch.check(sink, now_ticks=10**17) == 0
    lister.ids[Resource.EMPLOYEES] = [1, 3]
    assert await watch.check(sink, now_ticks=10**17 + 1) == 1
    [event] = sink.events
    assert event.op is Op.DELETE
    assert event.record_key == "poweroffice:Employee:2"
    assert lister.calls[0] == (Resource.EMPLOYEES, ["Id"])


async def test_known_ids_survive_a_restart(tmp_path):
    lister = Lister({Resource.DEPARTMENTS: [4, 5]})
    await DeletionWatch(
        lister, FileIdSetStore(tmp_path), "acme", resources=[Resource.DEPARTMENTS]
    ).check(Sink(), now_ticks=1)
    lister.ids[Resource.DEPARTMENTS] = [5]
    sink = Sink()
    restarted = DeletionWatch(
        lister, FileIdSetStore(tmp_path), "acme", resources=[Resource.DEPARTMENTS]
    )
    await restarted.check(sink, now_ticks=2)
    assert [e.source.id for e in sink.events] == ["4"]


async def test_a_record_made_and_deleted_between_two_listings_is_reported(tmp_path):
    lister = Lister({Resource.EMPLOYEES: [1]})
    watch = DeletionWatch(lister, FileIdSetStore(tmp_path), "acme", resources=[Resource.EMPLOYEES])
    await watch.check(Sink(), now_ticks=1)
    watch.saw(
        ChangeEvent(
            connection="acme",
            op=Op.CREATE,
            source=Source("poweroffice", "Employee", "9", 5, 5),
            after={"Id": 9},
            origin=Origin("poweroffice"),
            observed_ms=0,
        )
    )
    sink = Sink()
    await watch.check(sink, now_ticks=2)
    assert [e.source.id for e in sink.events] == ["9"]


async def test_ids_of_one_entity_are_not_confused_with_another(tmp_path):
    lister = Lister({Resource.EMPLOYEES: [7], Resource.CUSTOMERS: [7]})
    watch = DeletionWatch(
        lister, FileIdSetStore(tmp_path), "acme", resources=[Resource.EMPLOYEES, Resource.CUSTOMERS]
    )
    await watch.check(Sink(), now_ticks=1)
    lister.ids[Resource.CUSTOMERS] = []
    sink = Sink()
    await watch.check(sink, now_ticks=2)
    assert [e.record_key for e in sink.events] == ["poweroffice:Customer:7"]


async def test_the_id_file_is_written_whole_and_no_temporary_file_is_left(tmp_path):
    lister = Lister({Resource.EMPLOYEES: [3, 1, 2]})
    watch = DeletionWatch(lister, FileIdSetStore(tmp_path), "acme", resources=[Resource.EMPLOYEES])
    await watch.check(Sink(), now_ticks=1)
    [path] = tmp_path.iterdir()
    assert path.name == "acme-poweroffice-Employees-ids.json"
    assert orjson.loads(path.read_bytes()) == ["1", "2", "3"]


async def test_ids_are_listed_in_the_largest_pages_the_api_allows(tmp_path):
    lister = Lister({Resource.EMPLOYEES: list(range(1, 20_002))})
    watch = DeletionWatch(lister, FileIdSetStore(tmp_path), "acme", resources=[Resource.EMPLOYEES])
    await watch.check(Sink(), now_ticks=1)
    assert lister.pages == [(1, 20_000), (2, 20_000)]
    assert len(await watch._load(Resource.EMPLOYEES)) == 20_001


async def test_a_listing_that_never_ends_stops_with_a_clear_error(tmp_path):
    class Endless(Lister):
        async def list_page(self, resource, *, page_number=1, page_size=5000, **_):
            return [{"Id": (page_number - 1) * page_size + i} for i in range(page_size)]

    watch = DeletionWatch(
        Endless({}), FileIdSetStore(tmp_path), "acme", resources=[Resource.EMPLOYEES], max_pages=3
    )
    with pytest.raises(EndlessListingError, match="exceeded 3 pages"):
        await watch.check(Sink(), now_ticks=1)
    assert list(tmp_path.iterdir()) == []


class MemoryIdSets:
    def __init__(self) -> None:
        self.sets: dict[tuple[str, str], set[str]] = {}

    async def load(self, connection: str, resource: str) -> set[str]:
        return set(self.sets.get((connection, resource), set()))

    async def save(self, connection: str, resource: str, ids: set[str]) -> None:
        self.sets[(connection, resource)] = set(ids)


async def test_after_forget_the_watch_reads_what_another_worker_saved():
    lister = Lister({Resource.EMPLOYEES: [1, 2]})
    store = MemoryIdSets()
    watch = DeletionWatch(lister, store, "acme", resources=[Resource.EMPLOYEES])
    await watch.check(Sink(), now_ticks=1)
    # Meanwhile another worker owned the connection and learned of employee 3.
    store.sets[("acme", "Employees")] = {"1", "2", "3"}
    lister.ids[Resource.EMPLOYEES] = [1, 2]
    watch.forget()
    sink = Sink()
    await watch.check(sink, now_ticks=2)
    assert [e.source.id for e in sink.events] == ["3"]
