"""What a sink's write means for the link table: the pure merge rule.

After a sink has read (and perhaps written) the target record, `merge_observed` folds
what the target holds now into the link — the newest version of that side, the values
both sides now agree on, and `linked` once a create went through — and
`counter_upsert` says what to send back when the target kept its own, later value.
Plain functions of their inputs, so the rules are tested without a broker or an API.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from streams.sync.links import Link, LinkState, SideState
from streams.sync.messages import Upsert
from streams.sync.writes import WritePlan

__all__ = ["Observed", "conflict_id", "counter_upsert", "link_for_create", "merge_observed"]


@dataclass(frozen=True, slots=True)
class Observed:
    """What the target holds after the sink's work."""

    version: int
    ts_ms: int
    values: dict[str, str]


def merge_observed(
    link: Link, plan: WritePlan, observed: Observed, *, right_side: bool, now_ms: int
) -> Link | None:
    """The link after the sink saw ``observed`` on one side; None when that side is unknown.

    A side's version only moves forward (a replayed command cannot roll it back). The
    agreed values gain what was written and what already agreed; on the first sync, every
    value the target shows that equals the other side's is agreed too.
    """
    side = link.right if right_side else link.left
    if side is None:
        return None
    if side.version is None or observed.version >= side.version:
        side = replace(side, version=observed.version, ts_ms=observed.ts_ms, values=observed.values)
    synced = dict(link.synced or {})
    synced.update(plan.write)
    synced.update(plan.agreed)
    if link.synced is None:
        other = link.left if right_side else link.right
        other_values = (other.values if other else None) or {}
        synced.update({k: v for k, v in observed.values.items() if other_values.get(k) == v})
    state = LinkState.LINKED if link.state is LinkState.CREATING else link.state
    return replace(link.with_side(side), synced=synced, state=state, updated_ms=now_ms)


def counter_upsert(upsert: Upsert, plan: WritePlan, link: Link) -> Upsert | None:
    """Where the target kept its own, later value, send that value the other way.

    The sink has just read (and recorded) the target's version, so the target's own change
    event may now be dropped as known; this upsert carries the winning value instead.
    """
    if not plan.kept:
        return None
    target_ts = max(c.target_ts_ms for c in plan.conflicts if c.field in plan.kept)
    if upsert.target == "chargebee":
        target, entity, record_id, extra = (
            "poweroffice",
            link.left.entity,
            link.left.id,
            link.left.extra,
        )
    else:
        if link.right is None:
            return None
        target, entity, record_id, extra = "chargebee", link.right.entity, link.right.id, {}
    return Upsert(
        connection=upsert.connection,
        flow=upsert.flow,
        left_key=upsert.left_key,
        target=target,
        entity=entity,
        record_id=record_id,
        fields=dict(plan.kept),
        source_ts_ms=target_ts,
        source_event_id=f"{upsert.source_event_id}-kept",
        extra=dict(extra),
    )


def conflict_id(left_key: str, field: str, incoming_ts_ms: int, target_ts_ms: int) -> str:
    """One id per pair of colliding edits of a field, whichever direction found them.

    The join and the sinks run side by side, so the same two edits may meet twice: once
    as the PowerOffice Go edit arriving at Chargebee, once the other way round. Both see
    the same two edit times, so both report the same conflict.
    """
    first, second = sorted((incoming_ts_ms, target_ts_ms))
    return f"{left_key}:{field}:{first}:{second}"


def link_for_create(upsert: Upsert, *, now_ms: int) -> Link:
    """The `creating` link a create command stands for, built from the command alone.

    The join sends a create before it commits the link, so a crash in between can leave
    the command without its link (Faust's changelog lags the offsets it commits). The
    command carries everything the link needs: the record, its mapped values and the
    deterministic id of its partner.
    """
    system, entity, record_id = upsert.left_key.split(":", 2)
    return Link(
        connection=upsert.connection,
        flow=upsert.flow,
        state=LinkState.CREATING,
        left=SideState(
            system=system,
            entity=entity,
            id=record_id,
            ts_ms=upsert.source_ts_ms,
            values=dict(upsert.fields),
            extra=dict(upsert.extra),
        ),
        right=SideState(system=upsert.target, entity=upsert.entity, id=upsert.record_id),
        updated_ms=now_ms,
    )
