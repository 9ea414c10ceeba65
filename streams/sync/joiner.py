"""Joining one change event against the link table: what to write where, or nothing.

`Joiner.join` is the whole decision of the join agent, as a plain method over a
`LinkTable` and a `ReportBook` (a dict in tests, the Faust tables in the worker). It
returns the messages to send; the agent sends them and only then commits the table
writes, so a crash in between replays the same decision.

The rules (design §1 and §2):
- A PowerOffice Go record with no link is created in Chargebee (flows with
  `link = "create"`) under a deterministic id, or matched to a business entity by
  normalised name (`link = "match_by_name"`); with no such entity an action item asks a
  person to create it, and the link is made when the entity shows up in the events.
- A change whose version we already know (our own write, or a replay) is dropped; so is
  one whose mapped values equal what both sides last agreed on (an echo, or an edit of an
  unmapped field). Anything else becomes an upsert of only the changed fields.
- A rename in PowerOffice Go of a linked business entity becomes an action item: Chargebee
  has no API for it. A rename in Chargebee is patched into PowerOffice Go.
- A deleted Chargebee record is unlinked and reported; its partner stays.
- Values Chargebee cannot hold go to the dead-letter topic with the reason.

A *resync* (`join(event, resync=True)`, from `ledgerlink resync` or `dlq replay`) is a
record as its system holds it now. Its version is usually known, so instead of being
dropped it is compared: a linked side whose values moved away from the agreed ones
without a new version (a restored backup, a bulk edit behind our back) is written back to
the agreed values (`drifted`); a difference not yet carried to the other side is sent
again; a dead-lettered record is tried again with today's mappings. A resync of a record
that agrees with its link sends nothing, so a resync is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from connectors.events import ChangeEvent, Op
from mappings import Flow
from streams.sync.ids import chargebee_customer_id
from streams.sync.links import Link, LinkState, LinkTable, SideState
from streams.sync.messages import ActionItem, DeadLetter, Upsert
from streams.sync.names import normalise_name
from streams.sync.reports import ReportBook

__all__ = ["ECHO", "JoinResult", "Joiner", "drifted"]

log = logging.getLogger(__name__)

#: Why a change whose version we already know is dropped: our own write, or a replay.
ECHO = "version already known (own write or replay)"

POWEROFFICE = "poweroffice"
CHARGEBEE = "chargebee"
BUSINESS_ENTITY = "business_entity"


@dataclass(slots=True)
class JoinResult:
    upserts: list[Upsert] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)
    dropped: str | None = None  # why nothing was sent, for logs and tests


class Joiner:
    def __init__(
        self,
        flows: Sequence[Flow],
        links: LinkTable,
        reports: ReportBook,
        *,
        clock_ms: Callable[[], int],
    ) -> None:
        self.flows = {flow.name: flow for flow in flows}
        self.links = links
        self.reports = reports
        self.clock_ms = clock_ms

    # -- entry ---------------------------------------------------------------------------

    def join(self, event: ChangeEvent, *, resync: bool = False) -> JoinResult:
        """``resync``: ``event`` is a record re-read as it is now; compare it with the link
        even when its version is known (see the module's docstring)."""
        if event.source.system == POWEROFFICE:
            return self._join_left(event, resync=resync)
        if event.source.system == CHARGEBEE:
            return self._join_right(event, resync=resync)
        return JoinResult(dropped=f"unknown system {event.source.system!r}")

    def _flow_for_left(self, entity: str, record: dict[str, Any]) -> Flow | None:
        for flow in self.flows.values():
            if flow.left_entity == entity and flow.applies_to(record):
                return flow
        return None

    # -- PowerOffice Go (left) -----------------------------------------------------------

    def _join_left(self, event: ChangeEvent, *, resync: bool) -> JoinResult:
        record = event.after
        if event.op is Op.DELETE or record is None:
            gone = self.links.get(event.connection, event.record_key)
            if gone is None or gone.state is LinkState.UNLINKED:
                return JoinResult(dropped="deleted record was not linked")
            return self._unlink(event, gone)
        flow = self._flow_for_left(event.source.entity, record)
        if flow is None:
            return JoinResult(dropped=f"no flow for this {event.source.entity}")
        link = self.links.get(event.connection, event.record_key)
        if link is not None and link.flow != flow.name:
            return JoinResult(
                dropped=f"record moved from flow {link.flow} to {flow.name}; not supported"
            )
        values = flow.values_from_left(record)
        extra = {"ContactId": record["ContactId"]} if "ContactId" in record else {}
        left = SideState(
            system=POWEROFFICE,
            entity=event.source.entity,
            id=event.source.id,
            version=event.source.version,
            ts_ms=event.source.ts_ms,
            values=values,
            extra=extra,
        )
        known = link.left.version if link is not None else None
        if link is not None and known is not None and event.source.version <= known:
            if link.state is LinkState.CREATING:
                return self._emit_create(event, flow, link)  # replayed; the sink dedupes
            if not resync:
                return JoinResult(dropped=ECHO)
            repair = self._restore(event, flow, link, link.left.values, values, POWEROFFICE)
            if repair is not None:
                return repair
            left = replace(left, version=known, ts_ms=link.left.ts_ms)  # versions never go back

        if link is None or link.state is LinkState.DEAD_LETTER:
            if link is not None and link.left.values == values and not resync:
                self.links.put(link.with_side(left))
                return JoinResult(dropped="still not writable; no mapped change")
            if flow.link == "create":
                result = self._create(event, flow, left)
                if link is not None and not result.dead_letters:
                    self.reports.clear_dead_letters(event.connection, event.record_key)
                return result
            return self._match_entity(event, flow, left, link)
        if link.state is LinkState.AWAITING_ENTITY:
            return self._match_entity(event, flow, left, link)
        if link.state is LinkState.UNLINKED:
            self.links.put(link.with_side(left))
            return JoinResult(dropped="partner deleted; record is unlinked")

        link = link.with_side(left)
        changed = flow.changed_fields(link.synced, values)
        if not changed:
            self.links.put(link)
            return JoinResult(dropped="no mapped change")
        if flow.link == "match_by_name":
            self.links.put(link)
            return JoinResult(actions=[self._rename_action(event, flow, link)])
        problems = flow.limit_violations(flow.right_update(values, changed))
        if problems:
            self.links.put(link)
            return JoinResult(dead_letters=[self._dead_letter(event, flow, problems)])
        self.links.put(link)
        return self._to_chargebee(
            event,
            flow,
            link,
            flow.right_update(values, changed),
            ts_ms=event.source.ts_ms,
            create=link.state is LinkState.CREATING,
        )

    def _create(self, event: ChangeEvent, flow: Flow, left: SideState) -> JoinResult:
        values = left.values or {}
        problems = flow.limit_violations(values)
        if problems:
            self.links.put(
                Link(
                    connection=event.connection,
                    flow=flow.name,
                    state=LinkState.DEAD_LETTER,
                    left=left,
                    updated_ms=self.clock_ms(),
                )
            )
            return JoinResult(dead_letters=[self._dead_letter(event, flow, problems)])
        customer_id = chargebee_customer_id(event.connection, left.entity, left.id)
        link = Link(
            connection=event.connection,
            flow=flow.name,
            state=LinkState.CREATING,
            left=left,
            right=SideState(system=CHARGEBEE, entity=flow.right_entity, id=customer_id),
            updated_ms=self.clock_ms(),
        )
        self.links.put(link)
        return self._emit_create(event, flow, link)

    def _emit_create(self, event: ChangeEvent, flow: Flow, link: Link) -> JoinResult:
        return self._to_chargebee(
            event,
            flow,
            link,
            flow.right_update(link.left.values or {}),
            ts_ms=link.left.ts_ms or event.source.ts_ms,
            create=True,
        )

    @staticmethod
    def _to_chargebee(
        event: ChangeEvent,
        flow: Flow,
        link: Link,
        fields: dict[str, str],
        *,
        ts_ms: int,
        create: bool,
    ) -> JoinResult:
        return JoinResult(
            upserts=[_command(event, flow, link, CHARGEBEE, fields, ts_ms=ts_ms, create=create)]
        )

    def _match_entity(
        self, event: ChangeEvent, flow: Flow, left: SideState, link: Link | None
    ) -> JoinResult:
        conn = event.connection
        name = (left.values or {}).get("name", "")
        wanted = normalise_name(name)
        if link is not None and link.left.values:
            before = normalise_name(link.left.values.get("name", ""))
            if before != wanted:
                self._unwait(conn, before, left.key)
        entity = self.links.entity_by_name(conn, wanted)
        if entity is not None and not self._entity_taken(conn, entity["id"]):
            linked = Link(
                connection=conn,
                flow=flow.name,
                state=LinkState.LINKED,
                left=left,
                right=SideState(
                    system=CHARGEBEE,
                    entity=BUSINESS_ENTITY,
                    id=entity["id"],
                    values={"name": entity["name"]},
                ),
                synced=left.values,
                updated_ms=self.clock_ms(),
            )
            self.links.put(linked)
            self._unwait(conn, wanted, left.key)
            return JoinResult(actions=self._resolve(conn, f"create-entity:{left.key}"))
        self.links.put(
            Link(
                connection=conn,
                flow=flow.name,
                state=LinkState.AWAITING_ENTITY,
                left=left,
                updated_ms=self.clock_ms(),
            )
        )
        self.links.set_waiting(conn, wanted, [*self.links.waiting(conn, wanted), left.key])
        action = ActionItem(
            connection=conn,
            id=f"create-entity:{left.key}",
            kind="create_business_entity",
            message=f"create business entity '{name}' in Chargebee",
            flow=flow.name,
            record_key=left.key,
            name=name,
            at_ms=self.clock_ms(),
        )
        known = self.reports.action(conn, action.id)
        if known is not None and known.message == action.message and not known.resolved:
            return JoinResult(dropped="still waiting for the business entity")
        self.reports.put_action(action)
        return JoinResult(actions=[action])

    def _entity_taken(self, connection: str, entity_id: str) -> bool:
        return (
            self.links.left_for(connection, f"{CHARGEBEE}:{BUSINESS_ENTITY}:{entity_id}")
            is not None
        )

    def _unwait(self, connection: str, normalised: str, left_key: str) -> None:
        waiting = self.links.waiting(connection, normalised)
        if left_key in waiting:
            self.links.set_waiting(connection, normalised, [k for k in waiting if k != left_key])

    def _resolve(self, connection: str, action_id: str) -> list[ActionItem]:
        item = self.reports.action(connection, action_id)
        if item is None or item.resolved:
            return []
        done = replace(item, resolved=True, at_ms=self.clock_ms())
        self.reports.put_action(done)
        return [done]

    def _rename_action(self, event: ChangeEvent, flow: Flow, link: Link) -> ActionItem:
        new_name = (link.left.values or {}).get("name", "")
        old_name = ((link.right.values if link.right else None) or {}).get("name", "")
        action = ActionItem(
            connection=event.connection,
            id=f"rename-entity:{link.left.key}",
            kind="rename_business_entity",
            message=f"rename business entity '{old_name}' to '{new_name}' in Chargebee",
            flow=flow.name,
            record_key=link.left.key,
            name=new_name,
            at_ms=self.clock_ms(),
        )
        self.reports.put_action(action)
        return action

    def _dead_letter(self, event: ChangeEvent, flow: Flow, problems: list[str]) -> DeadLetter:
        reason = "; ".join(problems)
        self.reports.dead_letter(event.connection, event.event_id, reason, event.record_key)
        log.warning("dead letter %s (%s): %s", event.record_key, flow.name, reason)
        return DeadLetter(
            connection=event.connection,
            reason=reason,
            flow=flow.name,
            record_key=event.record_key,
            event=_event_json(event),
            at_ms=self.clock_ms(),
        )

    # -- Chargebee (right) ---------------------------------------------------------------

    def _join_right(self, event: ChangeEvent, *, resync: bool) -> JoinResult:
        conn = event.connection
        record = event.after if event.after is not None else (event.before or {})
        if event.source.entity == BUSINESS_ENTITY:
            self._learn_entity(event, record)
        left_key = self.links.left_for(conn, event.record_key)
        if left_key is None:
            if event.source.entity == BUSINESS_ENTITY and event.op is not Op.DELETE:
                return self._link_waiting(event, record)
            return JoinResult(dropped="not linked (creates go PowerOffice Go → Chargebee)")
        link = self.links.get(conn, left_key)
        if link is None or link.right is None:
            return JoinResult(dropped="dangling index entry")
        flow = self.flows[link.flow]
        if event.op is Op.DELETE:
            return self._unlink(event, link)
        known = link.right.version
        values = flow.values_from_right(record)
        version, ts_ms = event.source.version, event.source.ts_ms
        if known is not None and version <= known:
            if not resync:
                return JoinResult(dropped=ECHO)
            repair = self._restore(event, flow, link, link.right.values, values, CHARGEBEE)
            if repair is not None:
                return repair
            version, ts_ms = known, link.right.ts_ms or ts_ms  # versions never go back
        link = link.with_side(replace(link.right, version=version, ts_ms=ts_ms, values=values))
        if link.state is LinkState.UNLINKED:
            self.links.put(link)
            return JoinResult(dropped="record is unlinked")
        if link.left.values == values:
            resolved = self._resolve(conn, f"rename-entity:{link.left.key}")
            self.links.put(replace(link, synced=values, state=LinkState.LINKED))
            return JoinResult(actions=resolved, dropped=None if resolved else "sides agree")
        changed = flow.changed_fields(link.synced, values)
        if not changed:
            self.links.put(link)
            return JoinResult(dropped="no mapped change")
        self.links.put(link)
        fields = {f: values[f] for f in changed}
        return JoinResult(
            upserts=[_command(event, flow, link, POWEROFFICE, fields, ts_ms=event.source.ts_ms)]
        )

    def _restore(
        self,
        event: ChangeEvent,
        flow: Flow,
        link: Link,
        seen: dict[str, str] | None,
        values: dict[str, str],
        target: str,
    ) -> JoinResult | None:
        """Where the ``target`` side of a linked pair was changed behind our back (it now
        holds ``values`` at a version we know, last ``seen`` otherwise), write the agreed
        values back; None when it was not. Stamped now: the drifted values carry an older
        change time, so the sink's conflict rule lets the agreed values win (and reports
        it)."""
        fields = drifted(seen, values, link.synced) if link.state is LinkState.LINKED else {}
        if not fields:
            return None
        if target == CHARGEBEE and (flow.link != "create" or link.right is None):
            return JoinResult(dropped="business entity differs; Chargebee cannot be written")
        log.warning(
            "%s: %s differs from the agreed values in %s without a new version; restoring",
            link.left.key,
            target,
            ", ".join(sorted(fields)),
        )
        return JoinResult(
            upserts=[_command(event, flow, link, target, dict(fields), ts_ms=self.clock_ms())]
        )

    def _learn_entity(self, event: ChangeEvent, record: dict[str, Any]) -> None:
        if event.op is Op.DELETE:
            self.links.forget_entity(event.connection, event.source.id)
            return
        name = str(record.get("name") or "")
        self.links.remember_entity(event.connection, event.source.id, name, normalise_name(name))

    def _link_waiting(self, event: ChangeEvent, record: dict[str, Any]) -> JoinResult:
        conn = event.connection
        wanted = normalise_name(str(record.get("name") or ""))
        for left_key in self.links.waiting(conn, wanted):
            link = self.links.get(conn, left_key)
            if link is None or link.state is not LinkState.AWAITING_ENTITY:
                continue
            linked = replace(
                link,
                state=LinkState.LINKED,
                right=SideState(
                    system=CHARGEBEE,
                    entity=BUSINESS_ENTITY,
                    id=event.source.id,
                    version=event.source.version,
                    ts_ms=event.source.ts_ms,
                    values={"name": str(record.get("name") or "")},
                ),
                synced=link.left.values,
                updated_ms=self.clock_ms(),
            )
            self.links.put(linked)
            self._unwait(conn, wanted, left_key)
            return JoinResult(actions=self._resolve(conn, f"create-entity:{left_key}"))
        return JoinResult(dropped="no record waits for a business entity of this name")

    def _unlink(self, event: ChangeEvent, link: Link) -> JoinResult:
        """The record of ``event`` was deleted: unlink it and report it; its partner stays."""
        conn = event.connection
        self.links.put(replace(link, state=LinkState.UNLINKED, updated_ms=self.clock_ms()))
        if link.right is not None:
            self.links.forget_right(conn, link.right.key)
        resolved: list[ActionItem] = []
        if link.state is LinkState.AWAITING_ENTITY and link.left.values:
            self._unwait(conn, normalise_name(link.left.values.get("name", "")), link.left.key)
            resolved = self._resolve(conn, f"create-entity:{link.left.key}")
        if event.source.system == CHARGEBEE:
            assert link.right is not None
            gone, kept = link.right, link.left
            message = (
                f"Chargebee {gone.entity} {gone.id} was deleted; PowerOffice Go "
                f"{kept.entity} {kept.id} stays and is no longer synced"
            )
        else:
            gone = link.left
            partner = (
                f"Chargebee {link.right.entity} {link.right.id} stays and is no longer synced"
                if link.right is not None
                else "it had no partner in Chargebee"
            )
            message = f"PowerOffice Go {gone.entity} {gone.id} was deleted; {partner}"
        action = ActionItem(
            connection=conn,
            id=f"deleted:{gone.key}",
            kind="record_deleted",
            message=message,
            flow=link.flow,
            record_key=link.left.key,
            at_ms=self.clock_ms(),
        )
        self.reports.put_action(action)
        return JoinResult(actions=[*resolved, action])


def _command(
    event: ChangeEvent,
    flow: Flow,
    link: Link,
    target: str,
    fields: dict[str, str],
    *,
    ts_ms: int,
    create: bool = False,
) -> Upsert:
    """The upsert that makes ``target``'s side of ``link`` hold ``fields``."""
    if target == CHARGEBEE:
        assert link.right is not None
        entity, record_id, extra = link.right.entity, link.right.id, {}
    else:
        entity, record_id, extra = link.left.entity, link.left.id, dict(link.left.extra)
    return Upsert(
        connection=event.connection,
        flow=flow.name,
        left_key=link.left.key,
        target=target,
        entity=entity,
        record_id=record_id,
        fields=fields,
        source_ts_ms=ts_ms,
        source_event_id=event.event_id,
        create=create,
        extra=extra,
    )


def drifted(
    seen: dict[str, str] | None, now: dict[str, str], agreed: dict[str, str] | None
) -> dict[str, str]:
    """The fields of one side that left the agreed values without a new version, mapped to
    the agreed values to restore.

    Only fields whose last seen value was the agreed one count: a side that was seen with
    a different value holds a change of its own still on its way to the other side.
    """
    if not seen or not agreed:
        return {}
    return {
        name: agreed[name]
        for name, value in now.items()
        if name in agreed and seen.get(name) == agreed[name] and value != agreed[name]
    }


def _event_json(event: ChangeEvent) -> dict[str, Any]:
    return dict(orjson.loads(event.to_bytes()))
