"""The worker's status and links views (docs/worker.md), composed from the tables and the
process's runtime. Pure functions of their inputs, so they are tested without a broker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streams.runtime import Runtime
from streams.sync.links import Link, LinkState
from streams.sync.messages import ActionItem

__all__ = ["links_view", "status_view"]


def status_view(
    *,
    connection: str,
    flow_names: Iterable[str],
    links: Iterable[Link],
    actions: Iterable[ActionItem],
    dead_letters: int,
    conflicts: int,
    runtime: Runtime,
    broker: Mapping[str, Any] | None = None,
    parked: int = 0,
) -> dict[str, Any]:
    """``broker``: `BrokerHealth.snapshot()`; while Kafka is unreachable nothing this
    worker sees can be called converged."""
    flows: dict[str, dict[str, int]] = {
        name: {"linked": 0, "pending": 0, "dead_letter": 0, "unlinked": 0} for name in flow_names
    }
    creating = 0
    for link in links:
        counts = flows.setdefault(
            link.flow, {"linked": 0, "pending": 0, "dead_letter": 0, "unlinked": 0}
        )
        if link.state is LinkState.LINKED:
            counts["linked"] += 1
        elif link.state is LinkState.DEAD_LETTER:
            counts["dead_letter"] += 1
        elif link.state is LinkState.UNLINKED:
            counts["unlinked"] += 1
        else:
            counts["pending"] += 1
            creating += link.state is LinkState.CREATING
    items = list(actions)
    open_items = [a for a in items if not a.resolved]
    reachable = broker is None or bool(broker.get("reachable"))
    converged = (
        reachable
        and runtime.idle_cycles >= 1
        and runtime.caught_up()
        and creating == 0
        and parked == 0
    )
    return {
        "connection": connection,
        "converged": converged,
        "broker": dict(broker) if broker is not None else {"reachable": True},
        "flows": flows,
        "polls": {
            name: {"last_poll_ms": p.last_poll_ms, "published": p.published, "read": p.read}
            for name, p in sorted(runtime.polls.get(connection, {}).items())
        },
        "poll_cycles": runtime.cycles,
        "schedule": {
            system: {
                "cycle_seconds": None
                if lane.cycle_seconds is None
                else round(lane.cycle_seconds, 3),
                "target_seconds": round(lane.target_seconds, 3),
                "mode": lane.mode,
            }
            for system, lane in sorted(runtime.schedule.get(connection, {}).items())
        },
        "dead_letters": dead_letters,
        "parked": parked,
        "conflicts": conflicts,
        "actions": {"open": len(open_items), "resolved": len(items) - len(open_items)},
        "action_items": [
            {"id": a.id, "kind": a.kind, "message": a.message, "record_key": a.record_key}
            for a in sorted(open_items, key=lambda a: a.id)
        ],
    }


def _side(side: Any) -> dict[str, str] | None:
    if side is None:
        return None
    return {"system": side.system, "entity": side.entity, "id": side.id}


def links_view(links: Iterable[Link]) -> dict[str, Any]:
    rows: list[Mapping[str, Any]] = [
        {
            "flow": link.flow,
            "state": link.state.value,
            "left": _side(link.left),
            "right": _side(link.right),
            "values": link.synced or link.left.values or {},
        }
        for link in sorted(links, key=lambda item: (item.flow, item.left.entity, int(item.left.id)))
    ]
    return {"links": rows}
