"""The shared poll loop, against a fake source and a recording sink (no broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from connectors.polling.cursor import RecordMark
from connectors.polling.cursor_store import FileCursorStore
from connectors.polling.runner import poll_once


class ListSource:
    """Records ordered by position, served `> since` in pages, like the real APIs."""

    system = "fake"
    entity = "Thing"

    def __init__(self, records: list[dict[str, Any]], page_size: int, overlap: int = 1):
        self.records = records
        self.page_size = page_size
        self.overlap = overlap
        self.reads: list[int | None] = []

    async def read_pages(self, since: int | None) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        self.reads.append(since)
        matching = sorted(
            (r for r in self.records if since is None or r["pos"] > since),
            key=lambda r: (r["pos"], r["id"]),
        )
        for start in range(0, len(matching), self.page_size):
            yield matching[start : start + self.page_size]

    def mark(self, record: Mapping[str, Any]) -> RecordMark:
        return RecordMark(id=str(record["id"]), version=record["pos"], position=record["pos"])

    def to_event(self, record, *, connection, observed_ms) -> ChangeEvent:
        return ChangeEvent(
            connection=connection,
            op=Op.READ,
            source=Source("fake", "Thing", str(record["id"]), record["pos"], record["pos"]),
            after=dict(record),
            origin=Origin("fake"),
            observed_ms=observed_ms,
        )


class RecordingSink:
    def __init__(self, fail_on_call: int | None = None):
        self.events: list[ChangeEvent] = []
        self.calls = 0
        self.fail_on_call = fail_on_call

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("broker went away")
        self.events.extend(events)


def records_with_a_shared_timestamp() -> list[dict[str, Any]]:
    # 100 records; 30 of them (ids 40..69) share position 1000, across the page boundary at 50.
    return [{"id": i, "pos": 1000 if 40 <= i < 70 else i} for i in range(100)]


async def test_every_record_is_published_once(tmp_path):
    sink = RecordingSink()
    source = ListSource(records_with_a_shared_timestamp(), page_size=50)
    result = await poll_once(source, connection="c", store=FileCursorStore(tmp_path), sink=sink)
    ids = [e.source.id for e in sink.events]
    assert sorted(ids, key=int) == [str(i) for i in range(100)]
    assert result.published == 100
    assert result.high_water == 1000


async def test_a_second_poll_with_no_changes_publishes_nothing(tmp_path):
    store = FileCursorStore(tmp_path)
    source = ListSource(records_with_a_shared_timestamp(), page_size=50)
    await poll_once(source, connection="c", store=store, sink=RecordingSink())
    sink = RecordingSink()
    result = await poll_once(source, connection="c", store=store, sink=sink)
    assert sink.events == []
    assert result.read > 0  # the overlap window was read again, and de-duplicated
    assert source.reads[-1] == 999


async def test_a_poller_failing_between_pages_misses_nothing_after_restart(tmp_path):
    store = FileCursorStore(tmp_path)
    records = records_with_a_shared_timestamp()
    failing = RecordingSink(fail_on_call=2)
    with pytest.raises(RuntimeError):
        await poll_once(
            ListSource(records, page_size=20), connection="c", store=store, sink=failing
        )
    assert len(failing.events) == 20
    resumed = RecordingSink()
    await poll_once(ListSource(records, page_size=20), connection="c", store=store, sink=resumed)
    published = [e.source.id for e in failing.events + resumed.events]
    assert sorted(published, key=int) == [str(i) for i in range(100)]
    assert len(published) == len(set(published))


async def test_a_later_version_of_a_record_is_published_again(tmp_path):
    store = FileCursorStore(tmp_path)
    records = [{"id": 1, "pos": 10}, {"id": 2, "pos": 11}]
    await poll_once(ListSource(records, 10), connection="c", store=store, sink=RecordingSink())
    records[0] = {"id": 1, "pos": 12}
    sink = RecordingSink()
    await poll_once(ListSource(records, 10), connection="c", store=store, sink=sink)
    assert [(e.source.id, e.source.version) for e in sink.events] == [("1", 12)]
