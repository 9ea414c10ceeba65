"""Change sources for the four PowerOffice Go resources, read by their change filter.

Each `PowerOfficeChangeSource` reads one resource with `lastChangedDateTimeOffsetGreaterThan`
ordered by (LastChangedDateTimeOffset, Id), and turns each record into a `ChangeEvent`.
The shared poll loop (`connectors.polling.runner.poll_once`) owns cursors and publishing.

Paging is keyset-like: after a full page the next request restarts at PageNumber 1 from
just below that page's last timestamp, so records changed while a long listing runs do
not shift page boundaries under it. Only when a whole page shares one timestamp (a run of
equal timestamps longer than a page) does it step the PageNumber instead
(`restart_after_last_change`). Records at the boundary are read twice and de-duplicated by
the cursor. The loop itself, with its stop rules and page cap, is `paging.iter_pages`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.events import ChangeEvent, Op, Origin, Source
from connectors.polling.cursor import RecordMark
from connectors.poweroffice.paging import PageLister, PageRequest, iter_pages, next_page_number
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.timestamps import TICKS_PER_SECOND, parse_timestamp

__all__ = [
    "ENTITY_NAMES",
    "ORDER_BY",
    "PowerOfficeChangeSource",
    "poweroffice_sources",
    "restart_after_last_change",
]

SYSTEM = "poweroffice"

#: Stable order for paging; ties on the timestamp are broken by Id.
ORDER_BY = "LastChangedDateTimeOffset asc, Id asc"

#: The entity name each resource's events carry (singular, as in the API's DTO names).
ENTITY_NAMES: Mapping[Resource, str] = {
    Resource.CUSTOMERS: "Customer",
    Resource.CONTACT_PERSONS: "ContactPerson",
    Resource.EMPLOYEES: "Employee",
    Resource.DEPARTMENTS: "Department",
}

#: The field holding each resource's creation time (the DTOs name it differently).
_CREATED_FIELD: Mapping[Resource, str] = {
    Resource.CUSTOMERS: "CustomerCreatedDateTimeOffset",
    Resource.CONTACT_PERSONS: "CreatedDateTimeOffset",
    Resource.EMPLOYEES: "EmployeeCreatedDateTimeOffset",
    Resource.DEPARTMENTS: "CreatedDateTimeOffset",
}

_LAST_CHANGED = "LastChangedDateTimeOffset"

Record = Mapping[str, Any]


@dataclass(slots=True)
class PowerOfficeChangeSource:
    """One PowerOffice Go resource as a `ChangeSource`.

    ``overlap`` is in 100-ns ticks (default one second): each poll re-reads that much
    before the high-water mark, which covers equal timestamps and late commits.
    """

    client: PageLister
    resource: Resource
    page_size: int = 1000
    overlap: int = TICKS_PER_SECOND
    system: str = SYSTEM

    @property
    def entity(self) -> str:
        return ENTITY_NAMES[self.resource]

    def read_pages(self, since: int | None) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        return iter_pages(
            self.client,
            self.resource,
            page_size=self.page_size,
            changed_after=since,
            order_by=ORDER_BY,
            next_page=restart_after_last_change,
        )

    def mark(self, record: Mapping[str, Any]) -> RecordMark:
        changed = parse_timestamp(record[_LAST_CHANGED])
        return RecordMark(id=str(record["Id"]), version=changed, position=changed)

    def to_event(
        self, record: Mapping[str, Any], *, connection: str, observed_ms: int
    ) -> ChangeEvent:
        changed = parse_timestamp(record[_LAST_CHANGED])
        created_text = record.get(_CREATED_FIELD[self.resource])
        if created_text is None:
            op = Op.READ
        else:
            op = Op.CREATE if parse_timestamp(created_text) == changed else Op.UPDATE
        return ChangeEvent(
            connection=connection,
            op=op,
            source=Source(
                system=SYSTEM,
                entity=self.entity,
                id=str(record["Id"]),
                version=changed,
                ts_ms=changed // (TICKS_PER_SECOND // 1000),
            ),
            after=dict(record),
            origin=Origin(system=SYSTEM),
            observed_ms=observed_ms,
        )


def restart_after_last_change(request: PageRequest, records: Sequence[Record]) -> PageRequest:
    """After a full page, restart at PageNumber 1 from one tick below the page's last change.

    The filter is strictly-greater, so the records of that last tick are read again (the
    cursor de-duplicates them). Only when the filter already stands there — a whole page
    shares one timestamp — does the PageNumber step instead.
    """
    top = max(parse_timestamp(r[_LAST_CHANGED]) for r in records)
    restart_from = top - 1
    if request.changed_after is None or restart_from > request.changed_after:
        return PageRequest(changed_after=restart_from)
    return next_page_number(request, records)


def poweroffice_sources(
    client: PageLister, *, page_size: int = 1000, overlap: int = TICKS_PER_SECOND
) -> list[PowerOfficeChangeSource]:
    """One change source per resource ledgerlink synchronises."""
    return [
        PowerOfficeChangeSource(client, resource, page_size=page_size, overlap=overlap)
        for resource in Resource
    ]
