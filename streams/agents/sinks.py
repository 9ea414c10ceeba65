"""The sinks: perform an upsert command against one system's API and record the outcome.

Each sink reads the target record first (the APIs have no optimistic locking), plans the
write with the conflict rule (`streams.sync.writes.plan_write`), writes only the fields
that must change — a create with the deterministic id and an idempotency key, a Chargebee
update, or a JSON Patch for PowerOffice Go — and then records in the link table what the
target holds now, including its new version, so the echo of our own write is recognised.

A command that cannot be carried out (the API rejects the values) becomes a dead letter;
a record that is gone is unlinked and reported. Transient failures are raised for the
agent to retry: the command is never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from connectors.exceptions import DuplicateIdError, InvalidRequestError, NotFoundError
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.timestamps import TICKS_PER_SECOND, parse_timestamp
from mappings import Flow, hash_values
from streams.agents.plumbing import ConnectionLocks
from streams.sync.ids import create_idempotency_key
from streams.sync.link_merge import (
    Observed,
    conflict_id,
    counter_upsert,
    link_for_create,
    merge_observed,
)
from streams.sync.links import Link, LinkState, LinkTable
from streams.sync.messages import ActionItem, DeadLetter, Upsert
from streams.sync.reports import ReportBook
from streams.sync.writes import WritePlan, plan_write

__all__ = ["ChargebeeWriter", "PowerOfficeWriter", "SinkResult", "Sinks"]

log = logging.getLogger(__name__)

RESOURCES = {
    "Customer": Resource.CUSTOMERS,
    "ContactPerson": Resource.CONTACT_PERSONS,
    "Employee": Resource.EMPLOYEES,
    "Department": Resource.DEPARTMENTS,
}


class ChargebeeWriter(Protocol):
    async def create_customer(
        self,
        fields: Mapping[str, Any],
        *,
        customer_id: str | None = None,
        idempotency_key: str | None = None,
        business_entity_id: str | None = None,
    ) -> dict[str, Any]: ...

    async def update_customer(
        self, customer_id: str, fields: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]: ...

    async def retrieve_customer(self, customer_id: str) -> dict[str, Any]: ...


class PowerOfficeWriter(Protocol):
    async def get(
        self, resource: Resource, record_id: int, *, contact_id: int | None = None
    ) -> dict[str, Any]: ...

    async def patch(
        self,
        resource: Resource,
        record_id: int,
        operations: Sequence[Mapping[str, Any]],
        *,
        contact_id: int | None = None,
    ) -> dict[str, Any]: ...


@dataclass(slots=True)
class SinkResult:
    wrote: bool = False
    plan: WritePlan | None = None
    dead_letter: DeadLetter | None = None
    action: ActionItem | None = None
    skipped: str | None = None
    counter: Upsert | None = None  # the target won a conflict: carry its value back


@dataclass
class Sinks:
    flows: Mapping[str, Flow]
    links: LinkTable
    reports: ReportBook
    clock_ms: Callable[[], int]
    locks: ConnectionLocks = field(default_factory=ConnectionLocks)

    def lock(self, connection: str) -> asyncio.Lock:
        """The lock that orders link-table writes of one connection between agents."""
        return self.locks.lock(connection)

    # -- Chargebee -------------------------------------------------------------------------

    async def _link(self, upsert: Upsert) -> Link | None:
        # The join agent commits a link only after its upsert was acknowledged, and holds
        # this lock until then: without it a fast sink could miss a link being made.
        async with self.lock(upsert.connection):
            return self.links.get(upsert.connection, upsert.left_key)

    async def to_chargebee(self, upsert: Upsert, client: ChargebeeWriter) -> SinkResult:
        link = await self._link(upsert)
        if link is None and upsert.create:
            log.warning(
                "%s: create command without its link (the join's write was lost in a crash); "
                "creating from the command",
                upsert.left_key,
            )
            link = link_for_create(upsert, now_ms=self.clock_ms())
        if link is None or link.right is None or link.state is LinkState.UNLINKED:
            return SinkResult(skipped="no live link")
        flow = self.flows[upsert.flow]
        record: dict[str, Any] | None = None
        plan = WritePlan(write=dict(upsert.fields))
        if upsert.create and link.state is LinkState.CREATING:
            try:
                record = await client.create_customer(
                    upsert.fields,
                    customer_id=upsert.record_id,
                    idempotency_key=create_idempotency_key(upsert.record_id, upsert.fields),
                )
            except DuplicateIdError:
                record = None  # made before (a retry or a replay): reconcile as an update
            except InvalidRequestError as exc:
                return await self._reject(upsert, exc)
        if record is None:
            try:
                current = await client.retrieve_customer(upsert.record_id)
            except NotFoundError:
                return await self._gone(upsert, link, "Chargebee")
            target_now = flow.values_from_right(current)
            plan = plan_write(
                upsert.fields,
                target_now=target_now,
                target_now_ts_ms=int(current.get("updated_at") or 0) * 1000,
                synced=link.synced,
                target_seen=link.right.values,
                target_seen_ts_ms=link.right.ts_ms,
                incoming_ts_ms=upsert.source_ts_ms,
                incoming_wins_ties=True,
            )
            record = current
            if plan.write:
                try:
                    record = await client.update_customer(
                        upsert.record_id,
                        plan.write,
                        idempotency_key=(
                            f"update-{upsert.record_id}-{upsert.source_event_id[:16]}-"
                            f"{hash_values(plan.write)[:12]}"
                        ),
                    )
                except InvalidRequestError as exc:
                    return await self._reject(upsert, exc)
        observed = Observed(
            version=int(record.get("resource_version") or 0),
            ts_ms=int(record.get("updated_at") or 0) * 1000,
            values=flow.values_from_right(record),
        )
        await self._record(upsert, plan, observed, right_side=True, made_from=link)
        return SinkResult(
            wrote=bool(plan.write), plan=plan, counter=counter_upsert(upsert, plan, link)
        )

    # -- PowerOffice Go --------------------------------------------------------------------

    async def to_poweroffice(self, upsert: Upsert, client: PowerOfficeWriter) -> SinkResult:
        link = await self._link(upsert)
        if link is None or link.state is LinkState.UNLINKED:
            return SinkResult(skipped="no live link")
        flow = self.flows[upsert.flow]
        resource = RESOURCES[upsert.entity]
        record_id = int(upsert.record_id)
        contact_id = upsert.extra.get("ContactId")
        try:
            current = await client.get(resource, record_id, contact_id=contact_id)
        except NotFoundError:
            return await self._gone(upsert, link, "PowerOffice Go")
        plan = plan_write(
            upsert.fields,
            target_now=flow.values_from_left(current),
            target_now_ts_ms=_poweroffice_ms(current),
            synced=link.synced,
            target_seen=link.left.values,
            target_seen_ts_ms=link.left.ts_ms,
            incoming_ts_ms=upsert.source_ts_ms,
            incoming_wins_ties=False,
        )
        record = current
        if plan.write:
            try:
                record = await client.patch(
                    resource,
                    record_id,
                    flow.left_patch(plan.write, plan.write.keys()),
                    contact_id=contact_id,
                )
            except InvalidRequestError as exc:
                return await self._reject(upsert, exc)
        changed = parse_timestamp(record["LastChangedDateTimeOffset"])
        observed = Observed(
            version=changed,
            ts_ms=changed // (TICKS_PER_SECOND // 1000),
            values=flow.values_from_left(record),
        )
        await self._record(upsert, plan, observed, right_side=False)
        return SinkResult(
            wrote=bool(plan.write), plan=plan, counter=counter_upsert(upsert, plan, link)
        )

    # -- recording outcomes ----------------------------------------------------------------

    async def _record(
        self,
        upsert: Upsert,
        plan: WritePlan,
        observed: Observed,
        *,
        right_side: bool,
        made_from: Link | None = None,
    ) -> None:
        """Fold what the target holds now into the link; ``made_from``: the link a create
        command stood for, used when the table has none."""
        async with self.lock(upsert.connection):
            fresh = self.links.get(upsert.connection, upsert.left_key)
            if fresh is None and upsert.create:
                fresh = made_from
            merged = (
                merge_observed(fresh, plan, observed, right_side=right_side, now_ms=self.clock_ms())
                if fresh is not None
                else None
            )
            if merged is None:
                log.warning(
                    "%s: wrote to %s but the link is gone; nothing recorded",
                    upsert.left_key,
                    upsert.target,
                )
                return
            self.links.put(merged)
            for conflict in plan.conflicts:
                self.reports.conflict(
                    upsert.connection,
                    conflict_id(
                        upsert.left_key,
                        conflict.field,
                        conflict.incoming_ts_ms,
                        conflict.target_ts_ms,
                    ),
                    {
                        "record_key": upsert.left_key,
                        "field": conflict.field,
                        "winner": conflict.winner,
                        "incoming_ts_ms": conflict.incoming_ts_ms,
                        "target_ts_ms": conflict.target_ts_ms,
                    },
                )
                log.info(
                    "conflict on %s %s: %s wins (incoming %d, %s %d)",
                    upsert.left_key,
                    conflict.field,
                    conflict.winner,
                    conflict.incoming_ts_ms,
                    upsert.target,
                    conflict.target_ts_ms,
                )

    async def note_dead_letter(self, upsert: Upsert, reason: str) -> None:
        """Count ``upsert`` as a dead letter; a link still being created stops waiting."""
        async with self.lock(upsert.connection):
            fresh = self.links.get(upsert.connection, upsert.left_key)
            if fresh is not None and fresh.state is LinkState.CREATING:
                self.links.put(replace(fresh, state=LinkState.DEAD_LETTER))
            self.reports.dead_letter(
                upsert.connection, upsert.source_event_id, reason, upsert.left_key
            )

    async def _reject(self, upsert: Upsert, exc: InvalidRequestError) -> SinkResult:
        reason = f"{upsert.target} refused the write: {exc.message}"
        await self.note_dead_letter(upsert, reason)
        log.warning("dead letter %s: %s", upsert.left_key, reason)
        letter = DeadLetter.for_upsert(upsert, reason, at_ms=self.clock_ms())
        return SinkResult(dead_letter=letter)

    async def _gone(self, upsert: Upsert, link: Link, system: str) -> SinkResult:
        target = link.right if upsert.target == "chargebee" else link.left
        assert target is not None
        async with self.lock(upsert.connection):
            fresh = self.links.get(upsert.connection, upsert.left_key) or link
            self.links.put(replace(fresh, state=LinkState.UNLINKED, updated_ms=self.clock_ms()))
            if fresh.right is not None:
                self.links.forget_right(upsert.connection, fresh.right.key)
            action = ActionItem(
                connection=upsert.connection,
                id=f"deleted:{target.key}",
                kind="record_deleted",
                message=(
                    f"{system} {target.entity} {target.id} no longer exists; its partner stays "
                    "and is no longer synced"
                ),
                flow=upsert.flow,
                record_key=upsert.left_key,
                at_ms=self.clock_ms(),
            )
            self.reports.put_action(action)
        return SinkResult(action=action, skipped="target record is gone")


def _poweroffice_ms(record: Mapping[str, Any]) -> int:
    stamp = record.get("LastChangedDateTimeOffset")
    return parse_timestamp(stamp) // (TICKS_PER_SECOND // 1000) if stamp else 0
