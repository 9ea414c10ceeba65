"""What the agents refuse before any rule runs: messages that decode but cannot be right.

The topics are written by ledgerlink's own pollers and agents, but a message is still
checked at the edge of each agent (docs/worker.md: the topics must be ACL-protected as
well). A refused message becomes a dead letter with the reason this module gives; the
agent goes on with the next one. Pure functions, tested without a broker.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from connectors.events import ChangeEvent
from mappings import Flow
from streams.sync.messages import Upsert

__all__ = ["refuse_change", "refuse_upsert"]

POWEROFFICE = "poweroffice"
CHARGEBEE = "chargebee"


def refuse_change(
    event: ChangeEvent, *, served: Collection[str], flows: Sequence[Flow]
) -> str | None:
    """Why the join must not act on ``event``, or None when it may."""
    if event.connection not in served:
        return f"connection {event.connection!r} is not served by this worker"
    system = event.source.system
    if system not in (POWEROFFICE, CHARGEBEE):
        return f"source.system {system!r} is neither {POWEROFFICE} nor {CHARGEBEE}"
    if system == POWEROFFICE and not _is_poweroffice_id(event.source.id):
        return f"source.id {event.source.id[:40]!r} is not a PowerOffice Go id (a number)"
    for side in (event.after, event.before):
        problem = _record_problem(event, side, flows) if side is not None else None
        if problem:
            return problem
    return None


def refuse_upsert(
    upsert: Upsert, *, served: Collection[str], flows: Mapping[str, Flow]
) -> str | None:
    """Why a sink must not carry out ``upsert``, or None when it may."""
    if upsert.connection not in served:
        return f"connection {upsert.connection!r} is not served by this worker"
    flow = flows.get(upsert.flow)
    if flow is None:
        return f"unknown flow {upsert.flow!r}"
    if upsert.target == POWEROFFICE and not _is_poweroffice_id(upsert.record_id):
        return f"record_id {upsert.record_id[:40]!r} is not a PowerOffice Go id (a number)"
    mapped = {pair.right for pair in flow.fields}
    unmapped = sorted(set(upsert.fields) - mapped)
    if unmapped:
        return f"field(s) {', '.join(unmapped)} are not mapped by flow {flow.name}"
    return None


def _is_poweroffice_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 19


def _record_problem(
    event: ChangeEvent, record: Mapping[str, Any], flows: Sequence[Flow]
) -> str | None:
    entity = event.source.entity
    for flow in flows:
        if event.source.system == POWEROFFICE and flow.left_entity == entity:
            problem = flow.check_record(record, "left")
        elif event.source.system == CHARGEBEE and flow.right_entity == entity:
            problem = flow.check_record(record, "right")
        else:
            continue
        if problem:
            return problem
    contact = record.get("ContactId")
    wrong_contact = isinstance(contact, bool) or not isinstance(contact, int)
    if event.source.system == POWEROFFICE and contact is not None and wrong_contact:
        return f"{entity}.ContactId must be a number, got {type(contact).__name__}"
    return None
