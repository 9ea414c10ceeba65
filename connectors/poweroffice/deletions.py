"""Finding records deleted in PowerOffice Go.

PowerOffice Go has no webhooks and its change filter never returns a deleted record: a
hard delete is only visible by listing the ids that still exist and comparing them with
the ids known before (the reference calls it a periodic reconciliation). `DeletionWatch`
keeps, per resource, the ids it knows — from the last listing plus every record the
change poller published since — in an `IdSetStore`, and turns each known id that is no
longer listed into a delete `ChangeEvent`. Listings go through the shared page loop
(`paging.iter_pages`, capped).

The worker keeps the id sets in Kafka beside its cursors, so that they move with the
connection's partition (`connectors.polling.kafka_state`); `FileIdSetStore` keeps one
file per (connection, resource), written atomically like the file cursors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import orjson

from connectors.events import ChangeEvent, Op, Origin, Source
from connectors.polling.cursor_store import atomic_write_bytes
from connectors.polling.publisher import EventSink
from connectors.poweroffice.paging import MAX_PAGE_SIZE, PageLister, iter_pages
from connectors.poweroffice.poller import ENTITY_NAMES, SYSTEM
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.timestamps import TICKS_PER_SECOND

__all__ = ["DeletionWatch", "FileIdSetStore", "IdSetStore", "vanished"]

log = logging.getLogger(__name__)


def vanished(known: Iterable[str], listed: Iterable[str]) -> list[str]:
    """The known ids that are no longer listed, in a stable order."""
    present = set(listed)
    return sorted((i for i in set(known) if i not in present), key=lambda i: (len(i), i))


class IdSetStore(Protocol):
    """The ids known per (connection, resource name); a missing set loads empty."""

    async def load(self, connection: str, resource: str) -> set[str]: ...

    async def save(self, connection: str, resource: str, ids: set[str]) -> None:
        """Return once the set is durable."""


class FileIdSetStore:
    """One JSON list of ids per (connection, resource) under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, connection: str, resource: str) -> Path:
        return self.directory / f"{connection}-poweroffice-{resource}-ids.json"

    async def load(self, connection: str, resource: str) -> set[str]:
        path = self.path_for(connection, resource)

        def read() -> set[str]:
            try:
                return {str(i) for i in orjson.loads(path.read_bytes())}
            except FileNotFoundError:
                return set()

        return await asyncio.to_thread(read)

    async def save(self, connection: str, resource: str, ids: set[str]) -> None:
        path = self.path_for(connection, resource)
        await asyncio.to_thread(atomic_write_bytes, path, orjson.dumps(sorted(ids)))


@dataclass
class DeletionWatch:
    client: PageLister
    store: IdSetStore
    connection: str
    resources: Sequence[Resource] = tuple(Resource)
    #: 10 million ids per resource: far beyond any PowerOffice Go company, and a bound on
    #: the memory an id listing that never ends could take.
    max_pages: int = 500
    _known: dict[Resource, set[str]] = field(default_factory=dict)

    def forget(self) -> None:
        """Drop what is held in memory: another worker polled the connection meanwhile, so
        the store holds newer sets (called when the connection's partition comes back)."""
        self._known.clear()

    def saw(self, event: ChangeEvent) -> None:
        """Remember a record the change poller published (it may be deleted before the
        next listing)."""
        if event.source.system != SYSTEM or event.op is Op.DELETE:
            return
        for resource, entity in ENTITY_NAMES.items():
            if entity == event.source.entity and resource in self._known:
                self._known[resource].add(event.source.id)

    async def _load(self, resource: Resource) -> set[str]:
        if resource not in self._known:
            self._known[resource] = await self.store.load(self.connection, resource.value)
        return self._known[resource]

    async def _save(self, resource: Resource, ids: set[str]) -> None:
        await self.store.save(self.connection, resource.value, ids)

    async def _listed(self, resource: Resource) -> set[str]:
        ids: set[str] = set()
        pages = iter_pages(
            self.client,
            resource,
            page_size=MAX_PAGE_SIZE,
            fields=["Id"],
            max_pages=self.max_pages,
        )
        async for rows in pages:
            ids.update(str(row["Id"]) for row in rows)
        return ids

    async def check(self, sink: EventSink, *, now_ticks: int) -> int:
        """List every resource's ids, publish a delete event per vanished record; return
        how many were published."""
        published = 0
        for resource in self.resources:
            before = set(await self._load(resource))
            listed = await self._listed(resource)
            gone = vanished(before, listed)
            events = [self._delete_event(resource, record_id, now_ticks) for record_id in gone]
            await sink.publish(events)  # before forgetting them: a crash re-reports, never loses
            seen_meanwhile = self._known[resource] - before
            self._known[resource] = set(listed) | seen_meanwhile
            await self._save(resource, self._known[resource])
            if gone:
                log.info("poweroffice %s: %d record(s) deleted", ENTITY_NAMES[resource], len(gone))
            published += len(events)
        return published

    def _delete_event(self, resource: Resource, record_id: str, now_ticks: int) -> ChangeEvent:
        return ChangeEvent(
            connection=self.connection,
            op=Op.DELETE,
            source=Source(
                system=SYSTEM,
                entity=ENTITY_NAMES[resource],
                id=record_id,
                version=now_ticks,
                ts_ms=now_ticks // (TICKS_PER_SECOND // 1000),
            ),
            after=None,
            before={"Id": int(record_id) if record_id.isdigit() else record_id},
            origin=Origin(system=SYSTEM),
            observed_ms=now_ticks // (TICKS_PER_SECOND // 1000),
        )
