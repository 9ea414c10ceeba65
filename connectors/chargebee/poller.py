"""Change sources for Chargebee: customers by `updated_at`, business entities by events.

Customers are listed with `updated_at[after]`, `include_deleted=true` and
`sort_by[asc]=updated_at`, so deletions arrive as versions with `deleted: true`. Their
position is `updated_at` (one-second resolution, hence the overlap) and their version
`resource_version`.

Business entities have no list or retrieve API; they are learnt from the events list
(`business_entity_created|updated|deleted`), positioned by `occurred_at` and
de-duplicated by event id.

The shared poll loop (`connectors.polling.runner.poll_once`) owns cursors and publishing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.chargebee.paging import Page, follow_offsets
from connectors.events import ChangeEvent, Op, Origin, Source
from connectors.polling.cursor import RecordMark

__all__ = [
    "BUSINESS_ENTITY_EVENTS",
    "BusinessEntityChangeSource",
    "ChargebeeLister",
    "CustomerChangeSource",
    "business_entity_change",
    "chargebee_sources",
    "customer_change",
]

SYSTEM = "chargebee"

BUSINESS_ENTITY_EVENTS: Mapping[str, Op] = {
    "business_entity_created": Op.CREATE,
    "business_entity_updated": Op.UPDATE,
    "business_entity_deleted": Op.DELETE,
}


class ChargebeeLister(Protocol):
    """The part of `ChargebeeClient` the change sources need."""

    async def list_customers_page(
        self,
        *,
        updated_after: int | None = None,
        include_deleted: bool = False,
        sort_by_updated_at: bool = True,
        limit: int = 100,
        offset: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Page: ...

    async def list_events_page(
        self,
        *,
        occurred_after: int | None = None,
        event_types: Sequence[str] | None = None,
        limit: int = 100,
        offset: str | None = None,
    ) -> Page: ...


async def _offset_pages(
    fetch: Callable[[str | None], Awaitable[Page]],
) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
    """Every non-empty page of records (a repeated offset is refused)."""
    async for page in follow_offsets(fetch):
        if page.items:
            yield page.items


def _updated(record: Mapping[str, Any]) -> int:
    """`updated_at`, or `created_at` for old records that never got an `updated_at`."""
    value = record.get("updated_at")
    if value is None:
        value = record.get("created_at") or 0
    return int(value)


def _version(record: Mapping[str, Any], fallback_seconds: int) -> int:
    version = record.get("resource_version")
    return int(version) if version is not None else fallback_seconds * 1000


def customer_change(record: Mapping[str, Any], *, connection: str, observed_ms: int) -> ChangeEvent:
    """The change event of one version of a customer (listed, or in a webhook's event)."""
    updated = _updated(record)
    deleted = bool(record.get("deleted"))
    if deleted:
        op = Op.DELETE
    elif record.get("created_at") == record.get("updated_at"):
        op = Op.CREATE
    else:
        op = Op.UPDATE
    return ChangeEvent(
        connection=connection,
        op=op,
        source=Source(
            system=SYSTEM,
            entity="customer",
            id=str(record["id"]),
            version=_version(record, updated),
            ts_ms=updated * 1000,
        ),
        after=None if deleted else dict(record),
        before=dict(record) if deleted else None,
        origin=Origin(system=SYSTEM),
        observed_ms=observed_ms,
    )


def business_entity_change(
    event: Mapping[str, Any], *, connection: str, observed_ms: int
) -> ChangeEvent:
    """The change event of one `business_entity_*` event (listed, or a webhook's body)."""
    occurred = int(event["occurred_at"])
    entity = dict(event["content"]["business_entity"])
    op = BUSINESS_ENTITY_EVENTS[event["event_type"]]
    return ChangeEvent(
        connection=connection,
        op=op,
        source=Source(
            system=SYSTEM,
            entity="business_entity",
            id=str(entity["id"]),
            version=_version(entity, occurred),
            ts_ms=occurred * 1000,
        ),
        after=None if op is Op.DELETE else entity,
        before=entity if op is Op.DELETE else None,
        origin=Origin(system=SYSTEM),
        observed_ms=observed_ms,
    )


@dataclass(slots=True)
class CustomerChangeSource:
    """Chargebee customers as a `ChangeSource`; ``overlap`` is in seconds."""

    client: ChargebeeLister
    page_size: int = 100
    overlap: int = 5
    system: str = SYSTEM
    entity: str = "customer"

    def read_pages(self, since: int | None) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        return _offset_pages(
            lambda offset: self.client.list_customers_page(
                updated_after=since,
                include_deleted=True,
                sort_by_updated_at=True,
                limit=self.page_size,
                offset=offset,
            )
        )

    def mark(self, record: Mapping[str, Any]) -> RecordMark:
        updated = _updated(record)
        return RecordMark(id=str(record["id"]), version=_version(record, updated), position=updated)

    def to_event(
        self, record: Mapping[str, Any], *, connection: str, observed_ms: int
    ) -> ChangeEvent:
        return customer_change(record, connection=connection, observed_ms=observed_ms)


@dataclass(slots=True)
class BusinessEntityChangeSource:
    """Chargebee business entities, learnt from the events list; ``overlap`` in seconds."""

    client: ChargebeeLister
    page_size: int = 100
    overlap: int = 5
    system: str = SYSTEM
    entity: str = "business_entity"

    def read_pages(self, since: int | None) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        return _offset_pages(
            lambda offset: self.client.list_events_page(
                occurred_after=since,
                event_types=list(BUSINESS_ENTITY_EVENTS),
                limit=self.page_size,
                offset=offset,
            )
        )

    def mark(self, event: Mapping[str, Any]) -> RecordMark:
        occurred = int(event["occurred_at"])
        return RecordMark(id=str(event["id"]), version=0, position=occurred)

    def to_event(
        self, event: Mapping[str, Any], *, connection: str, observed_ms: int
    ) -> ChangeEvent:
        return business_entity_change(event, connection=connection, observed_ms=observed_ms)


def chargebee_sources(
    client: ChargebeeLister, *, page_size: int = 100, overlap: int = 5
) -> list[CustomerChangeSource | BusinessEntityChangeSource]:
    """The change sources ledgerlink reads from one Chargebee site."""
    return [
        CustomerChangeSource(client, page_size=page_size, overlap=overlap),
        BusinessEntityChangeSource(client, page_size=page_size, overlap=overlap),
    ]
