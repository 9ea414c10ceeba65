"""A record as its system holds it now, as a change event: what a dead letter re-drives.

A dead letter names its record (`system:entity:id`); after a fix at the source, the
record's current state is read back through the connectors' clients and shaped by the
pollers' own functions, so the join sees exactly what a poll would have brought.
Business entities have no retrieve API in Chargebee; for them (and for a record the
system no longer has) there is nothing to re-read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.poller import customer_change
from connectors.events import ChangeEvent
from connectors.exceptions import NotFoundError
from connectors.poweroffice.client import PowerOfficeClient
from connectors.poweroffice.poller import ENTITY_NAMES, PowerOfficeChangeSource

__all__ = ["reread"]

_RESOURCES = {entity: resource for resource, entity in ENTITY_NAMES.items()}


async def reread(
    record_key: str,
    *,
    connection: str,
    poweroffice: PowerOfficeClient,
    chargebee: ChargebeeClient,
    now_ms: int,
    hint: Mapping[str, Any] | None = None,
) -> ChangeEvent | None:
    """The change event of ``record_key``'s current state; None when it cannot be read
    (gone, or a business entity). ``hint``: the record as the dead letter carried it (a
    contact person's `ContactId` is needed to address it)."""
    system, _, rest = record_key.partition(":")
    entity, _, record_id = rest.partition(":")
    try:
        if system == "poweroffice" and entity in _RESOURCES and record_id.isdigit():
            resource = _RESOURCES[entity]
            contact = (hint or {}).get("ContactId")
            record = await poweroffice.get(
                resource, int(record_id), contact_id=contact if isinstance(contact, int) else None
            )
            return PowerOfficeChangeSource(poweroffice, resource).to_event(
                record, connection=connection, observed_ms=now_ms
            )
        if system == "chargebee" and entity == "customer" and record_id:
            customer = await chargebee.retrieve_customer(record_id)
            return customer_change(customer, connection=connection, observed_ms=now_ms)
    except NotFoundError:
        return None
    return None
